// The models suite: end-to-end forward latency of VGG-19 at 224×224 and InceptionV3 at 299×299,
// batch 1 and 8, for camlight and the TensorFlow.js peers on the same adapter (same
// architecture, same seeded weights), each output checked against tfjs-wasm before it is timed,
// and camlight's peak GPU memory during a forward against weights + two largest activations + 10 %.
import type { Model } from '../src/nn/model.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { inceptionV3, vgg19 } from '../src/nn/zoo/index.ts';
import type { Suite, SuiteOptions, System } from './index.ts';
import { describeTolerance, median, mismatch, timeCalls, timePaired, timingRecord, uniform, type Tolerance } from './measure.ts';
import { measureConvsAlone, type ConvAlone } from './model-convs.ts';
import { forwardFlops, heWeights, largestActivations, peerModel, weightBytes, withGpuErrors, type HostWeights } from './model-setup.ts';
import { describePeer, tf, usePeer } from './peers.ts';
import { profilePass, type ProfileSummary } from './profile.ts';
import { Progress } from './progress.ts';
import { deviceAdapterInfo, writeRun } from './results.ts';
import { fmtRatio, loud, printTable } from './table.ts';

interface ModelCase {
  model: 'vgg19' | 'inceptionV3';
  size: number;
  /** A layer whose output is checked besides the softmax (the CAM's usual target). */
  tap: string;
  build(): Model;
}

const CASES: ModelCase[] = [
  { model: 'inceptionV3', size: 299, tap: 'mixed10', build: () => inceptionV3({ inputShape: [299, 299, 3] }) },
  { model: 'vgg19', size: 224, tap: 'block5_pool', build: () => vgg19({ inputShape: [224, 224, 3] }) },
];
const BATCHES = [1, 8];
const QUICK_BATCHES = [1];
/**
 * Batches whose rows also time the model's convolutions alone (bench/model-convs.ts). Batch 1
 * only: that is where a forward falls short of its kernels (InceptionV3: many small layers), and
 * one conv pass of both models at batch 8 would add ~30 s to the suite on lavapipe.
 */
const CONV_ALONE_BATCHES = [1];
/** Share of --budget the conv-alone measurement of a row gets (at least one launch per layer). */
const CONV_ALONE_BUDGET = 0.5;
const WEIGHT_SEED = 7;
/**
 * Softmax and tapped features vs tfjs-wasm: per element, relative to the value plus a floor
 * relative to the largest value (probabilities near 0, ReLU outputs near 0). Far tighter than
 * 1e-3 absolute on a 1000-way softmax, where every probability is already below 1e-2.
 */
const TOLERANCE: Tolerance = { rtol: 1e-3, atolOfMax: 1e-3 };

/** One record of bench/results/<adapter>/models[-quick].json. */
export interface ModelRecord {
  model: string;
  size: number;
  batch: number;
  /** Median ms per forward (input on the device, output read back); null: failed or not run. */
  ms: Record<System, number | null>;
  /** camlight's pool.stats().peakLiveBytes during a timed forward (bytes in size classes). */
  peakBytes: { camlight: number | null };
  /** Convolution and dense FLOPs of one forward at this batch, in GFLOP. */
  gflop: number;
  /** Timed forwards per system (as many as the budget allowed, at least one). */
  samples: Partial<Record<System, number>>;
  /** Every timed forward's ms, the budget and the time spent, per system (for `bench compare`). */
  timing: Partial<Record<System, ReturnType<typeof timingRecord>>>;
  reference: string;
  /** max |softmax - reference| per checked system. */
  maxAbsDiff: Partial<Record<System, number>>;
  memory: {
    /** float32 bytes of all weights. */
    weightsBytes: number;
    /** The two largest layer outputs at this batch. */
    largestActivationsBytes: [number, number];
    /** (weights + two largest activations) × 1.1: the target. */
    boundBytes: number;
    /** Pool bytes live once the weights are set, before any forward (weights in size classes). */
    loadedBytes: number;
    /** Pool bytes live just before the timed forward: weights, folded batch-norm copies, input. */
    residentBytes: number | null;
    met: boolean | null;
  };
  /** Why a system has no time (a peer that cannot run this model, a mismatch). */
  notes?: Partial<Record<System, string>>;
  /**
   * camlight's convolutions run alone, each conv layer at its in-model shape and kernel (batch 1
   * rows; see CONV_ALONE_BATCHES), against the whole forward: issue 13's "forward at ≥ 50 % of
   * the GFLOP/s of its own convolutions" is `ratio` ≥ 0.5.
   */
  convAlone?: ConvAlone;
  /** --profile: camlight's forward per op kind (bench/profile.ts). */
  profile?: ProfileSummary;
  /**
   * tfjs-wasm ms ÷ camlight ms of each pair of forwards timed alternately (wasm, camlight, …),
   * after both were timed on their own: both halves of a pair see the same machine, which the
   * two medians above, taken a minute apart, do not (this host's speed drifts by up to 2×
   * within minutes; bench/NOTES.md). "vs wasm" is their median.
   */
  pairedWasmOverCamlight?: number[];
}

