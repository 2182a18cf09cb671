/**
 * How examples/pull.ts shows a layer's progress: a bar redrawn in place on a terminal, one plain
 * line per update anywhere else (a log file or a pipe has no use for carriage returns).
 */
import { type Progress } from '../src/client/index.js';

/** One layer's progress within the pull: which of `count` layers it is, and the client's figures. */
export interface LayerProgress extends Progress {
  /** 1-based. */
  readonly index: number;
  readonly count: number;
}

const BAR_WIDTH = 24;
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** 1536 → "1.5 KiB"; bytes stay whole. */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${UNITS[unit]}`;
}

function percent(bytes: number, total: number): number {
  return total === 0 ? 100 : Math.min(100, Math.floor((bytes * 100) / total));
}

/** `[2/5] sha256:9715426f1ca0 [############............]  50 %  1.0 MiB of 2.0 MiB`. */
export function barLine({ index, count, digest, bytes, total }: LayerProgress): string {
  const head = `[${index}/${count}] ${digest.slice(0, digest.indexOf(':') + 13)}`;
  if (total === undefined) return `${head} ${formatBytes(bytes)}`;
  const done = percent(bytes, total);
  const filled = Math.round((done * BAR_WIDTH) / 100);
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}`;
  return `${head} [${bar}] ${String(done).padStart(3)} %  ${formatBytes(bytes)} of ${formatBytes(total)}`;
}

/** `layer 2/5 sha256:<whole digest>: 1048576 of 2099200 bytes (49 %)`: exact figures for a log. */
export function plainLine({ index, count, digest, bytes, total }: LayerProgress): string {
  const of = total === undefined ? '' : ` of ${total}`;
  const share = total === undefined ? '' : ` (${percent(bytes, total)} %)`;
  return `layer ${index}/${count} ${digest}: ${bytes}${of} bytes${share}`;
}

/** Where the display writes: a terminal says so with `isTTY` and may give its width. */
export interface DisplayOutput {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(text: string): unknown;
}

/** Draws each update of one layer at a time; `end` closes the layer's bar line on a terminal. */
export class ProgressDisplay {
  readonly #out: DisplayOutput;
  #drawn = false;

  constructor(out: DisplayOutput) {
    this.#out = out;
  }

  update(progress: LayerProgress): void {
    if (!this.#out.isTTY) {
      this.#out.write(`${plainLine(progress)}\n`);
      return;
    }
    // Back to the line's start, the bar cut to the terminal's width, the rest of the old line cleared.
    const line = barLine(progress);
    this.#out.write(`\r${this.#out.columns ? line.slice(0, this.#out.columns - 1) : line}\x1b[K`);
    this.#drawn = true;
  }

  end(): void {
    if (this.#drawn) this.#out.write('\n');
    this.#drawn = false;
  }
}
