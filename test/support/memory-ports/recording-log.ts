import { type Log, type LogFields, type LogLevel } from '../../../src/ports/log.js';

export interface LogRecord {
  readonly level: LogLevel;
  readonly event: string;
  readonly message: string;
  readonly fields: LogFields;
}

/** A Log that keeps every record, for tests that check what an operator would be told. */
export class RecordingLog implements Log {
  readonly records: LogRecord[] = [];

  record(level: LogLevel, event: string, message: string, fields: LogFields = {}): void {
    this.records.push({ level, event, message, fields });
  }

  /** The records of one event kind, in order. */
  of(event: string): LogRecord[] {
    return this.records.filter((record) => record.event === event);
  }
}
