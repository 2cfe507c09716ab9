// The CAM pipeline every method shares, as named steps: resolve (options, method, layer,
// targets), fix targets on the host when needed, run the method (its own run or the shared
// gradient path in paths.ts), smooth (SmoothGrad), up-sample, read back only the final maps and
// the top classes in one read, and assemble the results. A method supplies only its pass
// (methods/README.md); nothing here switches over methods.
import { ShapeError } from '../gpu/errors.ts';
import { normalizeMaps } from '../kernels/cam.ts';
import { add, mul } from '../kernels/elementwise.ts';
import type { Model } from '../nn/model.ts';
import { empty, scopeAsync, upload, type Tensor } from '../tensor/tensor.ts';
import { rng } from '../nn/model-init.ts';
import { inputLayerName, layerInfo, resolveLayers } from './layer-select.ts';
import { getMethod } from './methods/index.ts';
import { forward, layerGradientMaps, upsample } from './paths.ts';
import { planTargets, rowsPerImage, scoreHead, type Head, type TargetPlan } from './targets.ts';
import type { CamImageResult, CamLayerInfo, CamMethod, CamOptions, CamResult, CamRunContext, CamRunOutput, Maps, Top } from './types.ts';

/** Everything cam() resolves from its arguments before any device work. R = N·K result rows. */
interface Job {
  model: Model;
  head: Head;
  method: CamMethod;
  /** x:(N,H,W,C) */
  x: Tensor;
  N: number;
  size: [number, number];
  /** The targets as asked for; K maps per image; kk classes per topk list. */
  plan: TargetPlan;
  K: number;
  kk: number;
  /** The CAM layers (empty for methods that read the input's gradient) and what the result reports. */
  layers: string[];
  layer: CamLayerInfo;
  warnings: string[];
  smoothGrad: { samples: number; noise: number; seed?: number } | undefined;
  options: CamRunContext['options'];
  upsample: boolean | undefined;
  labels: string[] | undefined;
}

/** The targets a pass runs with, and the top classes when they were computed before the pass. */
interface Targets {
  plan: TargetPlan;
  /** Row r's class (R), when known on the host. */
  hostTargets: number[] | null;
  /** (N,kk) from a forward pass before the method's, or null. */
  top: Top | null;
}

/** Step 1a: SmoothGrad's, Score-CAM's and Eigen-CAM's options, checked. */
function checkOptions(opts: CamOptions): Pick<Job, 'smoothGrad' | 'options'> {
  const sg = opts.smoothGrad;
  if (sg && (!Number.isInteger(sg.samples) || sg.samples < 1 || !(sg.noise >= 0))) {
    throw new Error(`smoothGrad: samples (${sg.samples}) must be a positive integer and noise (${sg.noise}) ≥ 0`);
  }
  const scoreCamBatch = opts.scoreCamBatch ?? 16;
  if (!Number.isInteger(scoreCamBatch) || scoreCamBatch < 1) throw new Error(`scoreCamBatch ${scoreCamBatch} must be a positive integer`);
  const centring = opts.eigenCentring ?? 'centred';
  if (centring !== 'centred' && centring !== 'uncentred') throw new Error(`eigenCentring '${String(centring)}': use 'centred' (pytorch-grad-cam's Eigen-CAM) or 'uncentred' (the paper's Eq. 4)`);
  return { smoothGrad: sg, options: { scoreCamBatch, centred: centring === 'centred' } };
}

/** Step 1b: the CAM layers and the layer the result reports: the input for a method reading the input's gradient; several layers at the input size. */
function resolveLayer(model: Model, x: Tensor, method: CamMethod, layer: CamOptions['layer'], warnings: string[]): { layers: string[]; layer: CamLayerInfo } {
  const [, H, W, C] = x.shape as [number, number, number, number];
  if (method.needs === 'input-gradients') return { layers: [], layer: { name: inputLayerName(model), height: H, width: W, channels: C } };
  const layers = resolveLayers(model, layer ?? 'auto', warnings);
  const infos = layers.map((n) => layerInfo(model, n));
  const info = infos.length === 1 ? infos[0]! : { name: layers.join('+'), height: H, width: W, channels: infos.reduce((s, i) => s + i.channels, 0) };
  return { layers, layer: info };
}

