/**
 * What the proxy did, for an operator: each upstream exchange, each pull source tried, where
 * credentials came from, each retry, each policy decision. Events are plain data; a field never
 * holds a secret (a password, a token, an Authorization value), only where one came from.
 */

/** Most severe first: a log at one level also records every level before it. */
export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type LogFields = Readonly<Record<string, string | number | boolean | readonly string[] | undefined>>;

export interface Log {
  /**
   * Records one event: `event` names its kind (`upstream`, `retry`, `pull-source`, …), `message`
   * says it in words, `fields` carry the same facts for machines.
   */
  record(level: LogLevel, event: string, message: string, fields?: LogFields): void;
}

/** For embedders and tests that want nothing recorded. */
export const SILENT_LOG: Log = { record: () => undefined };
