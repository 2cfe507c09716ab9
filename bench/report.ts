// `npm run bench -- report [--markdown] [FILE...]`: the README's benchmark tables, printed from
// the results files (bench/results/<adapter>/<suite>.json), each table headed by the run that
// produced it (mode, date, commit, budget, load) so that no figure appears without its conditions.
import { relative, resolve } from 'node:path';
import { median } from './measure.ts';
import { allResults, readResults, RESULTS_DIR, type ResultsDoc } from './results.ts';
import { printTable, type Align } from './table.ts';

type Rec = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- records differ per suite

const num = (v: unknown, digits = 2) => (typeof v === 'number' && Number.isFinite(v) ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toFixed(v >= 10 ? 1 : digits)) : '—');
/** The median of paired ratios (bench/measure.ts timePaired), as a speed-up. */
const pairedRatio = (xs: number[]) => `${median(xs).toFixed(2)}×`;
const ratio = (a: unknown, b: unknown) => (typeof a === 'number' && typeof b === 'number' && a > 0 && b > 0 ? `${(a / b).toFixed(2)}×` : '—');
const clock = (s: unknown) => (typeof s === 'number' ? `${Math.floor(s / 60)} min ${String(Math.round(s % 60)).padStart(2, '0')} s` : '—');

function weightedGeomean(pairs: [number | null | undefined, number][]): number | null {
  let sum = 0, n = 0;
  for (const [v, w] of pairs) if (typeof v === 'number' && v > 0 && Number.isFinite(v)) (sum += w * Math.log(v)), (n += w);
  return n ? Math.exp(sum / n) : null;
}

/** One line naming the run: mode, date, commit, budget, load, duration. */
export function runLine(d: ResultsDoc): string {
  const commit = d.commit ? `commit ${d.commit.slice(0, 10)}${d.dirty ? ' + uncommitted changes' : ''}` : `commit not recorded${d.committedIn ? ` (file committed in ${d.committedIn})` : ''}`;
  const load = d.load?.start ? `load average ${d.load.start[0]} → ${d.load.end?.[0] ?? '?'} on ${d.load.cpus} CPUs` : 'load not recorded';
  return `${d.mode ?? 'mode?'} run, ${d.date.slice(0, 16).replace('T', ' ')} UTC, ${commit}, budget ${d.budgetS ?? 'not recorded'}${d.budgetS ? ' s per measurement' : ''}, ${load}, took ${clock(d.durationS)}`;
}

interface Table {
  header: string[];
  rows: string[][];
  align?: Align[];
}

function kernelsTables(d: ResultsDoc): Table[] {
  const recs = d.records as Rec[];
  const g = (r: Rec, s: string) => r.gflops?.[s] as number | null | undefined;
  const ops = [...new Set(recs.map((r) => r.op as string))];
  const rows = ops.map((op) => {
    const rs = recs.filter((r) => r.op === op);
    const w = (r: Rec) => (typeof r.layers === 'number' ? r.layers : 1);
    const gm = (s: string) => weightedGeomean(rs.map((r) => [g(r, s), w(r)]));
    const rgm = (s: string) => weightedGeomean(rs.map((r) => [g(r, 'camlight') && g(r, s) ? g(r, 'camlight')! / g(r, s)! : null, w(r)]));
    const fmtR = (v: number | null) => (v == null ? '—' : `${v.toFixed(2)}×`);
    const layers = rs.reduce((a, r) => a + w(r), 0);
    return [op, rs.length === 1 ? rs[0]!.shape : `${layers} layers`, num(gm('camlight')), num(gm('tfjs-webgpu')), num(gm('tfjs-wasm')), fmtR(rgm('tfjs-webgpu')), fmtR(rgm('tfjs-wasm'))];
  });
  const perShape = recs.map((r) => [r.op, r.shape, String(r.layers ?? 1), num(g(r, 'camlight')), num(g(r, 'tfjs-webgpu')), num(g(r, 'tfjs-wasm')), ratio(g(r, 'camlight'), g(r, 'tfjs-webgpu')), ratio(g(r, 'camlight'), g(r, 'tfjs-wasm')), ['camlight', 'tfjs-webgpu', 'tfjs-wasm'].map((s) => r.timing?.[s]?.samplesMs?.length ?? '–').join('/')]);
  return [
    { header: ['op', 'shapes', 'camlight GFLOP/s', 'tfjs-webgpu', 'tfjs-wasm', 'camlight / tfjs-webgpu', 'camlight / tfjs-wasm'], rows, align: ['left', 'left'] },
    { header: ['op', 'shape', 'layers', 'camlight', 'tfjs-webgpu', 'tfjs-wasm', 'cl/webgpu', 'cl/wasm', 'samples'], rows: perShape, align: ['left', 'left'] },
  ];
}

