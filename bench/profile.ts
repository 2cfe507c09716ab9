// `--profile` for the models and cam suites: one extra, untimed pass under the runtime's profiler
// (src/gpu/profiler.ts), summed per op kind, so that the time a model spends outside its
// convolutions stays visible (issue 13, deliverable 2).
import type { Profile } from '../src/gpu/profiler.ts';
import type { Runtime } from '../src/gpu/runtime.ts';
import { loadavg } from 'node:os';
import { printTable } from './table.ts';

const loadAverage = () => loadavg().map((v) => v.toFixed(1)).join(' ');

/** Op kind of a kernel name; the first pattern that matches wins. */
const KINDS: [RegExp, string][] = [
  [/^conv2d\.(dInput|transposeWeights)$/, 'conv2d.dInput'],
  [/^conv2d\.dWeight$/, 'conv2d.dWeight'],
  [/^(conv2d|depthwiseConv2d)/, 'conv2d'],
  [/^matmul/, 'dense'],
  [/^concat$/, 'concat'],
  [/^concatGrad$/, 'concat.grad'],
  [/^slice$/, 'slice'],
  [/^pool\..*grad/, 'pool.grad'],
  [/^pool\./, 'pool'],
  [/^batchnorm/, 'batchnorm'],
  [/^(binary|unary)\.[^.]*\.grad$|^unary\..*\.grad$/, 'elementwise.grad'],
  [/^(binary|unary|broadcastTo)/, 'elementwise'],
  [/^(reduce|softmax|logSoftmax)/, 'reduce/softmax'],
  [/^(cam|resizeBilinear|topk)/, 'cam'],
  [/^read-back$/, 'read-back'],
  [/^copy$/, 'copy'],
];

const FLOP_KINDS = new Set(['conv2d', 'conv2d.dInput', 'conv2d.dWeight', 'dense']);
const TOP = 12;

export const opKind = (name: string) => KINDS.find(([re]) => re.test(name))?.[1] ?? name;

export interface KindRow {
  kind: string;
  dispatches: number;
  /** Summed GPU ms; null when no entry of this kind could be timed (copies under timestamps). */
  ms: number | null;
  /** Summed declared cost (FLOPs for conv2d / dense, bytes for memory-bound kernels). */
  cost: number;
}

export interface ProfileSummary {
  label: string;
  mode: Profile['mode'];
  roundTripMs: number | null;
  /** 'timestamp': first kernel's start to last kernel's end on the GPU clock (see Profile.spanMs). */
  spanMs: number | null;
  /** Wall ms of the suite's unprofiled median of this pass (another moment: load may differ). */
  wallMs: number | null;
  /** Wall ms of the profiled pass itself (host encoding to results on the host): the same moment as the GPU times. */
  profiledWallMs: number;
  gpuMs: number;
  dispatches: number;
  kinds: KindRow[];
  /** The commands that took longest, with their shapes and variant (where the time goes inside a kind). */
  top: { name: string; variant: string; shapes: string; ms: number; gflops: number | null }[];
}

/** Sums a profile by op kind, largest time first. */
export function summarize(label: string, p: Profile, wallMs: number | null, profiledWallMs: number): ProfileSummary {
  const rows = new Map<string, KindRow>();
  for (const e of p.entries) {
    const kind = opKind(e.name);
    const r = rows.get(kind) ?? { kind, dispatches: 0, ms: null, cost: 0 };
    r.dispatches++;
    r.cost += e.cost;
    if (e.ms != null) r.ms = (r.ms ?? 0) + e.ms;
    rows.set(kind, r);
  }
  const kinds = [...rows.values()].sort((a, b) => (b.ms ?? -1) - (a.ms ?? -1));
  const gpuMs = kinds.reduce((s, r) => s + (r.ms ?? 0), 0);
  const top = p.entries.filter((e) => e.ms != null).sort((a, b) => b.ms! - a.ms!).slice(0, TOP).map((e) => ({
    name: e.name, variant: e.variant, shapes: e.shapes, ms: e.ms!,
    gflops: FLOP_KINDS.has(opKind(e.name)) && e.ms! > 0 ? e.cost / 1e6 / e.ms! : null,
  }));
  return { label, mode: p.mode, roundTripMs: p.roundTripMs, spanMs: p.spanMs, wallMs, profiledWallMs, gpuMs, dispatches: p.entries.length, kinds, top };
}


export function printProfile(s: ProfileSummary): void {
  const how = s.mode === 'timestamp'
    ? 'GPU timestamp queries, one compute pass per dispatch (copies counted, not timed)'
    : `per-op sync timing: each command replayed alone, submit + wait (includes a round trip of ${s.roundTripMs!.toFixed(2)} ms each)`;
  console.log(`\nprofile ${s.label}: ${s.dispatches} commands, ${how}`);
  printTable(
    ['op kind', 'dispatches', 'ms', '% of GPU', 'GFLOP/s'],
    s.kinds.map((r) => [
      r.kind, String(r.dispatches), r.ms == null ? '—' : r.ms.toFixed(1),
      r.ms == null ? '—' : `${((100 * r.ms) / s.gpuMs).toFixed(1)} %`,
      FLOP_KINDS.has(r.kind) && r.ms ? (r.cost / 1e6 / r.ms).toFixed(2) : '',
    ]),
    ['left'],
  );
  console.log(`the ${s.top.length} longest commands:`);
  printTable(
    ['kernel', 'variant', 'shapes', 'ms', 'GFLOP/s'],
    s.top.map((e) => [e.name, e.variant, e.shapes, e.ms.toFixed(1), e.gflops == null ? '' : e.gflops.toFixed(2)]),
    ['left', 'left', 'left'],
  );
  const conv = s.kinds.find((r) => r.kind === 'conv2d');
  const w = s.profiledWallMs;
  const pct = (x: number) => `${((100 * x) / w).toFixed(0)} %`;
  const split = s.mode === 'sync'
    ? `(per-op replay: its wall is not comparable with the sum)`
    : `kernels ${pct(s.gpuMs)}, between kernels on the GPU ${(s.spanMs! - s.gpuMs).toFixed(0)} ms (${pct(s.spanMs! - s.gpuMs)}), ` +
      `outside the GPU span (host encoding before the first kernel, wait and read-back after the last) ${(w - s.spanMs!).toFixed(0)} ms (${pct(w - s.spanMs!)})`;
  console.log(`GPU sum ${s.gpuMs.toFixed(0)} ms${s.spanMs == null ? '' : `, span ${s.spanMs.toFixed(0)} ms`}${conv?.ms ? `, conv2d ${((100 * conv.ms) / s.gpuMs).toFixed(0)} % of the sum` : ''}`);
  console.log(`profiled pass wall ${w.toFixed(0)} ms: ${split}${s.wallMs == null ? '' : `; the unprofiled median was ${s.wallMs.toFixed(0)} ms`}`);
  console.log(`caveat: lavapipe shares its cores with the host and other processes; load average now ${loadAverage()}`);
}

/**
 * Runs `pass` once under the profiler (after the caller's warm-up and timing) and prints its
 * table; the pass must resolve once its results are on the host.
 */
export async function profilePass(rt: Runtime, label: string, pass: () => Promise<void>, wallMs: number | null): Promise<ProfileSummary> {
  rt.startProfile();
  const t0 = performance.now();
  try {
    await pass();
  } catch (e) {
    await rt.stopProfile().catch(() => undefined);
    throw e;
  }
  const profiledWallMs = performance.now() - t0;
  const s = summarize(label, await rt.stopProfile(), wallMs, profiledWallMs);
  printProfile(s);
  return s;
}