/** Step 1: the method, the batch x:(N,H,W,C), the targets, the layer and the options, checked before any device work. */
function resolve(model: Model, x: Tensor, opts: CamOptions): Job {
  const method = getMethod(opts.method ?? 'gradcam');
  if (x.rank !== 4) throw new ShapeError(`cam: x (${x.shape.join(', ')}) must be a batch of preprocessed images (N,H,W,C)`);
  const [N, H, W] = x.shape as [number, number, number, number];
  const head = scoreHead(model);
  const classes = model.outputShape[1] as number;
  const plan = planTargets(opts.target, N, classes, opts.labels);
  const K = rowsPerImage(plan);
  const kk = Math.min(classes, Math.max(opts.topk ?? 5, K));
  const warnings: string[] = [];
  const { layers, layer } = resolveLayer(model, x, method, opts.layer, warnings);
  const checked = checkOptions(opts);
  return {
    model, head, method, x, N, size: [H, W], plan, K, kk, layers, layer, warnings: [...warnings, ...(method.warnings ?? [])],
    ...checked, upsample: opts.upsample, labels: opts.labels,
  };
}

/**
 * Step 2: targets on the host first when the pass needs them fixed (a method reading only
 * activations, e.g. Score-CAM's masked passes; SmoothGrad's noisy copies must explain the clean
 * image's classes) or reports them without a tape (Eigen-CAM). top:(N,kk); hostTargets:(R).
 */
async function fixTargets(job: Job): Promise<Targets> {
  const { plan, N, K, kk } = job;
  const hostTargets = plan.kind === 'fixed' ? plan.classes : null;
  if (!job.smoothGrad && job.method.needs !== 'activations') return { plan, hostTargets, top: null };
  const top = forward(job.model, job.head, job.x, [], kk).top;
  if (plan.kind !== 'top') return { plan, hostTargets, top };
  const [idx] = await readBack([top.indices]);
  const fixed = Array.from({ length: N * K }, (_, r) => idx![Math.floor(r / K) * kk + (r % K)]!);
  return { plan: { kind: 'fixed', classes: fixed, perImage: K }, hostTargets: fixed, top };
}

/** Step 3: one pass of the method on x:(N,H,W,C): maps (R,h,w) and, from a taped pass, top (R,kk). */
async function runMethod(job: Job, x: Tensor, t: Targets): Promise<CamRunOutput> {
  const { method } = job;
  const ctx: CamRunContext = {
    model: job.model, head: job.head, x, plan: t.plan, hostTargets: t.hostTargets, layers: job.layers, size: job.size,
    K: job.K, kk: job.kk, options: job.options, method,
  };
  // No run of its own: the shared gradient path with the method's weighting (defineCamMethod
  // guarantees one).
  const out = method.run ? await method.run(ctx) : layerGradientMaps(ctx, method.weighting!);
  const R = job.N * job.K, shape = out?.maps?.map?.shape ?? [];
  if (shape.length !== 3 || shape[0] !== R || out.maps.peak?.size !== R || (out.top && out.top.indices.shape[0] !== R)) {
    throw new ShapeError(`CAM method '${method.name}': its run returned maps (${shape.join(',')}) and peaks (${out?.maps?.peak?.shape.join(',')}); expected (${R},h,w) and (${R}): one row per image and target (src/cam/methods/README.md)`);
  }
  return out;
}

/**
 * Step 4, SmoothGrad (Smilkov et al. 2017, Eq. 3): the mean of the un-normalised maps over noisy
 * copies x + N(0, σ²), σ = noise·(max − min) of each image; normalised once at the end. (R,h,w).
 */
