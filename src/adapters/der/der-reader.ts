/**
 * Just enough of a DER reader for the few structures node:crypto parses but does not expose
 * (certificate extensions, PKCS#7 envelopes): tag-length-value elements, their children, OIDs.
 * Each caller says how a malformed input is reported, in its own error code.
 */

export interface DerElement {
  /** The whole identifier octet (class, constructed bit, tag number); multi-byte tags are refused. */
  readonly tag: number;
  readonly content: Buffer;
  /** Offset just after this element. */
  readonly end: number;
}

export interface DerReader {
  readElement(bytes: Buffer, offset: number): DerElement;
  children(content: Buffer): DerElement[];
  oidString(content: Buffer): string;
}

export function derReader(malformed: (detail: string) => Error): DerReader {
  function readElement(bytes: Buffer, offset: number): DerElement {
    const tag = bytes[offset];
    const first = bytes[offset + 1];
    if (tag === undefined || first === undefined || (tag & 0x1f) === 0x1f) throw malformed('truncated or multi-byte tag');
    let length = first;
    let start = offset + 2;
    if (first & 0x80) {
      const count = first & 0x7f;
      if (count === 0 || count > 4) throw malformed('unsupported length encoding');
      length = 0;
      for (let i = 0; i < count; i++) length = length * 256 + (bytes[start + i] ?? Number.NaN);
      start += count;
    }
    const end = start + length;
    if (!Number.isFinite(length) || end > bytes.length) throw malformed('element runs past the end');
    return { tag, content: bytes.subarray(start, end), end };
  }

  function children(content: Buffer): DerElement[] {
    const elements: DerElement[] = [];
    for (let offset = 0; offset < content.length;) {
      const element = readElement(content, offset);
      elements.push(element);
      offset = element.end;
    }
    return elements;
  }

  function oidString(content: Buffer): string {
    const first = content[0];
    if (first === undefined) throw malformed('empty OID');
    const arcs = [Math.min(2, Math.floor(first / 40)), first - Math.min(2, Math.floor(first / 40)) * 40];
    let value = 0;
    for (const byte of content.subarray(1)) {
      value = value * 128 + (byte & 0x7f);
      if (!(byte & 0x80)) {
        arcs.push(value);
        value = 0;
      }
    }
    return arcs.join('.');
  }

  return { readElement, children, oidString };
}
