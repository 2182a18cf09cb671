/**
 * File access shared by the local transports (OCI layouts, dir:): whole small files (manifests,
 * index.json) and streamed blobs, with file-system errors mapped onto the error catalogue. Only
 * regular files are read, small ones within the size limits a registry's answers get.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { type ErrorCode, jsonSyntaxPlace, ProxyError } from '../../domain/errors.js';
import { type BlobBody } from '../../ports/transport.js';
import { openRegularFile, readRegularFile } from '../file-system/regular-file.js';

const MISSING = new Set(['ENOENT', 'ENOTDIR']);

function isMissing(err: unknown): boolean {
  return err instanceof Error && MISSING.has((err as NodeJS.ErrnoException).code ?? '');
}

function isAbort(err: unknown): boolean {
  return err instanceof Error && err.name === 'AbortError';
}

/**
 * Maps a file-system error: missing files become `missingCode` with `missingMessage`, anything
 * else becomes `io` naming the path. Aborts pass through untouched.
 */
function fileError(err: unknown, path: string, missingCode: ErrorCode, missingMessage: string): unknown {
  if (isAbort(err) || err instanceof ProxyError) return err;
  if (isMissing(err)) return new ProxyError(missingCode, missingMessage, { cause: err });
  const reason = err instanceof Error ? err.message : String(err);
  return new ProxyError('io', `cannot read ${path}: ${reason}`, { cause: err });
}

export interface MissingFile {
  readonly code: ErrorCode;
  readonly message: string;
}

/** Reads a small file whole (manifests, index files), refusing one of more than `limit` bytes. */
export async function readSmallFile(path: string, limit: number, missing: MissingFile, signal?: AbortSignal): Promise<Uint8Array> {
  let bytes;
  try {
    bytes = await readRegularFile(path, limit, signal);
  } catch (err) {
    throw fileError(err, path, missing.code, missing.message);
  }
  if (bytes === undefined) throw new ProxyError('manifest-invalid', `${path} is larger than the ${limit} bytes allowed`);
  return bytes;
}

/** Checks that `path` is a directory, so that "no such image" names the right culprit. */
export async function requireDirectory(path: string, missing: MissingFile): Promise<void> {
  try {
    const info = await stat(path);
    if (!info.isDirectory()) throw new ProxyError(missing.code, `${missing.message}: ${path} is not a directory`);
  } catch (err) {
    throw fileError(err, path, missing.code, missing.message);
  }
}

/**
 * Opens a blob file as a stream with the size the file system reports. The signal also aborts
 * the stream once it is flowing.
 */
export async function streamFile(path: string, missing: MissingFile, signal?: AbortSignal): Promise<BlobBody> {
  signal?.throwIfAborted();
  let opened;
  try {
    opened = await openRegularFile(path);
  } catch (err) {
    throw fileError(err, path, missing.code, missing.message);
  }
  const { handle, size } = opened;
  try {
    signal?.throwIfAborted();
    const stream = createReadStream(path, { fd: handle, ...(signal === undefined ? {} : { signal }) });
    return { stream, size };
  } catch (err) {
    await handle.close();
    throw fileError(err, path, missing.code, missing.message);
  }
}

/** Parses JSON, reporting the file it came from when it does not parse. */
export function parseJsonFile(bytes: Uint8Array, path: string): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw new ProxyError('manifest-invalid', `${path} is not valid JSON${jsonSyntaxPlace(err)}`);
  }
}
