// `camlight tune`: times every candidate plan (the register-blocked kernels, each tile of this
// adapter class's table, split-K and GEMV variants) on the common VGG-19 / dense shapes on the
// current adapter, keeps only candidates whose output matches the register-blocked kernels', and
// caches the fastest per shape for this adapter (read back by src/platform/node-tuning.ts).
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { existsSync } from 'node:fs';
import type { Runtime } from '../gpu/runtime.ts';
import { init } from '../tensor/runtime-global.ts';
import { upload, type Tensor } from '../tensor/tensor.ts';
import { conv2d, conv2dOutputShape } from '../kernels/conv2d.ts';
import { conv2dInputGrad, conv2dWeightGrad } from '../kernels/conv2d-backward.ts';
import { matmul } from '../kernels/matmul.ts';
import type { GemmPlan } from '../kernels/gemm-tiled.ts';
import { defaultPlan, GEMM_TILES, tuneKey, withGemmPlan, type GemmOp, type GemmTuning, type TunedChoice } from '../kernels/gemm-tiles.ts';
import { gemmTuningPath } from '../platform/node-tuning.ts';
import { UsageError } from './args.ts';

export const TUNE_USAGE = `usage: camlight tune [--quick] [--reps N] [--out FILE]
Times each candidate GEMM plan (register-blocked kernels, the tiled core's tiles, split-K, GEMV) on
VGG-19's conv shapes and its dense layers at batch 1 on this adapter, checks every candidate's output
against the register-blocked kernels (|diff| ≤ 1e-3·max|ref|), and caches the fastest per shape in
${'<cache>'}/gemm-tuning.json (per adapter; kernels read it on start). --quick: three small shapes.`;

/** One shape to tune: a conv layer (3×3 'same', stride 1) for its three ops, or a matmul. */
export type TuneShape = { conv: [h: number, c: number, k: number] } | { matmul: [m: number, n: number, k: number] };

export const TUNE_SHAPES: TuneShape[] = [
  { conv: [224, 3, 64] }, { conv: [224, 64, 64] }, { conv: [112, 128, 128] }, { conv: [56, 256, 256] },
  { conv: [28, 512, 512] }, { conv: [14, 512, 512] },
  { matmul: [1, 4096, 25088] }, { matmul: [1, 4096, 4096] }, { matmul: [1, 1000, 4096] }, { matmul: [1024, 1024, 1024] },
];
export const QUICK_SHAPES: TuneShape[] = [{ conv: [14, 32, 32] }, { matmul: [1, 256, 512] }, { matmul: [64, 64, 128] }];

interface Problem { op: GemmOp; dims: { batch: number; M: number; N: number; K: number }; run: () => Tensor; inputs: Tensor[] }

/** The GEMMs of one shape, each through the public op (the plan is forced around the call). */
function problems(rt: Runtime, s: TuneShape): Problem[] {
  const rnd = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed) * 0.5);
  if ('matmul' in s) {
    const [M, N, K] = s.matmul;
    const a = upload(rnd(M * K, 1), [M, K], rt), b = upload(rnd(K * N, 2), [K, N], rt);
    return [{ op: 'matmul', dims: { batch: 1, M, N, K }, inputs: [a, b], run: () => matmul(a, b) }];
  }
  const [h, c, k] = s.conv;
  const xs = [1, h, h, c], ws = [3, 3, c, k], o = { padding: 'same' as const };
  const g = conv2dOutputShape(xs, ws, o);
  const x = upload(rnd(h * h * c, 3), xs, rt), w = upload(rnd(9 * c * k, 4), ws, rt), dy = upload(rnd(h * h * k, 5), g.outShape, rt);
  const M = h * h;
  return [
    { op: 'conv2d', dims: { batch: 1, M, N: k, K: 9 * c }, inputs: [x, w], run: () => conv2d(x, w, o) },
    { op: 'conv2dInputGrad', dims: { batch: 1, M, N: c, K: 9 * k }, inputs: [dy, w], run: () => conv2dInputGrad(dy, w, xs, o) },
    { op: 'conv2dWeightGrad', dims: { batch: 1, M: 9 * c, N: k, K: M }, inputs: [x, dy], run: () => conv2dWeightGrad(x, dy, ws, o) },
  ];
}

/** Candidate plans for one problem: the class's tiles unsplit and split, GEMV where M ≤ 4. */
export function candidates(rt: Runtime, op: GemmOp, d: Problem['dims']): TunedChoice[] {
  const out: TunedChoice[] = ['legacy'];
  for (const tile of GEMM_TILES[rt.adapterClass]) {
    out.push(tile);
    const wgs = d.batch * Math.ceil(d.M / (tile.wgy * tile.tm)) * Math.ceil(d.N / (tile.wgx * tile.tn));
    const splits = Math.min(32, Math.floor(d.K / 512), Math.ceil(264 / wgs));
    if (splits > 1) out.push({ tile, splits });
  }
  if (op === 'matmul' && d.M <= 4) {
    const p = defaultPlan(rt.adapterClass, d, true);
    out.push({ gemv: true, splits: p.splits }, { gemv: true, splits: 1 });
  }
  return out.filter((c, i) => out.findIndex((o) => JSON.stringify(o) === JSON.stringify(c)) === i);
}

