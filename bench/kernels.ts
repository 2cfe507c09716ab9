// The kernels suite: GFLOP/s of conv2d (bias + ReLU fused) and of its input and weight gradients
// on the convolution shapes of VGG-19 at 224×224 (16 layers, 9 distinct shapes, each measured
// once and counted once per layer), batch 1, and of a 1024³ matmul, for camlight and the
// TensorFlow.js peers on the same adapter, each output checked against a reference before it is timed.
import { conv2d } from '../src/kernels/conv2d.ts';
import { matmul } from '../src/kernels/matmul.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import type { Suite, SuiteOptions, System } from './index.ts';
import { FP32_TOLERANCE, describeTolerance, mismatch, planFor, timeLaunches, timingRecord, uniform, type Timing } from './measure.ts';
import { describePeer, tf, usePeer, type Peer } from './peers.ts';
import { convBackwardCase } from './conv-backward-cases.ts';
import { Progress } from './progress.ts';
import { deviceAdapterInfo, writeRun } from './results.ts';
import { fmtRate, fmtRatio, loud, printTable, type BenchRecord } from './table.ts';

/** One benchmarked op at one shape: how to make its inputs and run it on each system. */
export interface Case {
  op: 'conv2d' | 'conv2d.dInput' | 'conv2d.dWeight' | 'matmul';
  shape: string;
  flops: number;
  inQuick: boolean;
  /** How many layers of the model have this shape (the geometric mean counts it that often). */
  count?: number;
  /** Host inputs, seeded: the same data for every system. */
  inputs(): { data: Float32Array; shape: number[] }[];
  camlight(t: Tensor[]): Tensor;
  tfjs(t: tf.Tensor[]): tf.Tensor;
  /** The output element at flat index i, computed on the host in float64. */
  exact(d: Float32Array[], i: number): number;
  /** Peers that lack the kernel, with the reason (shown as '—', not counted as failures). */
  unsupported?: Partial<Record<System, string>>;
  /** Reference above CPU_REFERENCE_MAX_FLOPS when it is not tfjs-wasm (spot-checked in float64 all the same). */
  bigReference?: Peer;
  /** A full host reference (float64 sums) used instead of tfjs-cpu up to CPU_REFERENCE_MAX_FLOPS, where tfjs-cpu is too slow. */
  hostReference?(d: Float32Array[]): Float32Array;
}

// x:(1,H,W,C) w:(3,3,C,K) b:(K) y:(1,H,W,K); stride 1, 'same' padding, bias then ReLU.
export function convCase(h: number, c: number, k: number, inQuick = false): Case {
  const scale = Math.sqrt(3 / (9 * c)); // weights of variance 1/fan-in keep outputs O(1)
  return {
    op: 'conv2d',
    shape: `${h}x${h}x${c}->${k} k3 s1`,
    flops: 2 * h * h * k * 9 * c,
    inQuick,
    inputs: () => [
      { data: uniform(h * h * c, 1000 + c, 0, 1), shape: [1, h, h, c] }, // post-ReLU-like activations
      { data: uniform(9 * c * k, 2000 + k, -scale, scale), shape: [3, 3, c, k] },
      { data: uniform(k, 3000 + k, -0.1, 0.1), shape: [k] },
    ],
    camlight: ([x, w, b]) => conv2d(x!, w!, { bias: b!, strides: 1, padding: 'same', activation: 'relu' }),
    tfjs: ([x, w, b]) =>
      tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, bias: b, strides: 1, pad: 'same', activation: 'relu' }),
    exact: ([x, w, b], i) => {
      const kk = i % k, p = (i - kk) / k, ox = p % h, oy = (p - ox) / h;
      let s = b![kk]!;
      for (let ky = 0; ky < 3; ky++) {
        const iy = oy + ky - 1;
        if (iy < 0 || iy >= h) continue;
        for (let kx = 0; kx < 3; kx++) {
          const ix = ox + kx - 1;
          if (ix < 0 || ix >= h) continue;
          const xo = (iy * h + ix) * c, wo = (ky * 3 + kx) * c * k + kk;
          for (let cc = 0; cc < c; cc++) s += x![xo + cc]! * w![wo + cc * k]!;
        }
      }
      return Math.max(s, 0);
    },
  };
}

