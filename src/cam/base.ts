// The CAM pipeline every method shares: checks the options, picks the layer and the targets,
// runs the method's device path (paths.ts), optionally averages over noisy copies (SmoothGrad),
// up-samples, and reads back only the final maps and the top classes, in one read.
import { ShapeError } from '../gpu/errors.ts';
import { normalizeMaps } from '../kernels/cam.ts';
import { add, mul } from '../kernels/elementwise.ts';
import type { Model } from '../nn/model.ts';
import { empty, scopeAsync, upload, type Tensor } from '../tensor/tensor.ts';
import { rng } from '../nn/model-init.ts';
import { inputLayerName, layerInfo, resolveLayers } from './layer-select.ts';
import { getMethod } from './methods/index.ts';
import { GUIDED_WARNING } from './methods/guided-gradcam.ts';
import { saliency } from './methods/saliency.ts';
import { gradcam } from './methods/gradcam.ts';
import { combineLayers, eigenGradMaps, eigenMaps, forward, gradientMaps, scoreMaps, upsample, type Maps, type Top } from './paths.ts';
import { planTargets, rowsPerImage, scoreHead, type Head, type TargetPlan } from './targets.ts';
import type { CamLayerInfo, CamMethod, CamOptions, CamResult } from './types.ts';

/** Everything a method's path needs, resolved once. */
interface Job {
  model: Model;
  head: Head;
  method: CamMethod;
  layers: string[];
  size: [number, number];
  kk: number;
  scoreCamBatch: number;
  centred: boolean;
}

