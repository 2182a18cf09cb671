import { type Response } from 'express';

/** An AbortSignal that fires when the response's connection goes away before the answer is complete. */
export function signalForResponse(res: Response): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client went away before the response was complete'));
  });
  return controller.signal;
}