// a:(M,K) b:(K,N) y:(M,N)
export function matmulCase(m: number, k: number, n: number): Case {
  return {
    op: 'matmul',
    shape: `${m}x${k}x${n}`,
    flops: 2 * m * k * n,
    inQuick: true,
    inputs: () => [
      { data: uniform(m * k, 11, -1, 1), shape: [m, k] },
      { data: uniform(k * n, 12, -1, 1), shape: [k, n] },
    ],
    camlight: ([a, b]) => matmul(a!, b!),
    tfjs: ([a, b]) => tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    exact: ([a, b], i) => {
      const col = i % n, row = (i - col) / n;
      let s = 0;
      for (let j = 0; j < k; j++) s += a![row * k + j]! * b![j * n + col]!;
      return s;
    },
  };
}

/** VGG-19's sixteen 3×3 convolutions at 224×224 (Simonyan & Zisserman 2015, table 1, column E). */
export const VGG19_CONVS: [h: number, c: number, k: number][] = [
  [224, 3, 64], [224, 64, 64],
  [112, 64, 128], [112, 128, 128],
  [56, 128, 256], [56, 256, 256], [56, 256, 256], [56, 256, 256],
  [28, 256, 512], [28, 512, 512], [28, 512, 512], [28, 512, 512],
  [14, 512, 512], [14, 512, 512], [14, 512, 512], [14, 512, 512],
];
/**
 * The distinct shapes among VGG19_CONVS, in order, with how many layers share each: measuring
 * 56²×256→256 three times and 14²×512→512 four times would spend 7 of 16 measurements on
 * repeats; the geometric mean over the 16 layers weights each shape by its count instead.
 */
export const VGG19_DISTINCT: { h: number; c: number; k: number; count: number }[] = [];
for (const [h, c, k] of VGG19_CONVS) {
  const same = VGG19_DISTINCT.find((d) => d.h === h && d.c === c && d.k === k);
  if (same) same.count++;
  else VGG19_DISTINCT.push({ h, c, k, count: 1 });
}
/** Quick runs: the first layer, 56²×256→256 and 14²×512→512 (small, mid-size and late). */
const QUICK_CONVS = new Set(['224x3->64', '56x256->256', '14x512->512']);
const QUICK_BACKWARD = new Set(['224x3->64', '14x512->512']);
const key = (d: { h: number; c: number; k: number }) => `${d.h}x${d.c}->${d.k}`;

const CASES: Case[] = [
  ...VGG19_DISTINCT.map((d) => ({ ...convCase(d.h, d.c, d.k, QUICK_CONVS.has(key(d))), count: d.count })),
  ...(['dInput', 'dWeight'] as const).flatMap((g) => VGG19_DISTINCT.map((d) => ({ ...convBackwardCase(g, d.h, d.c, d.k, QUICK_BACKWARD.has(key(d))), count: d.count }))),
  matmulCase(1024, 1024, 1024),
];

/** tfjs-cpu runs about 1 GFLOP/s here; above this the reference is tfjs-wasm (or the case's bigReference), spot-checked in float64. */
const CPU_REFERENCE_MAX_FLOPS = 2.5e9;
const SPOT_CHECKS = 512;

interface Row {
  c: Case;
  ref: Float32Array | null;
  refName: string;
  /** Who computed `ref`: a peer (checked in float64 at SPOT_CHECKS outputs unless tfjs-cpu) or the host formula. */
  refPeer: Peer | 'host';
  timing: Partial<Record<System, Timing>>;
  failed: Partial<Record<System, string>>;
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e));

const refPeerOf = (c: Case): Peer | 'host' => (c.flops <= CPU_REFERENCE_MAX_FLOPS ? (c.hostReference ? 'host' : 'tfjs-cpu') : c.bigReference ?? 'tfjs-wasm');

