// Printing benchmark tables and keeping bench/results/*.json up to date: shared by every suite
// so that each one only decides what to measure, not how to show or store it.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

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

export interface ResultsFile {
  adapter: string;
  date: string;
  records: BenchRecord[];
  [extra: string]: unknown;
}

export const RESULTS_DIR = resolve(import.meta.dirname, 'results');

/**
 * Writes `records` into bench/results/<name>.json, keeping records of other ops and, for a
 * partial run, of the same op at shapes this run did not measure. A full run replaces every
 * record of the ops it measured.
 * @example
 *   writeResults('kernels', { adapter, records, partial: false });
 */
export function writeResults(
  name: string,
  run: { adapter: string; records: BenchRecord[]; partial: boolean; extra?: Record<string, unknown> },
): string {
  const file = resolve(RESULTS_DIR, `${name}.json`);
  let old: BenchRecord[] = [];
  if (existsSync(file)) {
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsFile>;
      if (Array.isArray(parsed.records)) old = parsed.records;
    } catch {
      console.warn(`warning: ${file} is not valid JSON; rewriting it`);
    }
  }
  const ops = new Set(run.records.map((r) => r.op));
  const fresh = new Set(run.records.map((r) => `${r.op}\u0000${r.shape}`));
  const kept = old.filter((r) => (run.partial ? !fresh.has(`${r.op}\u0000${r.shape}`) : !ops.has(r.op)));
  // Keep ops together in the order they were first written, with this run's rows in place.
  const merged: BenchRecord[] = [];
  const byOp = new Map<string, BenchRecord[]>();
  for (const r of [...kept, ...run.records]) {
    if (!byOp.has(r.op)) byOp.set(r.op, []);
    byOp.get(r.op)!.push(r);
  }
  for (const rows of byOp.values()) merged.push(...rows);
  const out: ResultsFile = { adapter: run.adapter, date: new Date().toISOString(), ...run.extra, records: merged };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  return file;
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
