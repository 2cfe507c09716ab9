// Printing benchmark tables, shared by every suite so that each one only decides what to
// measure, not how to show it; results files are written by bench/results.ts.
import { writeRun } from './results.ts';

export { RESULTS_DIR } from './results.ts';

/** One measured row: an op at one shape, with GFLOP/s per system (null: failed or not run). */
export interface BenchRecord {
  op: string;
  shape: string;
  gflops: Record<string, number | null>;
  /** Milliseconds per launch, per system. */
  ms?: Record<string, number | null>;
  /** What each output was checked against, e.g. 'tfjs-cpu' or 'tfjs-wasm (spot-checked in f64)'. */
  reference?: string;
  /** Systems whose output did not match the reference, with the reason. */
  failed?: Record<string, string>;
  [extra: string]: unknown;
}

/**
 * Writes a run's records (the older call, kept for suites written against it): the same as
 * writeRun(name, adapter, records, extra) in bench/results.ts; `partial` no longer merges
 * anything, since a results file now holds exactly one run.
 * @example
 *   writeResults('kernels', { adapter, records, partial: false });
 */
export function writeResults(name: string, run: { adapter: string; records: BenchRecord[]; partial?: boolean; extra?: Record<string, unknown> }): string {
  return writeRun(name, run.adapter, run.records, run.extra);
}

export type Align = 'left' | 'right';

/**
 * Prints rows as an aligned plain-text table (readable in CI logs and terminals alike).
 * @example
 *   printTable(['shape', 'GFLOP/s'], [['1024³', '6.1']], ['left', 'right']);
 */
export function printTable(header: string[], rows: string[][], align: Align[] = []): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const cell = (s: string, i: number) => ((align[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? s.padEnd(widths[i]!) : s.padStart(widths[i]!));
  const line = (r: string[]) => r.map((s, i) => cell(s, i)).join('  ').trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

/** A GFLOP/s figure with sensible precision; '—' when not measured, 'FAIL' when failed. */
export function fmtRate(v: number | null | undefined, failed = false): string {
  if (failed) return 'FAIL';
  if (v == null || !Number.isFinite(v)) return '—';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** a / b as '1.23×', or '—' when either side is missing. */
export function fmtRatio(a: number | null | undefined, b: number | null | undefined): string {
  if (a == null || b == null || !(a > 0) || !(b > 0)) return '—';
  return `${(a / b).toFixed(2)}×`;
}

/** Geometric mean of the positive finite values; null when there are none. */
export function geomean(values: (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => x != null && Number.isFinite(x) && x > 0);
  if (!v.length) return null;
  return Math.exp(v.reduce((a, x) => a + Math.log(x), 0) / v.length);
}

/** A banner that cannot be missed in a long log (used for mismatches). */
export function loud(message: string): void {
  const bar = '!'.repeat(Math.min(100, Math.max(40, message.length + 4)));
  console.error(`\n${bar}\n! ${message}\n${bar}\n`);
}