function modelsTables(d: ResultsDoc): Table[] {
  const recs = d.records as Rec[];
  return [{
    header: ['model', 'input', 'batch', 'camlight ms', 'tfjs-webgpu ms', 'tfjs-wasm ms', 'camlight vs webgpu', 'camlight vs wasm', 'peak MiB', 'convs alone GFLOP/s', 'forward ÷ convs'],
    rows: recs.map((r) => [r.model, `${r.size}²`, String(r.batch), num(r.ms?.camlight), num(r.ms?.['tfjs-webgpu']), num(r.ms?.['tfjs-wasm']), ratio(r.ms?.['tfjs-webgpu'], r.ms?.camlight), r.pairedWasmOverCamlight?.length ? pairedRatio(r.pairedWasmOverCamlight) : ratio(r.ms?.['tfjs-wasm'], r.ms?.camlight), r.peakBytes?.camlight ? (r.peakBytes.camlight / 2 ** 20).toFixed(0) : '—', num(r.convAlone?.gflops), typeof r.convAlone?.ratio === 'number' ? `${(100 * r.convAlone.ratio).toFixed(0)} %` : '—']),
    align: ['left', 'left'],
  }];
}

function camTables(d: ResultsDoc): Table[] {
  const recs = d.records as Rec[];
  const main = recs.filter((r) => r.method === 'gradcam' && r.relative == null);
  const rel = recs.filter((r) => !main.includes(r));
  const out: Table[] = [{
    header: ['model', 'input', 'batch', 'Grad-CAM ms camlight', 'forward ms', 'tfjs-webgpu', 'tfjs-wasm', 'camlight vs webgpu', 'cam / forward'],
    rows: main.map((r) => [r.model, `${r.size}²`, String(r.batch), num(r.ms?.camlight), num(r.forwardMs?.camlight), num(r.ms?.['tfjs-webgpu']), num(r.ms?.['tfjs-wasm']), ratio(r.ms?.['tfjs-webgpu'], r.ms?.camlight), r.pairedCamOverForward?.length ? pairedRatio(r.pairedCamOverForward) : ratio(r.ms?.camlight, r.forwardMs?.camlight)]),
    align: ['left', 'left'],
  }];
  if (rel.length) out.push({ header: ['model', 'input', 'method', 'camlight ms', '× Grad-CAM'], rows: rel.map((r) => [r.model, `${r.size}²`, r.method, num(r.ms?.camlight), typeof r.relative === 'number' ? `${r.relative.toFixed(2)}×` : '—']), align: ['left', 'left', 'left'] });
  return out;
}

