import { type ProxyError } from '../../domain/errors.js';

/** What the server tells its owner; the CLI decides what each means for the process. */
export interface ServerHooks {
  /** `POST /quit` was answered and its response flushed. */
  readonly onQuit: () => void;
  /** A response failed after its headers were sent; that connection has been torn down. */
  readonly onFatal: (err: ProxyError) => void;
  /** One line about an error answered to a client (diagnostics; silent when absent). */
  readonly onLog?: ((line: string) => void) | undefined;
}
