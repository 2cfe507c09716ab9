// `npm run bench -- compare BEFORE.json AFTER.json`: what an edit gained, per measurement, from
// two results files of the same suite and adapter, with a noise estimate from the samples each
// file recorded, so that a kernel author can tell a gain from the scatter of one run.
import { readResults, type ResultsDoc } from './results.ts';
import { printTable } from './table.ts';

type Rec = Record<string, unknown> & { ms?: Record<string, number | null>; timing?: Record<string, { samplesMs?: number[] }> };

/** A record's name within its file: `key`, or its op/shape or model/size/batch/method fields. */
export function recordKey(r: Rec): string {
  if (typeof r.key === 'string') return r.key;
  const parts: string[] = [];
  for (const f of ['op', 'shape', 'model', 'size', 'batch', 'method'] as const) {
    const v = r[f];
    if (v == null) continue;
    parts.push(f === 'size' ? `${v}²` : f === 'batch' ? `b${v}` : String(v));
  }
  return parts.join(' ');
}

/** Records by key; a key met again (older files repeated VGG-19's shapes) gets '#2', '#3'. */
function byKey(doc: ResultsDoc): Map<string, Rec> {
  const out = new Map<string, Rec>();
  for (const r of doc.records as Rec[]) {
    const k = recordKey(r);
    let name = k;
    for (let i = 2; out.has(name); i++) name = `${k} #${i}`;
    out.set(name, r);
  }
  return out;
}

/**
 * Relative standard error of the median of `samples` (ms): 1.2533·s/√n/median, the large-sample
 * efficiency of the median of a normal sample (s = sample standard deviation). null below 2
 * samples: one sample says nothing about its scatter.
 * @example
 *   relativeNoise([10, 11, 9, 10]); // ≈ 0.051
 */