/** One pass of the method on input x with the given targets: maps (R,h,w) and, when the pass computed them, the top classes per row. */
async function runMethod(job: Job, x: Tensor, plan: TargetPlan, hostTargets: number[] | null): Promise<{ maps: Maps; top: Top | null }> {
  const { model, head, method, layers, size, kk } = job;
  const K = rowsPerImage(plan);
  switch (method.kind) {
    case 'gradient': {
      // One taped pass per layer: the tape keeps the gradient of the first watched tensor only
      // (a later layer's output is an op's output on the same tape, its gradient freed on the way).
      const gs = layers.map((l) => gradientMaps(model, head, x, plan, [l], method.weighting, { kk }));
      return { maps: combineLayers(gs.map((g) => g.maps[0]!), size), top: gs[0]!.top };
    }
    case 'eigen-grad': {
      const reduce = (a: Tensor, g: Tensor) => eigenGradMaps(a, g, method.weighting, { centred: job.centred });
      const gs = layers.map((l) => gradientMaps(model, head, x, plan, [l], method.weighting, { kk, reduce }));
      return { maps: combineLayers(gs.map((g) => g.maps[0]!), size), top: gs[0]!.top };
    }
    case 'saliency': {
      const g = gradientMaps(model, head, x, plan, null, method.weighting, { kk });
      return { maps: g.maps[0]!, top: g.top };
    }
    case 'guided': {
      const cams = layers.map((l) => gradientMaps(model, head, x, plan, [l], gradcam.weighting, { kk }));
      const gb = gradientMaps(model, head, x, plan, null, saliency.weighting, { kk, guided: true });
      const up = upsample(combineLayers(cams.map((c) => c.maps[0]!), size).map, size);
      return { maps: normalizeMaps(mul(gb.maps[0]!.map, up)), top: cams[0]!.top };
    }
    case 'score':
    case 'eigen': {
      const { acts } = forward(model, head, x, layers, kk);
      const per: Maps[] = [];
      for (const a of acts) {
        per.push(method.kind === 'eigen' ? eigenMaps(a, K, method.weighting, { centred: job.centred }) : await scoreMaps(model, head, x, a, hostTargets!, K, job.scoreCamBatch, method.weighting));
      }
      return { maps: combineLayers(per, size), top: null };
    }
  }
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

/** Reads several tensors back in one copy and one wait. */
async function readAll(ts: Tensor[]): Promise<Float32Array[]> {
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
 * Class activation maps for a batch of preprocessed images: one normalised map per (image,
 * target) at the layer's resolution, optionally up-sampled to the input size, with the layer,
 * the model's top classes and any warnings.
 * @example
 *   const r = await cam(model, x, { method: 'gradcam', layer: 'auto', target: { topK: 3 } });
 *   r.images[0].map.values;   // Float32Array of 7·7 values in [0, 1]
 */
export async function cam(model: Model, x: Tensor, opts: CamOptions = {}): Promise<CamResult> {
  const method = getMethod(opts.method ?? 'gradcam');
  if (x.rank !== 4) throw new ShapeError(`cam: x (${x.shape.join(', ')}) must be a batch of preprocessed images (N,H,W,C)`);
  const [N, H, W] = x.shape as [number, number, number, number];
  const head = scoreHead(model);
  const classes = model.outputShape[1] as number;
  const plan = planTargets(opts.target, N, classes, opts.labels);
  const K = rowsPerImage(plan);
  const kk = Math.min(classes, Math.max(opts.topk ?? 5, K));
  const layerWarnings: string[] = [];
  const layers = method.kind === 'saliency' ? [] : resolveLayers(model, opts.layer ?? 'auto', layerWarnings);
  const sg = opts.smoothGrad;
  if (sg && (!Number.isInteger(sg.samples) || sg.samples < 1 || !(sg.noise >= 0))) {
    throw new Error(`smoothGrad: samples (${sg.samples}) must be a positive integer and noise (${sg.noise}) ≥ 0`);
  }
  const scoreCamBatch = opts.scoreCamBatch ?? 16;
  if (!Number.isInteger(scoreCamBatch) || scoreCamBatch < 1) throw new Error(`scoreCamBatch ${scoreCamBatch} must be a positive integer`);
  const centring = opts.eigenCentring ?? 'centred';
  if (centring !== 'centred' && centring !== 'uncentred') throw new Error(`eigenCentring '${String(centring)}': use 'centred' (pytorch-grad-cam's Eigen-CAM) or 'uncentred' (the paper's Eq. 4)`);
  const job: Job = { model, head, method, layers, size: [H, W], kk, scoreCamBatch, centred: centring === 'centred' };
  const warnings = [...layerWarnings, ...(method.kind === 'guided' ? [GUIDED_WARNING] : [])];

  let layer: CamLayerInfo;
  if (method.kind === 'saliency') layer = { name: inputLayerName(model), height: H, width: W, channels: x.shape[3]! };
  else {
    const infos = layers.map((n) => layerInfo(model, n));
    layer = infos.length === 1 ? infos[0]! : { name: layers.join('+'), height: H, width: W, channels: infos.reduce((s, i) => s + i.channels, 0) };
  }

  return scopeAsync(async () => {
    // Targets on the host first when a path needs them fixed (Score-CAM's masked passes,
    // SmoothGrad's noisy copies) or reports them without a tape (Eigen-CAM).
    let top: Top | null = null;
    let rowsOfTop = K; // rows of `top` per image: K when it came from the repeated batch, else 1
    let runPlan = plan;
    let hostTargets: number[] | null = plan.kind === 'fixed' ? plan.classes : null;
    if (sg || method.kind === 'score' || method.kind === 'eigen') {
      top = forward(model, head, x, [], kk).top;
      rowsOfTop = 1;
      if (plan.kind === 'top') {
        const [idx] = await readAll([top.indices]);
        hostTargets = Array.from({ length: N * K }, (_, r) => idx![Math.floor(r / K) * kk + (r % K)]!);
        runPlan = { kind: 'fixed', classes: hostTargets, perImage: K };
      }
    }
    let maps: Maps;
    if (!sg) {
      const r = await runMethod(job, x, runPlan, hostTargets);
      maps = r.maps;
      top ??= r.top;
    } else {
      // SmoothGrad (Smilkov et al. 2017, Eq. 3): the mean of the un-normalised maps over noisy
      // copies x + N(0, σ²), σ = noise·(max − min) of each image; normalised once at the end.
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
        const raw = await scopeAsync(async () => {
          const r = await runMethod(job, upload(noise, x.shape), runPlan, hostTargets);
          return mul(r.maps.map, r.maps.peak.reshape([r.maps.peak.size, 1, 1]));
        });
        const next: Tensor = acc ? add(acc, raw) : raw;
        if (acc) {
          acc.dispose();
          raw.dispose();
        }
        acc = next;
      }
      maps = normalizeMaps(acc!);
    }
    const [R, mh, mw] = maps.map.shape as [number, number, number];
    const wantUp = opts.upsample !== false && (mh !== H || mw !== W);
    const up = wantUp ? upsample(maps.map, [H, W]) : null;
    const reads = [maps.map, top!.values, top!.indices, ...(up ? [up] : [])];
    const [mapV, topV, topI, upV] = await readAll(reads);
    const images = Array.from({ length: R }, (_, r) => {
      const img = Math.floor(r / K);
      const tr = rowsOfTop === 1 ? img : r;
      const topk = Array.from({ length: kk }, (_, j) => {
        const index = topI![tr * kk + j]!;
        return { index, ...(opts.labels?.[index] !== undefined ? { label: opts.labels[index] } : {}), prob: topV![tr * kk + j]! };
      });
      const target = hostTargets ? hostTargets[r]! : topk[r % K]!.index;
      const map = { height: mh, width: mw, values: mapV!.slice(r * mh * mw, (r + 1) * mh * mw) };
      const res = { image: img, target, topk, map };
      if (opts.upsample === false) return res;
      const upsampled = upV ? { height: H, width: W, values: upV.slice(r * H * W, (r + 1) * H * W) } : { ...map, values: map.values.slice() };
      return { ...res, upsampled };
    });
    return { method: method.name, layer, images, warnings };
  });
}

/** Grad-CAM (Selvaraju et al. 2017): cam() with method 'gradcam'. */
export const gradCam = (model: Model, x: Tensor, opts: Omit<CamOptions, 'method'> = {}) => cam(model, x, { ...opts, method: 'gradcam' });