function trainTables(d: ResultsDoc): Table[] {
  const recs = d.records as Rec[];
  const out: Table[] = [{
    header: ['model', 'batch', 'camlight img/s', 'tfjs-webgpu img/s', 'tfjs-wasm img/s', 'camlight vs webgpu'],
    rows: recs.map((r) => [r.model, String(r.batch), num(r.imagesPerSec?.camlight, 1), num(r.imagesPerSec?.['tfjs-webgpu'], 1), num(r.imagesPerSec?.['tfjs-wasm'], 1), ratio(r.imagesPerSec?.camlight, r.imagesPerSec?.['tfjs-webgpu'])]),
    align: ['left'],
  }];
  const acc = (d.accuracy as Rec[] | undefined) ?? [];
  if (acc.length) out.push({ header: ['system', 'epochs', 'train images', 'test images', 'test accuracy'], rows: acc.map((a) => [a.system, String(a.epochs), String(a.trainImages), String(a.testImages), `${(100 * a.test).toFixed(2)} %`]), align: ['left'] });
  return out;
}

const TABLES: Record<string, (d: ResultsDoc) => Table[]> = { kernels: kernelsTables, models: modelsTables, cam: camTables, train: trainTables };

function print(t: Table, markdown: boolean): void {
  if (!markdown) return printTable(t.header, t.rows, t.align);
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  console.log(`| ${t.header.map(esc).join(' | ')} |`);
  console.log(`| ${t.header.map((_, i) => ((t.align?.[i] ?? (i === 0 ? 'left' : 'right')) === 'left' ? '---' : '---:')).join(' | ')} |`);
  for (const r of t.rows) console.log(`| ${r.map(esc).join(' | ')} |`);
}

/** The command: every results file (or those named), one section each, then the durations. */
export async function main(argv: string[]): Promise<number> {
  const markdown = argv.includes('--markdown');
  const named = argv.filter((a) => !a.startsWith('--'));
  let docs: [string, ResultsDoc][];
  try {
    docs = named.length ? named.map((f) => [resolve(f), readResults(f)] as [string, ResultsDoc]) : allResults();
  } catch (e) {
    console.error((e as Error).message);
    return 2;
  }
  if (!docs.length) {
    console.error(`report: no results under ${RESULTS_DIR}/<adapter>/; run \`npm run bench\` first`);
    return 1;
  }
  const h = (s: string) => console.log(markdown ? `\n#### ${s}\n` : `\n== ${s}`);
  for (const [file, d] of docs) {
    const suite = d.suite ?? file.replace(/.*\//, '').replace(/(-quick)?(-[a-z+-]+)?\.json$/, '');
    h(`${suite} on ${d.adapter} (${relative(RESULTS_DIR, file)})`);
    console.log(runLine(d));
    if (typeof d.migratedFrom === 'string') console.log(`\nmigrated from ${d.migratedFrom} (see bench/NOTES.md); sampling ${d.sampling ?? 'not recorded'}`);
    if (typeof d.note === 'string') console.log(`\n${d.note}`);
    console.log('');
    const tables = TABLES[suite]?.(d);
    if (!tables) {
      console.log(`${d.records.length} records (no table for this suite in bench/report.ts)`);
      continue;
    }
    // The kernels per-shape table is long: the README shows the summary, the terminal both.
    for (const [i, t] of tables.entries()) {
      if (markdown && suite === 'kernels' && i === 1) continue;
      print(t, markdown);
      console.log('');
    }
  }
  h('Durations');
  print({
    header: ['adapter', 'suite', 'mode', 'budget s', 'took', 'process CPU', 'load average start → end', 'CPUs', 'date'],
    rows: docs.map(([file, d]) => [d.adapterSlug ?? relative(RESULTS_DIR, file).split('/')[0]!, d.suite ?? '?', d.mode ?? '?', d.budgetS == null ? '—' : String(d.budgetS), clock(d.durationS), clock(d.cpuS),
      d.load?.start ? `${d.load.start.join(', ')} → ${d.load.end?.join(', ') ?? '?'}` : 'not recorded', d.load?.cpus ? String(d.load.cpus) : '—', d.date.slice(0, 10)]),
    align: ['left', 'left', 'left'],
  }, markdown);
  console.log(`${markdown ? '\n' : ''}took = wall-clock time; process CPU = CPU seconds of the bench process (all threads: on lavapipe the "GPU" too), which other load inflates less than the wall clock`);
  return 0;
}