/** Computes every row's reference output; a broken reference fails the row for all systems. */
async function references(rows: Row[], progress: Progress): Promise<void> {
  for (const r of rows.filter((r) => r.refPeer === 'host')) {
    const t0 = performance.now();
    r.ref = r.c.hostReference!(r.c.inputs().map((i) => i.data));
    r.refName = 'host formula (float64 sums)';
    progress.step(`reference ${r.c.op} ${r.c.shape}: ${r.refName}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  for (const peer of ['tfjs-cpu', 'tfjs-wasm', 'tfjs-webgpu'] as const) {
    const onCpu = peer === 'tfjs-cpu';
    const todo = rows.filter((r) => r.refPeer === peer);
    if (!todo.length) continue;
    await usePeer(peer);
    for (const r of todo) {
      const t0 = performance.now();
      const inputs = r.c.inputs();
      const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
      const y = r.c.tfjs(ts);
      r.ref = (await y.data()) as Float32Array;
      tf.dispose([y, ...ts]);
      r.refName = onCpu ? 'tfjs-cpu' : `${peer} (checked in float64 at ${SPOT_CHECKS} outputs)`;
      if (!onCpu) {
        // The peer is only a stand-in reference: check it against the formula at sampled outputs.
        const d = inputs.map((i) => i.data);
        const idx = Array.from({ length: SPOT_CHECKS }, (_, j) => Math.floor(((j + 0.5) / SPOT_CHECKS) * r.ref!.length));
        const bad = mismatch(idx.map((i) => r.ref![i]!), idx.map((i) => r.c.exact(d, i)));
        if (bad) {
          loud(`REFERENCE MISMATCH: ${peer} ${r.c.op} ${r.c.shape} vs float64: ${bad}`);
          r.ref = null;
          r.refName = `${peer} FAILED its float64 spot check`;
        }
      }
      progress.step(`reference ${r.c.op} ${r.c.shape}: ${r.refName}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
}

/** Launches R times back to back (one submission for camlight) and waits for the last output. */
async function measure(sys: System, r: Row, opts: SuiteOptions): Promise<void> {
  const inputs = r.c.inputs();
  const plan = planFor(opts.budgetS);
  if (sys === 'camlight') {
    const ts = inputs.map((i) => upload(i.data, i.shape));
    try {
      const y0 = r.c.camlight(ts);
      const got = await y0.data();
      y0.dispose();
      const bad = mismatch(got, r.ref!);
      if (bad) throw new Mismatch(bad);
      r.timing[sys] = await timeLaunches(async (n) => {
        let y: Tensor | null = null;
        for (let i = 0; i < n; i++) {
          y?.dispose();
          y = r.c.camlight(ts);
        }
        await y!.data();
        y!.dispose();
      }, plan);
    } finally {
      ts.forEach((t) => t.dispose());
    }
    return;
  }
  await usePeer(sys);
  const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
  try {
    // A peer that computed the reference itself was checked there (in float64 at SPOT_CHECKS
    // outputs) and has compiled its program: running it again only to compare it with itself
    // would cost a slow peer (tfjs-webgpu's dWeight: seconds per launch) time and check nothing.
    if (r.refPeer !== sys) {
      const y0 = r.c.tfjs(ts);
      const got = (await y0.data()) as Float32Array;
      y0.dispose();
      const bad = mismatch(got, r.ref!);
      if (bad) throw new Mismatch(bad);
    }
    r.timing[sys] = await timeLaunches(async (n) => {
      let y: tf.Tensor | null = null;
      for (let i = 0; i < n; i++) {
        y?.dispose();
        y = r.c.tfjs(ts);
      }
      await y!.data();
      y!.dispose();
    }, plan);
  } finally {
    tf.dispose(ts);
  }
}

class Mismatch extends Error {
  override name = 'MISMATCH';
}

const gflops = (r: Row, s: System) => {
  const t = r.timing[s];
  return t ? r.c.flops / (t.ms * 1e6) : null;
};

/** Geometric mean of the positive ratios, each counted `count` times; null when there are none. */
function weightedGeomean(xs: { v: number | null; count: number }[]): { gm: number | null; layers: number } {
  let sum = 0, n = 0;
  for (const { v, count } of xs) if (v != null && v > 0 && Number.isFinite(v)) (sum += count * Math.log(v)), (n += count);
  return { gm: n ? Math.exp(sum / n) : null, layers: n };
}

async function run(opts: SuiteOptions): Promise<number> {
  const start = performance.now();
  const rt = await init();
  if (opts.wait !== 'auto') rt.setWaitMode(opts.wait);
  console.log(`adapter: ${rt.adapterName}, kernel class '${rt.adapterClass}'${opts.adapterClass ? ' (forced by --adapter-class / CAMLIGHT_ADAPTER_CLASS)' : ''}`);
  console.log(
    rt.waitMode === 'nap'
      ? 'camlight waits in naps of ≤ 1 ms between single polls of Dawn (src/gpu/wait.ts);'
      : rt.waitMode === 'sleep'
        ? 'camlight waits by sleeping on a timer for most of the time its past work predicts (src/gpu/wait.ts), then awaits Dawn;'
        : 'camlight waits by awaiting Dawn directly (--wait spin);',
  );
  console.log('peers are measured the plain way: launches, then `await tensor.data()` (Dawn polls on the main thread meanwhile).');
  for (const s of opts.systems) if (s !== 'camlight') console.log(`${s}: ${await describePeer(s)}`);
  const plan = planFor(opts.budgetS);
  console.log(
    `timing: warm-up + check, then samples of R back-to-back launches and one read-back (R chosen so a sample lasts ~${plan.sampleMs.toFixed(0)} ms) ` +
      `for ~${opts.budgetS} s per measurement (--budget; at least one sample, at most ${plan.maxSamples}); the figure is the median`,
  );
  console.log(`check before timing: ${describeTolerance(FP32_TOLERANCE)}; reference tfjs-cpu up to ${CPU_REFERENCE_MAX_FLOPS / 1e9} GFLOP (conv2d.dWeight: a float64 host formula, ~50× faster than tfjs-cpu's), else tfjs-wasm (tfjs-webgpu for conv2d.dWeight: wasm lacks it) spot-checked in float64 at ${SPOT_CHECKS} outputs`);
  console.log(`VGG-19's 16 convolutions have 9 distinct shapes: each is measured once ('layers' = how many layers share it) and the geometric means count it once per layer\n`);

  const wanted = (c: Case) => (!opts.quick || c.inQuick) && (!opts.match || opts.match.some((m) => `${c.op} ${c.shape}`.includes(m)));
  const rows: Row[] = CASES.filter(wanted).map((c) => ({ c, ref: null, refName: '', refPeer: refPeerOf(c), timing: {}, failed: {} }));
  if (!rows.length) {
    console.error(`kernels: --match ${opts.match?.join(',')} names no case; cases are 'op shape', e.g. ${CASES.slice(0, 2).map((c) => `'${c.op} ${c.shape}'`).join(', ')}`);
    return 1;
  }
  // Progress weights, in seconds: references at ~1 GFLOP/s (tfjs-cpu) or ~5; a measurement = its budget + a checked launch.
  const weights = [
    ...rows.map((r) => r.c.flops / (r.refPeer === 'tfjs-cpu' || r.refPeer === 'host' ? 1e9 : 5e9)),
    ...opts.systems.flatMap((s) => rows.filter((r) => !r.c.unsupported?.[s]).map((r) => opts.budgetS + r.c.flops / 5e9)),
  ];
  const progress = new Progress(weights, console.log, start);
  const t0 = performance.now();
  await references(rows, progress);
  console.log(`references ready (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

  // One system at a time: on two cores, anything running beside a kernel would distort it.
  for (const sys of opts.systems) {
    const phase = performance.now(), slept = rt.sleptMs;
    for (const r of rows) {
      const label = `${sys.padEnd(11)} ${r.c.op} ${r.c.shape}`;
      if (r.c.unsupported?.[sys]) {
        console.log(`${label}: skipped (${r.c.unsupported[sys]})`);
        continue;
      }
      if (!r.ref) {
        r.failed[sys] = 'no trustworthy reference';
        progress.step(`${label}: not timed (no trustworthy reference)`);
        continue;
      }
      try {
        await measure(sys, r, opts);
        const t = r.timing[sys]!;
        progress.step(`${label}: ${fmtRate(gflops(r, sys))} GFLOP/s (${t.ms.toFixed(1)} ms/launch, ${t.samples}×${t.launchesPerSample} launches in ${(t.spentMs / 1000).toFixed(1)} s)`);
      } catch (e) {
        r.failed[sys] = errText(e);
        loud(e instanceof Mismatch ? `MISMATCH: ${label} vs ${r.refName}: ${e.message}` : `ERROR: ${label}: ${errText(e)}`);
        progress.step(`${label}: FAILED`);
      }
    }
    if (sys === 'camlight') {
      const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
      console.log(`camlight ${rt.waitMode === 'nap' ? 'napped' : 'slept'} ${s(rt.sleptMs - slept)} of its ${s(performance.now() - phase)} phase instead of polling Dawn`);
    }
  }

  const has = (s: System) => opts.systems.includes(s);
  const cell = (r: Row, s: System) => (has(s) ? fmtRate(gflops(r, s), s in r.failed) : '—');
  console.log(
    `\nGFLOP/s on ${rt.adapterName} (batch 1; conv2d = 3×3, stride 1, same, bias + ReLU fused; ` +
      'conv2d.dInput / conv2d.dWeight = its input / weight gradient, tfjs via runKernel Conv2DBackpropInput / Conv2DBackpropFilter)',
  );
  printTable(
    ['op', 'shape', 'layers', 'camlight', 'tfjs-webgpu', 'tfjs-wasm', 'cl/webgpu', 'cl/wasm', 'samples', 'reference'],
    rows.map((r) => [
      r.c.op,
      r.c.shape,
      String(r.c.count ?? 1),
      cell(r, 'camlight'),
      cell(r, 'tfjs-webgpu'),
      cell(r, 'tfjs-wasm'),
      fmtRatio(gflops(r, 'camlight'), gflops(r, 'tfjs-webgpu')),
      fmtRatio(gflops(r, 'camlight'), gflops(r, 'tfjs-wasm')),
      opts.systems.map((s) => r.timing[s]?.samples ?? '–').join('/'),
      r.refName,
    ]),
    ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'left'],
  );
  const geomeans: Record<string, Partial<Record<System, number | null>>> = {};
  console.log('');
  for (const op of ['conv2d', 'conv2d.dInput', 'conv2d.dWeight'] as const) {
    const convs = rows.filter((r) => r.c.op === op);
    if (!convs.length) continue;
    geomeans[op] = {};
    const layers = convs.reduce((a, r) => a + (r.c.count ?? 1), 0);
    for (const peer of ['tfjs-webgpu', 'tfjs-wasm'] as const) {
      if (!has(peer) || !has('camlight')) continue;
      const { gm, layers: n } = weightedGeomean(convs.map((r) => {
        const a = gflops(r, 'camlight'), b = gflops(r, peer);
        return { v: a && b ? a / b : null, count: r.c.count ?? 1 };
      }));
      geomeans[op]![peer] = gm;
      console.log(`geometric mean ${op} camlight/${peer} over ${n} of ${layers} layers: ${gm == null ? '—' : gm.toFixed(2) + '×'}`);
    }
  }
  const gm = geomeans['conv2d']?.['tfjs-webgpu'] ?? null;
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);

  const records: BenchRecord[] = rows.map((r) => {
    const rec: BenchRecord = { op: r.c.op, shape: r.c.shape, layers: r.c.count ?? 1, gflops: {}, ms: {}, reference: r.refName };
    const timing: Record<string, ReturnType<typeof timingRecord>> = {};
    for (const s of opts.systems) {
      rec.gflops[s] = gflops(r, s);
      rec.ms![s] = r.timing[s]?.ms ?? null;
      if (r.timing[s]) timing[s] = timingRecord(r.timing[s]!);
    }
    rec.timing = timing;
    if (Object.keys(r.failed).length) rec.failed = r.failed as Record<string, string>;
    if (r.c.unsupported) rec.unsupported = r.c.unsupported;
    return rec;
  });
  const file = writeRun('kernels', rt.adapterName, records, {
    adapterClass: rt.adapterClass,
    geomeanConvCamlightOverTfjsWebgpu: gm,
    geomeanCamlightOverPeerByOp: geomeans,
    tolerance: describeTolerance(FP32_TOLERANCE),
  }, deviceAdapterInfo(rt.device));
  console.log(`results written to ${file}`);
  return rows.reduce((a, r) => a + Object.keys(r.failed).length, 0);
}

export const suite: Suite = {
  name: 'kernels',
  describe: 'conv2d and its input/weight gradients on the VGG-19 shapes and a 1024³ matmul, camlight vs TensorFlow.js',
  defaultBudgetS: { full: 2, quick: 0.5 },
  run,
};
