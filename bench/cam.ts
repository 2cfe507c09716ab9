// The cam suite: Grad-CAM end to end per batch (host image data in, up-sampled map read back) for
// VGG-19 at 224² and InceptionV3 at 299², batch 1 and 8, camlight vs the same computation in
// TensorFlow.js (bench/cam-tfjs.ts), each map checked against tfjs-wasm first; camlight's own
// forward for the "backward is nearly free" ratio; and the cost of every other method relative
// to Grad-CAM (camlight only, batch 1).
import { autoLayer, cam, layerInfo, type CamLayerInfo, type CamMethodName, type CamOptions } from '../src/cam/index.ts';
import type { Model } from '../src/nn/model.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload } from '../src/tensor/tensor.ts';
import { inceptionV3, vgg19 } from '../src/nn/zoo/index.ts';
import { tfCamModel, tfGradCam, type TfCamModel } from './cam-tfjs.ts';
import type { Suite, SuiteOptions, System } from './index.ts';
import { describeTolerance, median, mismatch, timeCalls, timePaired, timingRecord, uniform, type Timing, type Tolerance } from './measure.ts';
import { heWeights, withGpuErrors, type HostWeights } from './model-setup.ts';
import { describePeer, tf, usePeer } from './peers.ts';
import { Progress } from './progress.ts';
import { profilePass, type ProfileSummary } from './profile.ts';
import { deviceAdapterInfo, writeRun } from './results.ts';
import { fmtRatio, loud, printTable } from './table.ts';

interface CamCase {
  model: 'vgg19' | 'inceptionV3';
  size: number;
  /** The layer 'auto' must pick (src/cam/layer-select.ts); the peers use the same one. */
  layer: string;
  build(): Model;
}

const CASES: CamCase[] = [
  { model: 'inceptionV3', size: 299, layer: 'mixed10', build: () => inceptionV3({ inputShape: [299, 299, 3] }) },
  { model: 'vgg19', size: 224, layer: 'block5_pool', build: () => vgg19({ inputShape: [224, 224, 3] }) },
];
/** Where the other methods are timed against Grad-CAM: the first case at batch 1 (full run). */
const METHODS_CASE = 'inceptionV3';
/** Score-CAM runs one forward per channel (2048 at mixed10: ~an hour on lavapipe), so it is timed on a small VGG-19. */
const SMALL: CamCase = { model: 'vgg19', size: 32, layer: 'block5_conv4', build: () => vgg19({ inputShape: [32, 32, 3] }) };
const OTHER_METHODS: { label: string; method: CamMethodName; opts?: CamOptions }[] = [
  { label: 'gradcam++', method: 'gradcam++' },
  { label: 'hirescam', method: 'hirescam' },
  { label: 'xgradcam', method: 'xgradcam' },
  { label: 'layercam', method: 'layercam' },
  { label: 'eigencam', method: 'eigencam' },
  { label: 'saliency', method: 'saliency' },
  { label: 'guided-gradcam', method: 'guided-gradcam' },
  { label: 'gradcam+smoothgrad×4', method: 'gradcam', opts: { smoothGrad: { samples: 4, noise: 0.1, seed: 1 } } },
];
const WEIGHT_SEED = 7;
/** Maps are in [0, 1]; fp32 activations through 16–94 layers and a head gradient in another order stay far inside this. */
const TOLERANCE: Tolerance = { rtol: 1e-3, atolOfMax: 1e-3 };

