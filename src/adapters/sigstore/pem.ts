/** PEM blocks as Go's encoding/pem reads them: text before a block is skipped, the body is base64. */

export interface PemBlock {
  readonly type: string;
  readonly der: Buffer;
}

const BLOCK = /-----BEGIN ([^-\r\n]*)-----\r?\n([\s\S]*?)-----END \1-----(?:\r?\n|$)/g;

/** Every PEM block in order, each with the text that follows it up to the next. */
export function pemBlocks(text: string): PemBlock[] {
  return [...text.matchAll(BLOCK)].map((match) => ({ type: match[1] ?? '', der: decodeBody(match[2] ?? '') }));
}

/**
 * The first block, when nothing but its line ending follows it (c/image refuses trailing data
 * in the keys and certificates it compares against a Rekor entry); undefined otherwise.
 */
export function singlePemBlock(text: string): PemBlock | undefined {
  BLOCK.lastIndex = 0;
  const match = BLOCK.exec(text);
  BLOCK.lastIndex = 0;
  if (match === null || match.index + match[0].length !== text.length) return undefined;
  return { type: match[1] ?? '', der: decodeBody(match[2] ?? '') };
}

/** Headers (`Key: value` lines before a blank line) are not part of the data. */
function decodeBody(body: string): Buffer {
  const headerEnd = body.search(/\r?\n\r?\n/);
  const data = headerEnd !== -1 && body.slice(0, headerEnd).includes(':') ? body.slice(headerEnd) : body;
  return Buffer.from(data.replace(/\s+/g, ''), 'base64');
}