function asPlan(c: TunedChoice): GemmPlan | null {
  if (c === 'legacy') return null;
  if ('gemv' in c) return { kind: 'gemv', splits: c.splits };
  if ('tile' in c) return { kind: 'tiled', tile: c.tile, splits: c.splits };
  return { kind: 'tiled', tile: c, splits: 1 };
}

/** Largest |got - want| over max|want|: the candidate check. */
export function candidateError(got: Float32Array, want: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < want.length; i++) { d = Math.max(d, Math.abs(got[i]! - want[i]!)); m = Math.max(m, Math.abs(want[i]!)); }
  return got.length === want.length && !got.some(Number.isNaN) ? d / Math.max(m, 1e-30) : Infinity;
}

export interface TuneResult { key: string; choice: TunedChoice; ms: Record<string, number | string> }

/**
 * Tunes the shapes on `rt`: per problem, every candidate checked against the register-blocked
 * output, timed over `reps` launches after one warm-up; the fastest passing candidate wins.
 */
export async function tune(rt: Runtime, shapes: TuneShape[], reps: number, log: (s: string) => void = console.log): Promise<TuneResult[]> {
  const results: TuneResult[] = [];
  for (const s of shapes) {
    const ps = problems(rt, s); // the problems of one shape share their inputs (w, dy)
    for (const p of ps) {
      const key = tuneKey(p.op, rt.adapterClass, p.dims);
      const ref = withGemmPlan(null, p.run);
      const want = await ref.data();
      ref.dispose();
      const ms: Record<string, number | string> = {};
      let best: { c: TunedChoice; t: number } | null = null;
      for (const c of candidates(rt, p.op, p.dims)) {
        const name = JSON.stringify(c);
        try {
          const plan = asPlan(c);
          const y = withGemmPlan(plan, p.run);
          const err = candidateError(await y.data(), want);
          y.dispose();
          if (!(err <= 1e-3)) { ms[name] = `rejected: error ${err.toExponential(2)} of max|ref|`; continue; }
          const t0 = performance.now();
          for (let r = 0; r < reps; r++) withGemmPlan(plan, p.run).dispose();
          await rt.sync();
          const t = (performance.now() - t0) / reps;
          ms[name] = +t.toFixed(3);
          if (!best || t < best.t) best = { c, t };
        } catch (e) {
          ms[name] = `failed: ${(e as Error).message.split('\n')[0]}`;
        }
      }
      if (best) results.push({ key, choice: best.c, ms });
      log(`${key}: ${best ? `${JSON.stringify(best.c)} ${best.t.toFixed(2)} ms` : 'no candidate passed'}`);
    }
    for (const t of new Set(ps.flatMap((p) => p.inputs))) t.dispose();
  }
  return results;
}

/** Merges this adapter's results into the tuning file (other adapters' entries are kept). */
export async function writeTuning(file: string, rt: Runtime, results: TuneResult[]): Promise<void> {
  let t: GemmTuning = { version: 1, adapters: {} };
  if (existsSync(file)) {
    try {
      const old = JSON.parse(await readFile(file, 'utf8')) as GemmTuning;
      if (old.version === 1 && old.adapters) t = old;
    } catch { /* rewritten below */ }
  }
  const choices: Record<string, TunedChoice> = { ...(t.adapters[rt.adapterName]?.choices ?? {}) };
  for (const r of results) choices[r.key] = r.choice;
  t.adapters[rt.adapterName] = { adapterClass: rt.adapterClass, date: new Date().toISOString(), choices };
  await mkdir(dirname(file), { recursive: true });
  await writeFile(`${file}.tmp`, JSON.stringify(t, null, 1));
  await rename(`${file}.tmp`, file);
}

/** `camlight tune [--quick] [--reps N] [--out FILE]`. */
export async function tuneCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) { console.log(TUNE_USAGE); return 0; }
  let quick = false, reps = 5, out = gemmTuningPath();
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--quick') quick = true;
    else if (a === '--reps' && args[i + 1]) {
      reps = Number(args[++i]);
      if (!Number.isInteger(reps) || reps < 1) throw new UsageError(`--reps takes a positive integer, not '${args[i]}'`);
    } else if (a === '--out' && args[i + 1]) out = args[++i]!;
    else throw new UsageError(`unknown option '${a}'\n${TUNE_USAGE}`);
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const rt = await init();
  console.log(`adapter: ${rt.adapterName} (class ${rt.adapterClass})`);
  const results = await tune(rt, quick ? QUICK_SHAPES : TUNE_SHAPES, reps);
  await writeTuning(out, rt, results);
  console.log(`${results.length} choices for ${rt.adapterName} written to ${out}`);
  return 0;
}