async function smooth(job: Job, t: Targets): Promise<Maps> {
  const sg = job.smoothGrad!;
  const { x, N } = job;
  const xs = await x.data();
  const per = xs.length / N;
  const sigma = Array.from({ length: N }, (_, n) => {
    let lo = Infinity, hi = -Infinity;
    for (let i = n * per; i < (n + 1) * per; i++) { lo = Math.min(lo, xs[i]!); hi = Math.max(hi, xs[i]!); }
    return sg.noise * (hi - lo);
  });
  let acc: Tensor | null = null;
  for (let s = 0; s < sg.samples; s++) {
    const noise = smoothGradNoise(xs.length, sg.seed ?? 1, s);
    for (let i = 0; i < noise.length; i++) noise[i] = xs[i]! + sigma[Math.floor(i / per)]! * noise[i]!;
    // The map times its peak: the un-normalised map (R,h,w).
    const raw = await scopeAsync(async () => {
      const r = await runMethod(job, upload(noise, x.shape), t);
      return mul(r.maps.map, r.maps.peak.reshape([r.maps.peak.size, 1, 1]));
    });
    const next: Tensor = acc ? add(acc, raw) : raw;
    if (acc) {
      acc.dispose();
      raw.dispose();
    }
    acc = next;
  }
  return normalizeMaps(acc!);
}

/** Step 5: map (R,h,w) → (R,H,W) when asked for and the sizes differ; null otherwise. */
function upsampleMaps(job: Job, map: Tensor): Tensor | null {
  const [, mh, mw] = map.shape as [number, number, number];
  const [H, W] = job.size;
  return job.upsample !== false && (mh !== H || mw !== W) ? upsample(map, job.size) : null;
}

/**
 * SmoothGrad's noise for sample `sample` of a run with `seed`: n seeded standard normal values
 * (Mulberry32 + Box–Muller), exported so a caller (or a test) can reproduce the noisy copies.
 * @example
 *   const z = smoothGradNoise(x.size, 1, 0);   // the first copy is x + σ·z
 */
export function smoothGradNoise(n: number, seed: number, sample: number): Float32Array {
  return gaussian(n, seed * 1000003 + sample);
}

/** Seeded standard normal values (Mulberry32 + Box–Muller). */
function gaussian(n: number, seed: number): Float32Array {
  const r = rng(seed);
  // Shifted by half a step into (0, 1), so log(u) is finite (exactly: 32-bit integers / 2³²).
  const u = () => r() + 0.5 / 4294967296;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(u())), th = 2 * Math.PI * u();
    out[i] = r * Math.cos(th);
    if (i + 1 < n) out[i + 1] = r * Math.sin(th);
  }
  return out;
}

/** Step 6: several tensors read back in one copy and one wait. */
async function readBack(ts: Tensor[]): Promise<Float32Array[]> {
  const rt = ts[0]!.runtime;
  const total = ts.reduce((s, t) => s + t.size, 0);
  const packed = empty([Math.max(total, 1)], rt, 'cam.readback');
  try {
    let o = 0;
    for (const t of ts) {
      if (t.size) rt.copy(t.buffer, packed.buffer, t.byteLength, 0, o * 4);
      o += t.size;
    }
    const all = await packed.data();
    let p = 0;
    return ts.map((t) => all.subarray(p, (p += t.size)));
  } finally {
    packed.dispose();
  }
}

/**
 * Step 7: one result per row r = image·K + k: its target, the image's top classes (top rows are
 * per image when `rowsOfTop` is 1, per row when K), the map (R,h,w) and the up-sampled map (R,H,W).
 */