/** One record of bench/results/<adapter>/cam[-quick].json. */
export interface CamRecord {
  model: string;
  size: number;
  batch: number;
  method: string;
  layer: CamLayerInfo;
  /** Median ms per batch: host data uploaded, map computed, up-sampled map read back; null: failed or not run. */
  ms: Partial<Record<System, number | null>>;
  /** camlight's forward on the same batch: upload, predict, softmax read back. */
  forwardMs?: { camlight: number | null };
  /** tfjs-webgpu ms / camlight ms (target ≥ 2) and camlight Grad-CAM ms / forward ms (target ≤ 1.3). */
  ratios?: { webgpuOverCamlight: number | null; camOverForward: number | null };
  /** camlight Grad-CAM and forward timed alternately (cam, forward, cam, …): each pair's cam/forward, in order. */
  pairedCamOverForward?: number[];
  /** This method's ms / Grad-CAM's ms, same model, size and batch (camlight). */
  relative?: number | null;
  smoothGrad?: { samples: number; noise: number };
  /** Timed runs per system ('camlight-forward': camlight's forward), as many as the budget allowed. */
  samples: Record<string, number>;
  /** Every timed run's ms, the budget and the time spent, per system (for `bench compare`). */
  timing: Record<string, ReturnType<typeof timingRecord>>;
  reference?: string;
  maxAbsDiff?: Partial<Record<System, number>>;
  notes?: Partial<Record<System, string>>;
  /** --profile: camlight's Grad-CAM and forward per op kind (bench/profile.ts). */
  profile?: { cam: ProfileSummary; forward: ProfileSummary };
}

interface Row {
  rec: CamRecord;
  input: Float32Array;
  ref: { up: Float32Array; map: Float32Array; targets: number[] } | null;
}

class Mismatch extends Error {
  override name = 'MISMATCH';
}

