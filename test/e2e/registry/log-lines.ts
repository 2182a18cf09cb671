/**
 * Reading what a proxy logged: quit it, wait until its stderr is complete, and parse the JSON
 * lines `--debug` writes (every line must be one).
 */
import { finished } from 'node:stream/promises';
import { expect } from 'chai';
import { type ProxyProcess } from '../../support/spawn-proxy.js';

export type LogLine = Readonly<Record<string, unknown>>;

/** POST /quit, the exit, and every byte of stderr. */
export async function quitAndReadStderr(proxy: ProxyProcess): Promise<string> {
  expect((await proxy.request('POST', '/quit')).status).to.equal(200);
  await proxy.exited;
  await finished(proxy.child.stderr!);
  return proxy.stderr();
}

export function jsonLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as LogLine;
      } catch {
        return expect.fail(`a --debug stderr line that is not JSON: ${line}`);
      }
    });
}

/** The one line that matches every field given; fails naming them when there is not exactly one. */
export function theLine(lines: readonly LogLine[], fields: LogLine): LogLine {
  const matching = lines.filter((line) => Object.entries(fields).every(([key, value]) => line[key] === value));
  expect(matching, `one log line with ${JSON.stringify(fields)} in:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`).to.have.length(1);
  return matching[0]!;
}