function assemble(job: Job, t: Targets, rowsOfTop: number, map: { R: number; h: number; w: number; values: Float32Array }, top: { values: Float32Array; indices: Float32Array }, up: Float32Array | undefined): CamResult {
  const { K, kk, labels } = job;
  const [H, W] = job.size;
  const { h: mh, w: mw } = map;
  const images = Array.from({ length: map.R }, (_, r): CamImageResult => {
    const img = Math.floor(r / K);
    const tr = rowsOfTop === 1 ? img : r;
    const topk = Array.from({ length: kk }, (_, j) => {
      const index = top.indices[tr * kk + j]!;
      return { index, ...(labels?.[index] !== undefined ? { label: labels[index] } : {}), prob: top.values[tr * kk + j]! };
    });
    const target = t.hostTargets ? t.hostTargets[r]! : topk[r % K]!.index;
    const m = { height: mh, width: mw, values: map.values.slice(r * mh * mw, (r + 1) * mh * mw) };
    const res = { image: img, target, topk, map: m };
    if (job.upsample === false) return res;
    const upsampled = up ? { height: H, width: W, values: up.slice(r * H * W, (r + 1) * H * W) } : { ...m, values: m.values.slice() };
    return { ...res, upsampled };
  });
  return { method: job.method.name, layer: job.layer, images, warnings: [...job.warnings, ...zeroMapWarnings(job, images)] };
}

/**
 * A map that is zero everywhere carries no evidence (for Grad-CAM: the class-weighted sum of the
 * layer's channels is negative or zero at every position, and the ReLU removes all of it). It is
 * easy to misread as "the model looks nowhere", so it is named, never silent.
 */
function zeroMapWarnings(job: Job, images: CamImageResult[]): string[] {
  const zero = images.filter((im) => !im.map.values.some((v) => v > 0));
  if (!zero.length) return [];
  const which = zero.slice(0, 4).map((im) => `image ${im.image} class ${job.labels?.[im.target] ?? im.target}`).join(', ');
  const more = zero.length > 4 ? ` and ${zero.length - 4} more` : '';
  return [`${job.method.name}: the map of ${which}${more} is zero everywhere at layer '${job.layer.name}': nothing positive is left after the method's ReLU, so it shows no evidence (not an absence of it); try an earlier layer, or hirescam / gradcam-elementwise, which keep each position's sign`];
}

/**
 * Class activation maps for a batch of preprocessed images: one normalised map per (image,
 * target) at the layer's resolution, optionally up-sampled to the input size, with the layer,
 * the model's top classes and any warnings. `method` is a built-in name or a CamMethod
 * (methods/README.md).
 * @example
 *   const r = await cam(model, x, { method: 'gradcam', layer: 'auto', target: { topK: 3 } });
 *   r.images[0].map.values;   // Float32Array of 7·7 values in [0, 1]
 */
// x:(N,H,W,C) → N·K results, each map (h,w) at the layer and (H,W) up-sampled
export async function cam(model: Model, x: Tensor, opts: CamOptions = {}): Promise<CamResult> {
  const job = resolve(model, x, opts);
  return scopeAsync(async () => {
    const t = await fixTargets(job);
    const pass = job.smoothGrad ? { maps: await smooth(job, t), top: null } : await runMethod(job, x, t);
    // Top classes: from the host-targets forward (one row per image), else from the method's own
    // taped pass (one per result row), else (a run that returned none) from a forward now.
    const rowsOfTop = t.top || !pass.top ? 1 : job.K;
    const top = t.top ?? pass.top ?? forward(model, job.head, x, [], job.kk).top;
    const up = upsampleMaps(job, pass.maps.map);
    const [mapV, topV, topI, upV] = await readBack([pass.maps.map, top.values, top.indices, ...(up ? [up] : [])]);
    const [R, h, w] = pass.maps.map.shape as [number, number, number];
    return assemble(job, t, rowsOfTop, { R, h, w, values: mapV! }, { values: topV!, indices: topI! }, upV);
  });
}

/** Grad-CAM (Selvaraju et al. 2017): cam() with method 'gradcam'. */
export const gradCam = (model: Model, x: Tensor, opts: Omit<CamOptions, 'method'> = {}) => cam(model, x, { ...opts, method: 'gradcam' });
