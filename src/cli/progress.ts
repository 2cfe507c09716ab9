// Progress lines on stderr for the CLI's long tasks (downloads, `camlight cam` runs, training):
// count, rate and ETA, redrawn in place on a terminal and printed as plain lines otherwise.
// One module so that every command looks and throttles the same; `--quiet` passes out = null.

export interface ProgressOptions {
  /** Printed before the figures, e.g. 'camlight cam' or 'epoch 2/5'. */
  label: string;
  /** The count at the end, when known (the ETA and percentage need it). */
  total?: number | null;
  /** The counted thing: 'images', 'steps', or 'bytes' (shown as MB and MB/s). */
  unit: string;
  /** Where lines go (default process.stderr); null prints nothing (--quiet). */
  out?: NodeJS.WritableStream | null;
  /** Least time between redraws on a terminal (default 200 ms). */
  redrawMs?: number;
  /** Off a terminal: a line each time another this fraction of the total is done (default 0.1). */
  plainStep?: number;
  /** Off a terminal and without a total: at most one line per this many ms (default 10 s). */
  plainMs?: number;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** A duration for an ETA: '8 s', '3 min 20 s', '1 h 05 min'. */
export function formatDuration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.ceil(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

/**
 * One task's progress. `update(n)` with the count done so far; `done()` prints the final line;
 * `abort()` ends a half-drawn terminal line so that an error message starts on its own.
 * @example
 *   const p = new Progress({ label: 'camlight cam', total: files.length, unit: 'images' });
 *   p.update(8); … p.done();
 */
export class Progress {
  readonly #o: Required<Omit<ProgressOptions, 'total' | 'out'>> & { total: number | null; out: NodeJS.WritableStream | null };
  readonly #tty: boolean;
  #t0 = performance.now();
  #count = 0;
  #lastDraw = -Infinity;
  #lastStep = 0;
  #drawn = false;

  constructor(o: ProgressOptions) {
    this.#o = {
      label: o.label, unit: o.unit, total: o.total ?? null,
      out: o.out === undefined ? process.stderr : o.out,
      redrawMs: o.redrawMs ?? 200, plainStep: o.plainStep ?? 0.1, plainMs: o.plainMs ?? 10_000,
    };
    this.#tty = !!(this.#o.out as { isTTY?: boolean } | null)?.isTTY;
  }

  /** Changes the label (e.g. the epoch number) without resetting the clock. */
  set label(l: string) {
    this.#o.label = l;
  }

  /** Restarts the count and clock for a new phase (e.g. the next epoch), keeping options. */
  restart(total: number | null, label?: string): void {
    this.#o.total = total;
    if (label !== undefined) this.#o.label = label;
    this.#t0 = performance.now();
    this.#count = 0;
    this.#lastStep = 0;
    this.#lastDraw = -Infinity;
  }

  /** A new total (a download's announced size); the DownloadProgress interface of src/io/node-download.ts. */
  start(total: number | null): void {
    this.restart(total);
  }

  /** The line for the current count: 'label: 16/40 images (40%), 5.1 images/s, ETA 5 s'. */
  line(final = false): string {
    const { label, total, unit } = this.#o;
    const s = Math.max(1e-3, (performance.now() - this.#t0) / 1000);
    const n = this.#count;
    const rate = n / s;
    const bytes = unit === 'bytes';
    const count = bytes ? `${mb(n)}${total ? ` of ${mb(total)}` : ''}` : `${n}${total ? `/${total}` : ''} ${unit}`;
    const pct = total ? ` (${Math.floor((100 * n) / total)}%)` : '';
    const speed = bytes ? `at ${mb(rate)}/s` : `${rate >= 10 ? rate.toFixed(0) : rate.toPrecision(2)} ${unit}/s`;
    const eta = !final && total && n > 0 && n < total ? `, ETA ${formatDuration((total - n) / rate)}` : '';
    const sep = bytes ? ' ' : ', ';
    return `${label}: ${count}${pct}${sep}${speed}${eta}${final ? `, done in ${formatDuration(s)}` : ''}`;
  }

  update(count: number): void {
    this.#count = count;
    const out = this.#o.out;
    if (!out) return;
    const now = performance.now();
    if (this.#tty) {
      if (now - this.#lastDraw < this.#o.redrawMs) return;
      this.#lastDraw = now;
      out.write(`\r${this.line()}\x1b[K`);
      this.#drawn = true;
      return;
    }
    const total = this.#o.total;
    if (total) {
      const step = Math.floor(count / total / this.#o.plainStep);
      if (step > this.#lastStep && count < total) {
        this.#lastStep = step;
        out.write(`${this.line()}\n`);
      }
    } else if (now - this.#lastDraw >= this.#o.plainMs) {
      this.#lastDraw = now;
      out.write(`${this.line()}\n`);
    }
  }

  /** The final line (replacing the terminal's redrawn one). */
  done(count = this.#count): void {
    this.#count = count;
    const out = this.#o.out;
    if (out) out.write(`${this.#tty ? '\r' : ''}${this.line(true)}${this.#tty ? '\x1b[K' : ''}\n`);
    this.#drawn = false;
  }

  /** Erases a redrawn terminal line (before a line that replaces it, e.g. the epoch's summary). */
  clear(): void {
    if (this.#o.out && this.#tty && this.#drawn) this.#o.out.write('\r\x1b[K');
    this.#drawn = false;
  }

  /** Ends a half-drawn terminal line (before an error or a warning is printed). */
  abort(): void {
    if (this.#o.out && this.#tty && this.#drawn) this.#o.out.write('\n');
    this.#drawn = false;
  }
}
