/**
 * A program that reads a blob the plainest way: `(await proxy.blob(digest)).pipe(file)`, with
 * no 'error' listener anywhere. It prints "finished" when the file is written; a failed body
 * must end it with the error (an uncaught one, as from any Node stream), never leave it waiting.
 * Usage: node pipe-blob-child.js IMAGE DIGEST OUTPUT
 */
import { createWriteStream } from 'node:fs';
import { ImageProxy } from '../../src/client/index.js';

const [image, digest, output] = process.argv.slice(2) as [string, string, string];
const proxy = await ImageProxy.spawn({ image, stderr: 'ignore', args: ['--insecure-policy'] });
const sink = createWriteStream(output);
sink.on('finish', () => {
  process.stdout.write('finished\n');
  void proxy.quit();
});
(await proxy.blob(digest)).pipe(sink);
