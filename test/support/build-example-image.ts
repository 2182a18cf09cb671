/**
 * Regenerates examples/image from test/support/example-image.ts. Run from the compiled output:
 *   npx tsc -p . && node dist/test/support/build-example-image.js [OUTPUT_DIR]
 * The output directory is replaced as a whole, so blobs of an older version do not linger.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { writeExampleImage } from './example-image.js';

// dist/test/support/ → the repository root's examples/image.
const defaultOutput = fileURLToPath(new URL('../../../examples/image', import.meta.url));
const output = process.argv[2] ?? defaultOutput;

await rm(output, { recursive: true, force: true });
const image = await writeExampleImage(output);
console.log(`wrote ${output}: ${image.manifest.digest} (${image.instances.length} platforms)`);