export function relativeNoise(samples: number[] | undefined): number | null {
  if (!samples || samples.length < 2) return null;
  const n = samples.length;
  const mean = samples.reduce((a, x) => a + x, 0) / n;
  const sd = Math.sqrt(samples.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const sorted = [...samples].sort((a, b) => a - b);
  const med = n % 2 ? sorted[n >> 1]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
  return med > 0 ? (1.2533 * sd) / Math.sqrt(n) / med : null;
}

export interface Comparison {
  key: string;
  beforeMs: number | null;
  afterMs: number | null;
  beforeSamples: number;
  afterSamples: number;
  /** beforeMs / afterMs: above 1 the edit made it faster. */
  speedup: number | null;
  /** Relative noise of the speed-up (both sides' relative standard errors in quadrature); null when a side has < 2 samples. */
  noise: number | null;
  verdict: 'faster' | 'slower' | 'within noise' | 'noise unknown' | 'missing';
}

/**
 * Pairs the records of two results documents by key and compares `system`'s times. A speed-up
 * is called faster/slower only when it differs from 1 by more than twice its noise (about a 95 %
 * interval if the samples are roughly normal and the two runs saw the same conditions).
 */
export function compareDocs(before: ResultsDoc, after: ResultsDoc, system: string): Comparison[] {
  const a = byKey(before), b = byKey(after);
  const keys = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  return keys.map((key) => {
    const ra = a.get(key), rb = b.get(key);
    const ms = (r?: Rec) => (typeof r?.ms?.[system] === 'number' ? r.ms[system] : null);
    const samples = (r?: Rec) => r?.timing?.[system]?.samplesMs;
    const beforeMs = ms(ra), afterMs = ms(rb);
    const na = relativeNoise(samples(ra)), nb = relativeNoise(samples(rb));
    const speedup = beforeMs && afterMs ? beforeMs / afterMs : null;
    const noise = na != null && nb != null ? Math.hypot(na, nb) : null;
    const verdict: Comparison['verdict'] =
      speedup == null ? 'missing' : noise == null ? 'noise unknown' : Math.abs(Math.log(speedup)) <= 2 * noise ? 'within noise' : speedup > 1 ? 'faster' : 'slower';
    return { key, beforeMs, afterMs, beforeSamples: samples(ra)?.length ?? 0, afterSamples: samples(rb)?.length ?? 0, speedup, noise, verdict };
  });
}

const fmtMs = (v: number | null) => (v == null ? '—' : v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toPrecision(3));
const fmtLoad = (d: ResultsDoc) => (d.load?.start ? `load ${d.load.start[0]}→${d.load.end?.[0] ?? '?'} on ${d.load.cpus} CPUs` : 'load not recorded');
const describe = (f: string, d: ResultsDoc) => `${f}: ${d.suite ?? '?'} ${d.mode ?? ''}, ${d.date}, commit ${d.commit ? d.commit.slice(0, 10) + (d.dirty ? '+changes' : '') : 'unknown'}, budget ${d.budgetS ?? '?'} s, ${fmtLoad(d)}`;

/** The command: prints the table and resolves to an exit code (2 on a usage error). */
export async function main(argv: string[]): Promise<number> {
  const files = argv.filter((a) => !a.startsWith('--') && argv[argv.indexOf(a) - 1] !== '--system');
  const si = argv.indexOf('--system');
  const system = si >= 0 ? argv[si + 1] : 'camlight';
  const force = argv.includes('--force');
  if (files.length !== 2 || !system) {
    console.error('usage: npm run bench -- compare BEFORE.json AFTER.json [--system camlight|tfjs-webgpu|tfjs-wasm] [--force]');
    return 2;
  }
  let before: ResultsDoc, after: ResultsDoc;
  try {
    before = readResults(files[0]!);
    after = readResults(files[1]!);
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (before.adapter !== after.adapter && !force) {
    console.error(`compare: the files were measured on different adapters ('${before.adapter}' and '${after.adapter}'): their ratios would mean nothing. --force compares them anyway.`);
    return 2;
  }
  if ((before.suite ?? null) !== (after.suite ?? null) && !force) {
    console.error(`compare: the files are of different suites (${before.suite} and ${after.suite}); --force compares them anyway.`);
    return 2;
  }
  console.log(describe(`before ${files[0]}`, before));
  console.log(describe(`after  ${files[1]}`, after));
  console.log(`adapter: ${after.adapter}; system: ${system}; speed-up = before ms / after ms (> 1: faster)`);
  const loaded = [before, after].filter((d) => d.load?.start && Math.max(d.load.start[0]!, d.load.end?.[0] ?? 0) > 0.5 * d.load.cpus);
  if (loaded.length) console.log(`WARNING: ${loaded.length === 2 ? 'both runs' : loaded[0] === before ? 'the before run' : 'the after run'} shared the machine (1-minute load average above half the CPUs): other work shifts times by more than the noise below can show`);
  if (before.mode !== after.mode) console.log(`WARNING: a ${before.mode} run against a ${after.mode} run: budgets and samples differ`);
  const rows = compareDocs(before, after, system);
  printTable(
    ['measurement', 'before ms', 'n', 'after ms', 'n', 'speed-up', '± noise', 'verdict'],
    rows.map((r) => [
      r.key, fmtMs(r.beforeMs), String(r.beforeSamples || '–'), fmtMs(r.afterMs), String(r.afterSamples || '–'),
      r.speedup == null ? '—' : `${r.speedup.toFixed(3)}×`, r.noise == null ? '—' : `${(100 * r.noise).toFixed(1)} %`, r.verdict,
    ]),
    ['left'],
  );
  const paired = rows.filter((r) => r.speedup != null);
  if (paired.length) {
    const gm = Math.exp(paired.reduce((a, r) => a + Math.log(r.speedup!), 0) / paired.length);
    const count = (v: Comparison['verdict']) => rows.filter((r) => r.verdict === v).length;
    console.log(`\ngeometric mean speed-up over ${paired.length} paired measurements: ${gm.toFixed(3)}× (${count('faster')} faster, ${count('slower')} slower, ${count('within noise')} within noise, ${count('noise unknown')} with < 2 samples on a side)`);
  }
  console.log('noise = relative standard error of each median from its samples, combined in quadrature; it covers the scatter within each run, not a change of load between runs (compare the load lines above)');
  return 0;
}