/** Fewest alternating tfjs-wasm/camlight pairs per row in a full run (quick: 1). */
const WASM_MIN_PAIRS = 3;

/** camlight's speed-up over tfjs-wasm: the median of the paired ratios where timed, else the ratio of the medians. */
export function vsWasm(r: Pick<ModelRecord, 'ms' | 'pairedWasmOverCamlight'>): number | null {
  if (r.pairedWasmOverCamlight?.length) return median(r.pairedWasmOverCamlight);
  return r.ms['tfjs-wasm'] && r.ms.camlight ? r.ms['tfjs-wasm'] / r.ms.camlight : null;
}

interface Row {
  rec: ModelRecord;
  input: Float32Array;
  ref: { y: Float32Array; tap: Float32Array } | null;
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' ? '' : e.name + ': '}${e.message}` : String(e));
const MiB = (b: number | null | undefined) => (b == null ? '—' : (b / 2 ** 20).toFixed(1));
const fmtMs = (v: number | null | undefined, note?: string) => (note ? 'FAIL' : v == null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Compares a system's softmax and tap with the reference; throws naming the worst element. */
function check(sys: System, row: Row, y: Float32Array, tap: Float32Array): void {
  const ref = row.ref!;
  const bad = mismatch(y, ref.y, TOLERANCE) ?? mismatch(tap, ref.tap, TOLERANCE);
  row.rec.maxAbsDiff[sys] = maxAbs(y, ref.y);
  if (bad) throw new Mismatch(`${sys} ${row.rec.model} b${row.rec.batch} vs ${row.rec.reference}: ${bad}`);
}

class Mismatch extends Error {
  override name = 'MISMATCH';
}

/** How each measurement is timed and reported: the budget and the progress line. */
interface Timer {
  budgetMs: number;
  progress: Progress;
  /** --profile: one more forward under the GPU profiler after the timed ones. */
  profile: boolean;
}

/**
 * Median ms of calls of `forward` (each resolves once its output is on the host) within the
 * budget, at least one; records the samples on `row` and prints the progress line.
 */
async function timeForwards(sys: System, row: Row, forward: () => Promise<void>, t: Timer, extra = ''): Promise<number> {
  const timing = await timeCalls(forward, t.budgetMs);
  row.rec.ms[sys] = timing.ms;
  row.rec.samples[sys] = timing.samples;
  row.rec.timing[sys] = timingRecord(timing);
  t.progress.step(`${sys.padEnd(11)} ${row.rec.model} ${row.rec.size}² b${row.rec.batch}: ${timing.ms.toFixed(0)} ms (median of ${timing.samples} in ${(timing.spentMs / 1000).toFixed(1)} s)${extra}`);
  return timing.ms;
}

/** tfjs-wasm gives the reference outputs (and, when asked, its own times). */
async function runWasm(c: ModelCase, m: Model, w: HostWeights, rows: Row[], time: boolean, t: Timer): Promise<void> {
  await usePeer('tfjs-wasm');
  const p = await peerModel(m, w, c.tap);
  try {
    for (const row of rows) {
      const x = tf.tensor(row.input, [row.rec.batch, c.size, c.size, 3]);
      try {
        const [tapT, yT] = p.checked.predict(x) as tf.Tensor[];
        row.ref = { y: (await yT!.data()) as Float32Array, tap: (await tapT!.data()) as Float32Array };
        tf.dispose([tapT!, yT!]);
        let maxP = 0, maxTap = 0;
        for (const v of row.ref.y) maxP = Math.max(maxP, v);
        for (const v of row.ref.tap) maxTap = Math.max(maxTap, Math.abs(v));
        t.progress.step(`reference ${c.model} b${row.rec.batch} (tfjs-wasm): max p ${maxP.toFixed(4)}, max |${c.tap}| ${maxTap.toFixed(3)}`);
        if (!time) continue;
        row.rec.maxAbsDiff['tfjs-wasm'] = 0;
        await timeForwards('tfjs-wasm', row, async () => {
          const y = p.model.predict(x) as tf.Tensor;
          await y.data();
          y.dispose();
        }, t);
      } finally {
        x.dispose();
      }
    }
  } finally {
    p.dispose();
  }
}

async function runCamlight(c: ModelCase, m: Model, rows: Row[], t: Timer): Promise<number> {
  const rt = await init();
  let failures = 0;
  for (const row of rows) {
    const b = row.rec.batch;
    if (!row.ref) continue;
    const x = upload(row.input, [b, c.size, c.size, 3]);
    try {
      const { output, taps } = m.run(x, { taps: [c.tap] });
      const y = await output.data(), tap = await taps.get(c.tap)!.data();
      output.dispose();
      taps.forEach((t: Tensor) => t.dispose());
      check('camlight', row, y, tap);
      row.rec.memory.residentBytes = rt.stats().liveBytes;
      rt.pool.resetPeak();
      let peak = 0;
      await timeForwards('camlight', row, async () => {
        const y = m.predict(x);
        await y.data();
        y.dispose();
        peak = rt.stats().peakLiveBytes;
      }, t, '');
      row.rec.peakBytes.camlight = peak;
      row.rec.memory.met = peak <= row.rec.memory.boundBytes;
      console.log(`camlight    ${c.model} ${c.size}² b${b}: peak ${MiB(peak)} MiB (bound ${MiB(row.rec.memory.boundBytes)} MiB)`);
      if (CONV_ALONE_BATCHES.includes(b)) {
        const a = await measureConvsAlone(rt, m, b, { gflop: row.rec.gflop, ms: row.rec.ms.camlight }, (CONV_ALONE_BUDGET * t.budgetMs) / 1000);
        row.rec.convAlone = a;
        t.progress.step(`camlight    ${c.model} ${c.size}² b${b}: its ${a.layers} conv layers alone ${a.ms.toFixed(0)} ms = ${a.gflops.toFixed(2)} GFLOP/s; forward ${a.forwardGflops?.toFixed(2) ?? '—'} GFLOP/s = ${a.ratio == null ? '—' : (100 * a.ratio).toFixed(0)} % of that (${a.spentS.toFixed(1)} s)`);
      }
      if (t.profile) {
        row.rec.profile = await profilePass(rt, `camlight ${c.model} ${c.size}² b${b} forward`, async () => {
          const y = m.predict(x);
          await y.data();
          y.dispose();
        }, row.rec.ms.camlight);
      }
    } catch (e) {
      failures++;
      (row.rec.notes ??= {}).camlight = errText(e);
      loud(`${e instanceof Mismatch ? '' : 'ERROR: '}camlight ${c.model} b${b}: ${errText(e)}`);
    } finally {
      x.dispose();
    }
  }
  return failures;
}

/**
 * tfjs-wasm and camlight forwards alternately, on rows where both were checked and timed: the
 * median of per-pair ratios, so that a change of the host's speed between the two systems'
 * own timings (a minute apart) cannot decide "vs wasm" (timePaired, as for cam/forward).
 */
async function pairWasm(c: ModelCase, m: Model, w: HostWeights, rows: Row[], t: Timer, minPairs: number): Promise<void> {
  const todo = rows.filter((r) => r.rec.ms['tfjs-wasm'] != null && r.rec.ms.camlight != null);
  if (!todo.length) return;
  await usePeer('tfjs-wasm');
  const p = await peerModel(m, w, c.tap);
  try {
    for (const row of todo) {
      const b = row.rec.batch;
      const xp = tf.tensor(row.input, [b, c.size, c.size, 3]);
      const xc = upload(row.input, [b, c.size, c.size, 3]);
      try {
        const r = await timePaired(async () => {
          const y = p.model.predict(xp) as tf.Tensor;
          await y.data();
          y.dispose();
        }, async () => {
          const y = m.predict(xc);
          await y.data();
          y.dispose();
        }, 2 * t.budgetMs, 9, undefined, minPairs);
        row.rec.pairedWasmOverCamlight = r.ratios.map((x) => Number(x.toPrecision(4)));
        t.progress.step(`paired      ${c.model} ${c.size}² b${b}: tfjs-wasm / camlight per pair ${row.rec.pairedWasmOverCamlight.join(', ')} (median ${r.ratio.toFixed(2)}; wasm ${r.a.ms.toFixed(0)} ms, camlight ${r.b.ms.toFixed(0)} ms)`);
      } finally {
        xp.dispose();
        xc.dispose();
      }
    }
  } finally {
    p.dispose();
  }
}

async function runWebgpu(c: ModelCase, m: Model, w: HostWeights, rows: Row[], t: Timer): Promise<void> {
  await usePeer('tfjs-webgpu');
  const p = await peerModel(m, w, c.tap);
  try {
    for (const row of rows) {
      if (!row.ref) continue;
      const x = tf.tensor(row.input, [row.rec.batch, c.size, c.size, 3]);
      try {
        const [y, tap] = await withGpuErrors(async () => {
          const [tapT, yT] = p.checked.predict(x) as tf.Tensor[];
          const out = [(await yT!.data()) as Float32Array, (await tapT!.data()) as Float32Array];
          tf.dispose([tapT!, yT!]);
          return out;
        });
        check('tfjs-webgpu', row, y!, tap!);
        await timeForwards('tfjs-webgpu', row, async () => {
          const y = p.model.predict(x) as tf.Tensor;
          await y.data();
          y.dispose();
        }, t);
      } catch (e) {
        (row.rec.notes ??= {})['tfjs-webgpu'] = errText(e);
        loud(`tfjs-webgpu ${c.model} b${row.rec.batch} has no time: ${errText(e)}`);
        t.progress.step(`tfjs-webgpu ${c.model} b${row.rec.batch}: no time (see above)`);
      } finally {
        x.dispose();
      }
    }
  } finally {
    p.dispose();
  }
}

async function run(opts: SuiteOptions): Promise<number> {
  const rt = await init();
  if (opts.wait !== 'auto') rt.setWaitMode(opts.wait);
  const t0 = performance.now();
  const batches = opts.quick ? QUICK_BATCHES : BATCHES;
  const has = (s: System) => opts.systems.includes(s);
  console.log(`adapter: ${rt.adapterName}`);
  for (const s of opts.systems) if (s !== 'camlight') console.log(`${s}: ${await describePeer(s)}`);
  console.log(
    `weights: seeded He-uniform kernels, biases and batch-norm statistics (bench/model-setup.ts), the same Float32Arrays in every system; ` +
      `tfjs models built by tfjs-layers from camlight's toKerasConfig()`,
  );
  console.log(
    `timing: one checked forward (warm-up), then the median of as many forwards as fit in ${opts.budgetS} s (--budget; at least 1, at most 9), each = predict on a device-resident input + read the softmax back`,
  );
  console.log(`check: softmax and the tapped layer vs tfjs-wasm, ${describeTolerance(TOLERANCE)}\n`);

  const records: ModelRecord[] = [];
  let failures = 0;
  // Progress weights in seconds: a reference forward at ~10 GFLOP/s, a measurement = its budget + a checked forward at ~5.
  const gflopPerImage: Record<ModelCase['model'], number> = { inceptionV3: 11.4, vgg19: 39.3 };
  const weights = CASES.flatMap((c) => batches.flatMap((b) => {
    const g = b * gflopPerImage[c.model];
    const convs = has('camlight') && CONV_ALONE_BATCHES.includes(b) ? [CONV_ALONE_BUDGET * opts.budgetS + g / 10] : [];
    const paired = has('camlight') && has('tfjs-wasm') ? [2 * opts.budgetS + g / 10] : [];
    return [g / 10, ...opts.systems.map(() => opts.budgetS + g / 5), ...convs, ...paired];
  }));
  const timer: Timer = { budgetMs: 1000 * opts.budgetS, progress: new Progress(weights, console.log, t0), profile: opts.profile };
  for (const c of CASES) {
    const phase = performance.now();
    const m = c.build();
    const w = heWeights(m, WEIGHT_SEED);
    const before = rt.stats().liveBytes;
    m.setWeights(w);
    const loaded = rt.stats().liveBytes - before;
    const flops = forwardFlops(m), wBytes = weightBytes(w);
    console.log(`${c.model} ${c.size}×${c.size}: ${m.parameterCount().trainable + m.parameterCount().nonTrainable} parameters (${MiB(wBytes)} MiB), ${(flops / 1e9).toFixed(2)} GFLOP per image; built and loaded in ${((performance.now() - phase) / 1000).toFixed(1)} s`);
    const rows: Row[] = batches.map((b) => {
      const acts = largestActivations(m, b);
      return {
        input: uniform(b * c.size * c.size * 3, 100 + b, -1, 1),
        ref: null,
        rec: {
          model: c.model, size: c.size, batch: b,
          ms: { camlight: null, 'tfjs-webgpu': null, 'tfjs-wasm': null },
          peakBytes: { camlight: null },
          gflop: (b * flops) / 1e9, samples: {}, timing: {}, reference: 'tfjs-wasm', maxAbsDiff: {},
          memory: { weightsBytes: wBytes, largestActivationsBytes: acts, boundBytes: Math.round(1.1 * (wBytes + acts[0] + acts[1])), loadedBytes: loaded, residentBytes: null, met: null },
        },
      };
    });
    try {
      try {
        await runWasm(c, m, w, rows, has('tfjs-wasm'), timer);
      } catch (e) {
        loud(`ERROR: the reference (tfjs-wasm) failed on ${c.model}: ${errText(e)}; nothing of this model can be checked`);
      }
      for (const r of rows) {
        if (r.ref) continue;
        failures++;
        r.rec.notes = { 'tfjs-wasm': 'reference failed; nothing checked or timed' };
      }
      if (has('camlight')) failures += await runCamlight(c, m, rows, timer);
      if (has('camlight') && has('tfjs-wasm')) {
        try {
          await pairWasm(c, m, w, rows, timer, opts.quick ? 1 : WASM_MIN_PAIRS);
        } catch (e) {
          failures++;
          loud(`ERROR: tfjs-wasm/camlight pairs on ${c.model}: ${errText(e)}`);
        }
      }
    } finally {
      m.dispose();
      rt.pool.trim();
    }
    if (has('tfjs-webgpu')) {
      try {
        await runWebgpu(c, m, w, rows, timer);
      } catch (e) {
        for (const r of rows) (r.rec.notes ??= {})['tfjs-webgpu'] = errText(e);
        loud(`tfjs-webgpu could not build ${c.model}: ${errText(e)}`);
      }
    }
    records.push(...rows.map((r) => r.rec));
    console.log(`${c.model} done in ${((performance.now() - phase) / 1000).toFixed(0)} s\n`);
  }

  console.log(`\nForward latency on ${rt.adapterName}, ms (median of the samples within ${opts.budgetS} s); speed-up = peer ms / camlight ms, target ≥ 2× vs tfjs-webgpu; ` +
    `vs wasm: the median of per-pair ratios of alternating forwards (at least ${opts.quick ? 1 : WASM_MIN_PAIRS} pairs)`);
  printTable(
    ['model', 'input', 'batch', 'GFLOP', 'camlight', 'tfjs-webgpu', 'tfjs-wasm', 'vs webgpu', '≥2×', 'vs wasm'],
    records.map((r) => {
      const vs = r.ms['tfjs-webgpu'] && r.ms.camlight ? r.ms['tfjs-webgpu'] / r.ms.camlight : null;
      return [
        r.model, `${r.size}²`, String(r.batch), r.gflop.toFixed(1),
        fmtMs(r.ms.camlight, r.notes?.camlight), fmtMs(r.ms['tfjs-webgpu'], r.notes?.['tfjs-webgpu']), fmtMs(r.ms['tfjs-wasm'], r.notes?.['tfjs-wasm']),
        fmtRatio(r.ms['tfjs-webgpu'], r.ms.camlight), vs == null ? '—' : vs >= 2 ? 'yes' : 'no', fmtRatio(vsWasm(r), 1),
      ];
    }),
    ['left', 'left'],
  );
  const alone = records.filter((r) => r.convAlone);
  if (alone.length) {
    console.log(
      `\ncamlight forward vs its own convolutions run alone (each conv layer at its in-model shape and kernel, launches of one layer then one wait; ` +
        `Σ of per-layer medians); target: forward GFLOP/s ≥ 50 % of the convolutions'`,
    );
    printTable(
      ['model', 'input', 'batch', 'conv layers', 'conv GFLOP', 'convs alone ms', 'convs GFLOP/s', 'forward GFLOP/s', 'forward ÷ convs', '≥50%'],
      alone.map((r) => {
        const a = r.convAlone!;
        return [
          r.model, `${r.size}²`, String(r.batch), String(a.layers), a.gflop.toFixed(2), a.ms.toFixed(0), a.gflops.toFixed(2),
          a.forwardGflops?.toFixed(2) ?? '—', a.ratio == null ? '—' : `${(100 * a.ratio).toFixed(0)} %`, a.ratio == null ? '—' : a.ratio >= 0.5 ? 'yes' : 'no',
        ];
      }),
      ['left', 'left'],
    );
    for (const r of alone) {
      const slow = [...r.convAlone!.perLayer].sort((x, y) => y.ms - x.ms).slice(0, 5);
      console.log(`  ${r.model} b${r.batch}, longest layers alone: ${slow.map((l) => `${l.layer} (${l.in}) ${l.ms.toFixed(1)} ms ${l.gflops.toFixed(1)} GFLOP/s`).join('; ')}`);
    }
  }
  console.log(
    `\ncamlight GPU memory during a timed forward, MiB: bound = (float32 weights + two largest activations) × 1.1; loaded = pool bytes ` +
      `after setWeights (size classes round up ≤ 25 %); resident = live before the timed forward (adds folded batch-norm copies, input); peak = pool peakLiveBytes`,
  );
  printTable(
    ['model', 'batch', 'weights', 'act 1', 'act 2', 'bound', 'loaded', 'resident', 'peak', 'met'],
    records.map((r) => {
      const m = r.memory;
      return [r.model, String(r.batch), MiB(m.weightsBytes), MiB(m.largestActivationsBytes[0]), MiB(m.largestActivationsBytes[1]), MiB(m.boundBytes), MiB(m.loadedBytes), MiB(m.residentBytes), MiB(r.peakBytes.camlight), m.met == null ? '—' : m.met ? 'yes' : 'NO'];
    }),
    ['left'],
  );
  const notes = records.flatMap((r) => Object.entries(r.notes ?? {}).map(([s, n]) => `${r.model} b${r.batch} ${s}: ${n}`));
  if (notes.length) console.log(`\nnotes:\n  ${notes.join('\n  ')}`);
  console.log(`total ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const file = writeRun('models', rt.adapterName, records, { tolerance: describeTolerance(TOLERANCE) }, deviceAdapterInfo(rt.device));
  console.log(`results written to ${file}`);
  return failures;
}

export const suite: Suite = {
  name: 'models',
  describe: 'VGG-19 (224²) and InceptionV3 (299²) forward, batch 1 and 8, camlight vs TensorFlow.js, with camlight peak GPU memory',
  defaultBudgetS: { full: 8, quick: 1 },
  run,
};
