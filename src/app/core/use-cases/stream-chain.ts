import { type Readable } from 'node:stream';

/**
 * Pipes the stages together; an error anywhere ends the whole chain with that error, and the end
 * of the last stage (read out, failed or abandoned) releases every earlier one, the upstream
 * body included.
 */
export function chain(stages: Readable[]): Readable {
  const last = stages[stages.length - 1]!;
  for (let i = 1; i < stages.length; i++) {
    const from = stages[i - 1]!;
    const to = stages[i]! as Readable & NodeJS.WritableStream;
    from.once('error', (err) => last.destroy(err));
    from.pipe(to);
  }
  last.once('close', () => stages.forEach((stage) => stage.destroy()));
  return last;
}