const errText = (e: unknown) => (e instanceof Error ? `${e.name === 'Error' ? '' : e.name + ': '}${e.message}` : String(e));
const fmtMs = (v: number | null | undefined, note?: string) => (note ? 'FAIL' : v == null ? '—' : v >= 100 ? v.toFixed(0) : v.toFixed(1));
const sec = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(0)} s`;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Targets, layer-resolution maps and up-sampled maps against the reference; throws naming the first difference. */
function check(sys: System, row: Row, got: { up: Float32Array; map: Float32Array; targets: number[] }): void {
  const ref = row.ref!;
  const r = row.rec;
  const what = `${sys} ${r.model} ${r.size}² b${r.batch} vs ${r.reference}`;
  if (got.targets.join() !== ref.targets.join()) throw new Mismatch(`${what}: top-1 classes ${got.targets.join(',')}, reference ${ref.targets.join(',')}`);
  (r.maxAbsDiff ??= {})[sys] = maxAbs(got.up, ref.up);
  const bad = mismatch(got.map, ref.map, TOLERANCE);
  if (bad) throw new Mismatch(`${what}, map at ${r.layer.name}: ${bad}`);
  const badUp = mismatch(got.up, ref.up, TOLERANCE);
  if (badUp) throw new Mismatch(`${what}, up-sampled map: ${badUp}`);
}

/** Fewest Grad-CAM/forward pairs a full run times per row (a quick run: 1). */
const CAM_MIN_PAIRS_FULL = 3;

/** This run's budget per measurement and its progress line (set by run()). */
let timer = { budgetMs: 0, progress: new Progress([]), profile: false, minPairs: CAM_MIN_PAIRS_FULL };

/**
 * Median ms of calls of `fn` (each resolves once its result is on the host) within the budget,
 * at least one; records the samples as `rec`'s `key` and prints the progress line.
 */
async function timeRuns(fn: () => Promise<unknown>, rec: CamRecord, key: string): Promise<number> {
  const t: Timing = await timeCalls(fn, timer.budgetMs);
  rec.samples[key] = t.samples;
  rec.timing[key] = timingRecord(t);
  timer.progress.step(`${key.padEnd(11)} ${rec.model} ${rec.size}² b${rec.batch} ${rec.method}: ${t.ms.toFixed(0)} ms (median of ${t.samples} in ${(t.spentMs / 1000).toFixed(1)} s)`);
  return t.ms;
}

/** One tfjs Grad-CAM: upload, compute, read the up-sampled map back (plus, when asked, what the check needs). */
async function tfOnce(pm: TfCamModel, c: CamCase, row: Row, full: boolean) {
  const x = tf.tensor4d(row.input, [row.rec.batch, c.size, c.size, 3]);
  const r = tfGradCam(pm, x, [c.size, c.size]);
  try {
    const up = (await r.up.data()) as Float32Array;
    if (!full) return null;
    return { up, map: (await r.map.data()) as Float32Array, targets: Array.from(await r.target.data()) };
  } finally {
    tf.dispose([x, r.map, r.up, r.target]);
  }
}

/** tfjs-wasm gives the reference maps (its first run) and, when asked, its own times. */
async function runWasm(c: CamCase, m: Model, w: HostWeights, rows: Row[], time: boolean): Promise<void> {
  await usePeer('tfjs-wasm');
  const pm = await tfCamModel(m, w, c.layer);
  try {
    for (const row of rows) {
      const t0 = performance.now();
      const ref = (await tfOnce(pm, c, row, true))!;
      // A map that is all zeros (or a single hot spot) would make the check vacuous.
      const hw = ref.map.length / row.rec.batch;
      const positive = ref.map.filter((v) => v > 0).length / ref.map.length;
      for (let i = 0; i < row.rec.batch; i++) {
        if (ref.map.subarray(i * hw, (i + 1) * hw).filter((v) => v > 0).length < 2) {
          throw new Error(`the reference map of image ${i} has fewer than 2 positive values: the check would mean nothing`);
        }
      }
      row.ref = ref;
      timer.progress.step(`reference   ${c.model} ${c.size}² b${row.rec.batch} (tfjs-wasm, ${sec(t0)}): top-1 ${ref.targets.join(',')}, ${(100 * positive).toFixed(0)} % of map values > 0`);
      if (!time) continue;
      row.rec.ms['tfjs-wasm'] = await timeRuns(() => tfOnce(pm, c, row, false), row.rec, 'tfjs-wasm');
    }
  } finally {
    pm.dispose();
  }
}

async function runWebgpu(c: CamCase, m: Model, w: HostWeights, rows: Row[]): Promise<void> {
  await usePeer('tfjs-webgpu');
  const pm = await tfCamModel(m, w, c.layer);
  try {
    for (const row of rows) {
      if (!row.ref) continue;
      try {
        const got = await withGpuErrors(() => tfOnce(pm, c, row, true));
        check('tfjs-webgpu', row, got!);
        row.rec.ms['tfjs-webgpu'] = await timeRuns(() => tfOnce(pm, c, row, false), row.rec, 'tfjs-webgpu');
      } catch (e) {
        (row.rec.notes ??= {})['tfjs-webgpu'] = errText(e);
        loud(`tfjs-webgpu ${c.model} b${row.rec.batch} has no time: ${errText(e)}`);
        timer.progress.step(`tfjs-webgpu ${c.model} ${c.size}² b${row.rec.batch}: no time (see above)`);
      }
    }
  } finally {
    pm.dispose();
  }
}

/** One camlight CAM of a host batch: upload, cam() (which reads the maps back), the maps as flat arrays. */
async function camlightOnce(m: Model, c: CamCase, input: Float32Array, batch: number, opts: CamOptions) {
  const x = upload(input, [batch, c.size, c.size, 3]);
  try {
    const r = await cam(m, x, { upsample: true, ...opts });
    const cat = (get: (i: (typeof r.images)[number]) => Float32Array) => {
      const parts = r.images.map(get);
      const out = new Float32Array(parts.reduce((s, p) => s + p.length, 0));
      let o = 0;
      for (const p of parts) {
        out.set(p, o);
        o += p.length;
      }
      return out;
    };
    return { up: cat((i) => i.upsampled!.values), map: cat((i) => i.map.values), targets: r.images.map((i) => i.target), layer: r.layer };
  } finally {
    x.dispose();
  }
}

async function forwardOnce(m: Model, c: CamCase, input: Float32Array, batch: number): Promise<void> {
  const x = upload(input, [batch, c.size, c.size, 3]);
  const y = m.predict(x);
  await y.data();
  y.dispose();
  x.dispose();
}

async function runCamlight(c: CamCase, m: Model, rows: Row[]): Promise<number> {
  let failures = 0;
  for (const row of rows) {
    const b = row.rec.batch;
    if (!row.ref) continue;
    try {
      const t0 = performance.now();
      const got = await camlightOnce(m, c, row.input, b, { method: 'gradcam' });
      if (got.layer.name !== c.layer) throw new Error(`cam() used layer '${got.layer.name}', the peers '${c.layer}'`);
      check('camlight', row, got);
      console.log(`camlight    ${c.model} ${c.size}² b${b}: checked in ${sec(t0)} (max |Δ up-sampled| ${row.rec.maxAbsDiff!.camlight!.toExponential(1)})`);
      // Warm the untaped forward's pipelines once (batch 1 compiles them; batch 8 reuses them).
      if (b === 1) await forwardOnce(m, c, row.input, b);
      // Grad-CAM and forward alternate, so that their ratio compares the same machine state
      // (bench/NOTES.md, "Grad-CAM / forward"): each gets the budget, as when timed apart.
      // At least timer.minPairs pairs, over budget if need be: one pair of VGG-19 batch 8 read
      // 2.37 where three right after read 0.80-0.96 (bench/NOTES.md, "Idle full run of 2026-11-29").
      const p = await timePaired(() => camlightOnce(m, c, row.input, b, { method: 'gradcam' }), () => forwardOnce(m, c, row.input, b), 2 * timer.budgetMs, 9, undefined, timer.minPairs);
      for (const [key, t] of [['camlight', p.a], ['camlight-forward', p.b]] as const) {
        row.rec.samples[key] = t.samples;
        row.rec.timing[key] = timingRecord(t);
        timer.progress.step(`${key.padEnd(11)} ${row.rec.model} ${row.rec.size}² b${b} ${row.rec.method}: ${t.ms.toFixed(0)} ms (median of ${t.samples}, alternating)`);
      }
      row.rec.ms.camlight = p.a.ms;
      row.rec.forwardMs = { camlight: p.b.ms };
      row.rec.pairedCamOverForward = p.ratios.map((r) => Number(r.toPrecision(4)));
      console.log(`camlight    ${c.model} ${c.size}² b${b}: Grad-CAM ${row.rec.ms.camlight.toFixed(0)} ms, forward ${row.rec.forwardMs.camlight!.toFixed(0)} ms, cam/forward per pair ${row.rec.pairedCamOverForward.join(', ')} (median ${p.ratio.toFixed(2)})`);
      if (timer.profile) {
        const rt = await init();
        const what = `camlight ${c.model} ${c.size}² b${b}`;
        row.rec.profile = {
          cam: await profilePass(rt, `${what} Grad-CAM`, async () => void (await camlightOnce(m, c, row.input, b, { method: 'gradcam' })), row.rec.ms.camlight),
          forward: await profilePass(rt, `${what} forward`, () => forwardOnce(m, c, row.input, b), row.rec.forwardMs.camlight),
        };
      }
    } catch (e) {
      failures++;
      (row.rec.notes ??= {}).camlight = errText(e);
      loud(`${e instanceof Mismatch ? '' : 'ERROR: '}camlight ${c.model} b${b}: ${errText(e)}`);
    }
  }
  return failures;
}

/** Other methods' ms relative to Grad-CAM's (camlight, batch 1, one warm-up then `repeats` timed). */
async function runMethods(c: CamCase, m: Model, input: Float32Array, gradcamMs: number, list: typeof OTHER_METHODS, warm: boolean): Promise<{ recs: CamRecord[]; failures: number }> {
  const recs: CamRecord[] = [];
  let failures = 0;
  const layer = layerInfo(m, autoLayer(m));
  for (const { label, method, opts } of list) {
    const rec: CamRecord = { model: c.model, size: c.size, batch: 1, method: label, layer, ms: { camlight: null }, relative: null, samples: {}, timing: {} };
    if (opts?.smoothGrad) rec.smoothGrad = { samples: opts.smoothGrad.samples, noise: opts.smoothGrad.noise };
    try {
      const once = () => camlightOnce(m, c, input, 1, { method, ...opts });
      if (warm) await once();
      const ms = await timeRuns(once, rec, 'camlight');
      rec.ms.camlight = ms;
      rec.relative = ms / gradcamMs;
      console.log(`camlight    ${c.model} ${c.size}² b1 ${label}: ${ms.toFixed(0)} ms = ${rec.relative.toFixed(2)}× Grad-CAM`);
    } catch (e) {
      failures++;
      rec.notes = { camlight: errText(e) };
      loud(`ERROR: camlight ${label} on ${c.model} ${c.size}²: ${errText(e)}`);
    }
    recs.push(rec);
  }
  return { recs, failures };
}

/** Grad-CAM and Score-CAM on VGG-19 at 32² (block5_conv4, 2×2×512: 512 masked forwards in batches of 16). */
async function runSmall(quick: boolean): Promise<{ recs: CamRecord[]; failures: number }> {
  const c = SMALL;
  const m = c.build();
  try {
    m.setWeights(heWeights(m, WEIGHT_SEED));
    const input = uniform(c.size * c.size * 3, 301, -1, 1);
    const once = () => camlightOnce(m, c, input, 1, { method: 'gradcam' });
    await once();
    const layer = layerInfo(m, autoLayer(m));
    const base: CamRecord = { model: c.model, size: c.size, batch: 1, method: 'gradcam', layer, ms: { camlight: null }, relative: 1, samples: {}, timing: {} };
    const ms = await timeRuns(once, base, 'camlight');
    base.ms.camlight = ms;
    console.log(`camlight    ${c.model} ${c.size}² b1 gradcam: ${ms.toFixed(0)} ms (layer ${layer.name} ${layer.height}×${layer.width}×${layer.channels})`);
    const list = quick ? OTHER_METHODS : [{ label: 'scorecam', method: 'scorecam' as const }];
    // One run each, no separate warm-up: Score-CAM's passes reuse the forward pipelines Grad-CAM compiled.
    const r = await runMethods(c, m, input, ms, list, false);
    return { recs: [base, ...r.recs], failures: r.failures };
  } finally {
    m.dispose();
  }
}

function printResults(adapter: string, main: CamRecord[], rel: CamRecord[]): void {
  console.log(`\nGrad-CAM end to end on ${adapter}, ms per batch (median; host data in, up-sampled map read back)`);
  console.log(`vs webgpu = tfjs-webgpu ms / camlight ms (target ≥ 2×); cam/fwd = camlight Grad-CAM ms / camlight forward ms (target ≤ 1.3×)`);
  printTable(
    ['model', 'input', 'batch', 'layer', 'camlight', 'forward', 'tfjs-webgpu', 'tfjs-wasm', 'vs webgpu', '≥2×', 'cam/fwd', '≤1.3×', 'vs wasm'],
    main.map((r) => {
      const { webgpuOverCamlight: vw, camOverForward: cf } = r.ratios!;
      return [
        r.model, `${r.size}²`, String(r.batch), `${r.layer.name} ${r.layer.height}×${r.layer.width}`,
        fmtMs(r.ms.camlight, r.notes?.camlight), fmtMs(r.forwardMs?.camlight), fmtMs(r.ms['tfjs-webgpu'], r.notes?.['tfjs-webgpu']), fmtMs(r.ms['tfjs-wasm'], r.notes?.['tfjs-wasm']),
        vw == null ? '—' : `${vw.toFixed(2)}×`, vw == null ? '—' : vw >= 2 ? 'yes' : 'no', cf == null ? '—' : `${cf.toFixed(2)}×`, cf == null ? '—' : cf <= 1.3 ? 'yes' : 'no',
        fmtRatio(r.ms['tfjs-wasm'], r.ms.camlight),
      ];
    }),
    ['left', 'left', 'right', 'left'],
  );
  if (rel.length) {
    console.log(`\nOther methods, camlight, batch 1: ms and ms / Grad-CAM ms on the same model and input`);
    printTable(
      ['model', 'input', 'layer', 'method', 'ms', '× Grad-CAM', 'timed'],
      rel.map((r) => [r.model, `${r.size}²`, `${r.layer.name} ${r.layer.height}×${r.layer.width}×${r.layer.channels}`, r.method, fmtMs(r.ms.camlight, r.notes?.camlight), r.relative == null ? '—' : `${r.relative.toFixed(2)}×`, String(r.samples.camlight ?? '–')]),
      ['left', 'left', 'left', 'left'],
    );
  }
}

async function run(opts: SuiteOptions): Promise<number> {
  const rt = await init();
  if (opts.wait !== 'auto') rt.setWaitMode(opts.wait);
  const t0 = performance.now();
  const has = (s: System) => opts.systems.includes(s);
  const cases = opts.quick ? CASES.filter((c) => c.model === 'inceptionV3') : CASES;
  const batches = opts.quick ? [1] : [1, 8];
  console.log(`adapter: ${rt.adapterName}`);
  for (const s of opts.systems) if (s !== 'camlight') console.log(`${s}: ${await describePeer(s)}`);
  console.log(`weights: seeded He-uniform (bench/model-setup.ts), the same in every system; input uniform in [-1, 1]; target: top-1`);
  console.log(`camlight: upload(host) → cam(model, x, { method: 'gradcam', upsample: true }) (maps read back inside cam())`);
  console.log(`tfjs: tf.tensor(host) → [layer, softmax] = predict → valueAndGrad(logit of argmax) through the layers after the cut → mean, Σ, ReLU, ÷max → resizeBilinear(halfPixelCenters) → data() (bench/cam-tfjs.ts)`);
  console.log(`timing: one checked run (warm-up), then the median of as many runs as fit in ${opts.budgetS} s (--budget; at least 1, at most 9)`);
  console.log(`check: top-1 classes equal, maps (layer resolution and up-sampled) vs tfjs-wasm, ${describeTolerance(TOLERANCE)}\n`);

  const main: CamRecord[] = [];
  const rel: CamRecord[] = [];
  let failures = 0;
  // Progress weights in seconds (forward GFLOP per image as forwardFlops counts them, 2 per
  // multiply-add): a Grad-CAM is ~3 forwards; a reference at ~10 GFLOP/s, a
  // measurement = its budget + a checked run at ~5; methods ~3 s + budget; Score-CAM ~30 s.
  const gflopPerImage: Record<CamCase['model'], number> = { inceptionV3: 11.4, vgg19: 39.3 };
  const B = opts.budgetS;
  const weights = [
    ...cases.flatMap((c) => batches.flatMap((b) => {
      const g = 3 * b * gflopPerImage[c.model];
      return [g / 10, ...(has('tfjs-wasm') ? [B + g / 10] : []), ...(has('camlight') ? [B + g / 5, B + g / 15] : []), ...(has('tfjs-webgpu') ? [B + g / 2] : [])];
    })),
    ...(has('camlight') && !opts.quick ? OTHER_METHODS.map(() => B + 3) : []),
    ...(has('camlight') ? [B + 1, ...(opts.quick ? OTHER_METHODS.map(() => B + 1) : [30])] : []),
  ];
  timer = { budgetMs: 1000 * B, progress: new Progress(weights, console.log, t0), profile: opts.profile, minPairs: opts.quick ? 1 : CAM_MIN_PAIRS_FULL };
  for (const c of cases) {
    const phase = performance.now();
    const m = c.build();
    const w = heWeights(m, WEIGHT_SEED);
    m.setWeights(w);
    const auto = autoLayer(m);
    if (auto !== c.layer) {
      failures++;
      loud(`cam 'auto' picks '${auto}' on ${c.model} at ${c.size}², expected '${c.layer}' (src/cam/layer-select.ts)`);
    }
    const layer = layerInfo(m, c.layer);
    console.log(`${c.model} ${c.size}×${c.size}: layer ${layer.name} ${layer.height}×${layer.width}×${layer.channels}; built and loaded in ${sec(phase)}`);
    const rows: Row[] = batches.map((b) => ({
      input: uniform(b * c.size * c.size * 3, 200 + b, -1, 1),
      ref: null,
      rec: {
        model: c.model, size: c.size, batch: b, method: 'gradcam', layer,
        ms: { camlight: null, 'tfjs-webgpu': null, 'tfjs-wasm': null }, forwardMs: { camlight: null },
        samples: {}, timing: {}, reference: 'tfjs-wasm',
      },
    }));
    try {
      try {
        await runWasm(c, m, w, rows, has('tfjs-wasm'));
      } catch (e) {
        loud(`ERROR: the reference (tfjs-wasm) failed on ${c.model}: ${errText(e)}; nothing of this model can be checked`);
      }
      for (const r of rows) {
        if (r.ref) continue;
        failures++;
        r.rec.notes = { 'tfjs-wasm': 'reference failed; nothing checked or timed' };
      }
      if (has('camlight')) {
        failures += await runCamlight(c, m, rows);
        const b1 = rows.find((r) => r.rec.batch === 1)!;
        if (!opts.quick && c.model === METHODS_CASE && b1.rec.ms.camlight) {
          const r = await runMethods(c, m, b1.input, b1.rec.ms.camlight, OTHER_METHODS, true);
          rel.push(...r.recs);
          failures += r.failures;
        }
      }
    } finally {
      m.dispose();
      rt.pool.trim();
    }
    if (has('tfjs-webgpu')) {
      try {
        await runWebgpu(c, m, w, rows);
      } catch (e) {
        for (const r of rows) (r.rec.notes ??= {})['tfjs-webgpu'] = errText(e);
        loud(`tfjs-webgpu could not build ${c.model}: ${errText(e)}`);
      }
    }
    for (const { rec: r } of rows) {
      const cl = r.ms.camlight ?? null, wg = r.ms['tfjs-webgpu'] ?? null, fw = r.forwardMs?.camlight ?? null;
      // cam/forward: the median of the alternating pairs' ratios (not a ratio of two medians).
      const paired = r.pairedCamOverForward?.length ? median(r.pairedCamOverForward) : null;
      r.ratios = { webgpuOverCamlight: cl && wg ? wg / cl : null, camOverForward: paired ?? (cl && fw ? cl / fw : null) };
      main.push(r);
    }
    console.log(`${c.model} done in ${sec(phase)}\n`);
  }
  if (has('camlight')) {
    const phase = performance.now();
    const r = await runSmall(opts.quick);
    rel.push(...r.recs);
    failures += r.failures;
    console.log(`${SMALL.model} ${SMALL.size}² methods done in ${sec(phase)}`);
  }

  printResults(rt.adapterName, main, rel);
  const notes = main.flatMap((r) => Object.entries(r.notes ?? {}).map(([s, n]) => `${r.model} b${r.batch} ${s}: ${n}`));
  if (notes.length) console.log(`\nnotes:\n  ${notes.join('\n  ')}`);
  console.log(`total ${sec(t0)}`);
  const file = writeRun('cam', rt.adapterName, [...main, ...rel], { tolerance: describeTolerance(TOLERANCE) }, deviceAdapterInfo(rt.device));
  console.log(`results written to ${file}`);
  return failures;
}

export const suite: Suite = {
  name: 'cam',
  describe: 'Grad-CAM end to end, VGG-19 (224²) and InceptionV3 (299²), batch 1 and 8, camlight vs TensorFlow.js; other methods relative to Grad-CAM',
  defaultBudgetS: { full: 8, quick: 1 },
  run,
};
