import { once } from 'node:events';
import { type Readable } from 'node:stream';

/** Enough for the proxy's last line, which is all an error quotes. */
const TAIL_BYTES = 4096;
const LINE_LIMIT = 1000;

/**
 * Reads the proxy's stderr for the whole session: copies it where the caller asked ('inherit':
 * this process's stderr; 'pipe': left on the stream for the caller's own reader too; 'ignore':
 * nowhere) and keeps its last bytes, whose last line is the proxy's reason when it exits on its
 * own ("container-image-proxy: policy-invalid: …").
 */
export class StderrTail {
  #tail = Buffer.alloc(0);
  /** Settles when the pipe has been read to its end (or failed). */
  readonly finished: Promise<void>;

  constructor(stream: Readable, mode: 'inherit' | 'pipe' | 'ignore') {
    stream.on('data', (chunk: Buffer) => {
      if (mode === 'inherit') process.stderr.write(chunk);
      const joined = Buffer.concat([this.#tail, chunk]);
      this.#tail = joined.subarray(Math.max(0, joined.length - TAIL_BYTES));
    });
    this.finished = once(stream, 'close').then(
      () => undefined,
      () => undefined,
    );
  }

  lastLine(): string | undefined {
    const lines = this.#tail
      .toString('utf8')
      .split('\n')
      .map((line) => line.trim());
    const last = lines.filter((line) => line !== '').at(-1);
    return last === undefined || last.length <= LINE_LIMIT ? last : `${last.slice(0, LINE_LIMIT)}…`;
  }
}
