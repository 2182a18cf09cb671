import { LOG_LEVELS, type Log, type LogFields, type LogLevel } from '../../ports/log.js';
import { currentRequestId } from './request-context.js';

export interface StreamLogOptions {
  /** The least severe level recorded. */
  readonly level: LogLevel;
  /**
   * `json`: one JSON object per line (`time`, `level`, `event`, `request`, `message`, fields),
   * for a stderr that is all JSON lines; `text`: `PROGRAM: message`, as other errors are said.
   */
  readonly format: 'json' | 'text';
  readonly program: string;
  readonly write: (line: string) => void;
  readonly clock?: () => Date;
}

/** Events as lines on a stream (the proxy's stderr). */
export class StreamLog implements Log {
  private readonly threshold: number;

  constructor(private readonly options: StreamLogOptions) {
    this.threshold = LOG_LEVELS.indexOf(options.level);
  }

  record(level: LogLevel, event: string, message: string, fields: LogFields = {}): void {
    if (LOG_LEVELS.indexOf(level) > this.threshold) return;
    if (this.options.format === 'text') {
      this.options.write(`${this.options.program}: ${message}`);
      return;
    }
    const time = (this.options.clock?.() ?? new Date()).toISOString();
    const request = currentRequestId();
    this.options.write(JSON.stringify({ time, level, event, ...(request === undefined ? {} : { request }), message, ...fields }));
  }
}
