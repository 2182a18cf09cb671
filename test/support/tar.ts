/**
 * A minimal, deterministic ustar writer for test layers: regular files and directories only,
 * owner 0:0, mtime 0, names sorted, so the same entries always give the same bytes.
 */

export interface TarEntry {
  /** Path inside the archive, without a leading `/`; directories end with `/`. */
  readonly path: string;
  /** File content; omitted for directories. */
  readonly content?: string | Uint8Array | undefined;
  readonly mode?: number | undefined;
}

const BLOCK = 512;
const encoder = new TextEncoder();

export function tarArchive(entries: readonly TarEntry[]): Uint8Array {
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const parts: Uint8Array[] = [];
  for (const entry of sorted) {
    const isDirectory = entry.path.endsWith('/');
    const body = isDirectory ? new Uint8Array(0) : toBytes(entry.content ?? '');
    parts.push(header(entry.path, body.length, isDirectory, entry.mode ?? (isDirectory ? 0o755 : 0o644)));
    parts.push(body, new Uint8Array(padding(body.length)));
  }
  // Two zero blocks end a tar archive.
  parts.push(new Uint8Array(2 * BLOCK));
  return concat(parts);
}

function header(path: string, size: number, isDirectory: boolean, mode: number): Uint8Array {
  const block = new Uint8Array(BLOCK);
  const { name, prefix } = splitName(path);
  writeString(block, 0, 100, name);
  writeOctal(block, 100, 8, mode);
  writeOctal(block, 108, 8, 0); // uid
  writeOctal(block, 116, 8, 0); // gid
  writeOctal(block, 124, 12, size);
  writeOctal(block, 136, 12, 0); // mtime
  block[156] = (isDirectory ? '5' : '0').charCodeAt(0);
  writeString(block, 257, 6, 'ustar\0');
  writeString(block, 263, 2, '00');
  writeString(block, 345, 155, prefix);
  // The checksum is computed with its own field read as eight spaces.
  block.fill(0x20, 148, 156);
  const sum = block.reduce((total, byte) => total + byte, 0);
  writeString(block, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return block;
}

/** ustar stores long names as prefix/name, split at a `/`. */
function splitName(path: string): { name: string; prefix: string } {
  if (encoder.encode(path).length <= 100) return { name: path, prefix: '' };
  const cut = path.lastIndexOf('/', path.length - 2);
  const name = path.slice(cut + 1);
  const prefix = path.slice(0, cut);
  if (cut < 0 || encoder.encode(name).length > 100 || encoder.encode(prefix).length > 155) {
    throw new Error(`tar path too long for ustar: ${path}`);
  }
  return { name, prefix };
}

function writeString(block: Uint8Array, offset: number, length: number, value: string): void {
  const bytes = encoder.encode(value);
  if (bytes.length > length) throw new Error(`tar header field too long: ${value}`);
  block.set(bytes, offset);
}

function writeOctal(block: Uint8Array, offset: number, length: number, value: number): void {
  writeString(block, offset, length, value.toString(8).padStart(length - 1, '0') + '\0');
}

function padding(size: number): number {
  return (BLOCK - (size % BLOCK)) % BLOCK;
}

function toBytes(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? encoder.encode(content) : content;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
