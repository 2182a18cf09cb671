import { type ErrorCode, ProxyError } from '../errors.js';

/**
 * JSON as containers/image's paranoid decoder reads it: JSON.parse keeps the last of two equal
 * keys, which would let a policy or a signature payload say two things at once, so duplicates
 * are found by a scan of the (already valid) text and refused.
 */
export function parseStrictJson(text: string, where: string, code: ErrorCode): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ProxyError(code, `${where}: invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const duplicate = firstDuplicateKey(text);
  if (duplicate !== undefined) throw new ProxyError(code, `${where}: duplicate key ${JSON.stringify(duplicate)}`);
  return value;
}

/** Walks valid JSON text; returns the first key repeated within one object. */
function firstDuplicateKey(text: string): string | undefined {
  // One entry per open container: the keys seen so far for an object, undefined for an array.
  const stack: (Set<string> | undefined)[] = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (expectingKey && top !== undefined) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (top.has(key)) return key;
        top.add(key);
        expectingKey = false;
      }
      i = end;
    } else if (c === '{') {
      stack.push(new Set());
      expectingKey = true;
    } else if (c === '[') {
      stack.push(undefined);
    } else if (c === '}' || c === ']') {
      stack.pop();
    } else if (c === ',') {
      expectingKey = stack[stack.length - 1] !== undefined;
    }
  }
  return undefined;
}

function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') return i;
  }
  return text.length - 1;
}

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refuses keys outside `allowed` (and, when `required`, missing ones): containers/image's exact-fields rule. */
export function checkKeys(object: Record<string, unknown>, allowed: readonly string[], required: readonly string[], where: string, code: ErrorCode): void {
  for (const key of Object.keys(object)) {
    if (!allowed.includes(key)) throw new ProxyError(code, `${where}: unknown key ${JSON.stringify(key)}`);
  }
  for (const key of required) {
    if (!Object.hasOwn(object, key)) throw new ProxyError(code, `${where}: ${JSON.stringify(key)} is missing`);
  }
}
