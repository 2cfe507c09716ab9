// The device work behind each kind of CAM method: one taped forward and a backward that stops
// at the layer (gradient methods, saliency, guided backprop), masked forward passes in batches
// (Score-CAM), or a principal direction by power iteration (Eigen-CAM, and Eigen-Grad-CAM on the
// gradient-weighted activations). Each returns normalised
// maps (R,h,w) still on the device; nothing is read back here.
import { camReduce, normalizeMaps, oneHotRows, repeatRows, type CamWeighting } from '../kernels/cam.ts';
import { pickScores, powerIteration, scoreCamMasks, upsampledRange } from '../kernels/cam-aux.ts';
import { add, mul, mulScalar, sub } from '../kernels/elementwise.ts';
import { sum } from '../kernels/reduce.ts';
import { matmul } from '../kernels/matmul.ts';
import { resizeBilinear } from '../kernels/resize.ts';
import { softmax } from '../kernels/softmax.ts';
import { topk } from '../kernels/topk.ts';
import type { Model } from '../nn/model.ts';
import * as ops from '../nn/ops.ts';
import { valueAndGrad } from '../nn/tape.ts';
import { empty, keep, scope, upload, type Tensor } from '../tensor/tensor.ts';
import { withGuidedRelu } from './guided.ts';
import { rowsPerImage, type Head, type TargetPlan } from './targets.ts';
import type { CamRunContext, CamRunOutput, Maps, Top } from './types.ts';

export type { Maps, Top };

/** Host one-hot rows (R, classes) for fixed targets. */
function oneHotHost(classes: number[], n: number): Tensor {
  const m = new Float32Array(classes.length * n);
  classes.forEach((c, r) => { m[r * n + c] = 1; });
  return upload(m, [classes.length, n]);
}

/** Probabilities and top-k of a forward pass without a tape, plus the tapped layers' outputs. */
export function forward(model: Model, head: Head, x: Tensor, layers: string[], kk: number): { top: Top; acts: Tensor[] } {
  return scope(() => {
    const names = [...new Set([...layers, ...(head.tap ? [head.tap] : [])])];
    const { output, taps } = model.run(x, { taps: names });
    const top = topk(head.probs(output, head.logits(output, taps)), kk);
    return { top, acts: layers.map((n) => taps.get(n)!) };
  });
}

/**
 * One taped forward to the target score (Σ over rows of each row's target logit: rows do not
 * interact, so one backward gives every row its own gradient) and a backward that stops at the
 * watched layers (or runs to the input when `layers` is null). Returns per-layer reductions.
 */
export function gradientMaps(
  model: Model, head: Head, x: Tensor, plan: TargetPlan, layers: string[] | null, weighting: CamWeighting,
  opts: { guided?: boolean; kk: number; reduce?: (a: Tensor, g: Tensor) => Maps },
): { maps: Maps[]; top: Top } {
  const K = rowsPerImage(plan);
  const classes = model.outputShape[1] as number;
  return scope(() => {
    const xs = K > 1 ? repeatRows(x, K) : x;
    let acts: Tensor[] = [];
    let top: Top | null = null;
    const run = () => valueAndGrad(() => {
      const names = [...new Set([...(layers ?? []), ...(head.tap ? [head.tap] : [])])];
      const { output, taps } = model.run(xs, { taps: names });
      acts = (layers ?? []).map((n) => keep(taps.get(n)!));
      const logits = head.logits(output, taps);
      const t = topk(head.probs(output, logits), opts.kk);
      top = { values: keep(t.values), indices: keep(t.indices) };
      const mask = plan.kind === 'top' ? oneHotRows(t.indices, classes, K) : oneHotHost(plan.classes, classes);
      return ops.sumAll(ops.mul(logits, mask));
    }, layers ? [] : [xs]);
    const r = opts.guided ? withGuidedRelu(run) : run();
    try {
      const grads = layers ? acts.map((a) => r.watched.find((w) => w.tensor === a)!.grad) : [r.grads[0]!];
      const sources = layers ? acts : grads;
      const maps = sources.map((a, i) => {
        if (opts.reduce) return opts.reduce(a, grads[i]!);
        const { map, peak, weights } = camReduce(a, grads[i]!, weighting);
        weights.dispose();
        return { map, peak };
      });
      return { maps, top: top! };
    } finally {
      r.value.dispose();
      for (const w of r.watched) w.grad.dispose();
      for (const g of r.grads) g.dispose();
      for (const a of acts) a.dispose();
    }
  });
}

/**
 * The shared gradient path of a method (the default when it has no run of its own): one taped
 * pass per layer, each layer's activations and gradients reduced by `weighting` (or by `reduce`,
 * e.g. Eigen-Grad-CAM's projection), the layers' maps averaged. Maps (R,h,w), top (R,kk).
 */
export function layerGradientMaps(ctx: CamRunContext, weighting: CamWeighting, reduce?: (a: Tensor, g: Tensor) => Maps): CamRunOutput {
  // One taped pass per layer: the tape keeps the gradient of the first watched tensor only
  // (a later layer's output is an op's output on the same tape, its gradient freed on the way).
  const gs = ctx.layers.map((l) => gradientMaps(ctx.model, ctx.head, ctx.x, ctx.plan, [l], weighting, { kk: ctx.kk, reduce }));
  return { maps: combineLayers(gs.map((g) => g.maps[0]!), ctx.size), top: gs[0]!.top };
}

/** The CAM layers' activations (N,h,w,C) each, from one forward pass without a tape. */
export function layerActivations(ctx: CamRunContext): Tensor[] {
  return forward(ctx.model, ctx.head, ctx.x, ctx.layers, ctx.kk).acts;
}

/**
 * Score-CAM on one layer: for each image, its input masked by each channel's normalised,
 * up-sampled activation map, `batch` channels per forward pass; the rows' target logits become
 * channel weights through a softmax over channels. `targets[r]` is row r's class, K rows per image.
 */
export async function scoreMaps(
  model: Model, head: Head, x: Tensor, acts: Tensor, targets: number[], K: number, batch: number, weighting: CamWeighting,
): Promise<Maps> {
  const [N, , , C] = acts.shape as [number, number, number, number];
  const range = upsampledRange(acts, [x.shape[1]!, x.shape[2]!]);
  const scores = empty([N * K, C], x.runtime, 'scorecam.scores');
  try {
    for (let img = 0; img < N; img++) {
      for (let c0 = 0; c0 < C; c0 += batch) {
        scope(() => {
          const xm = scoreCamMasks(x, acts, range, img, c0, Math.min(batch, C - c0));
          const { output, taps } = model.run(xm, { taps: head.tap ? [head.tap] : [] });
          const logits = head.logits(output, taps);
          for (let k = 0; k < K; k++) pickScores(logits, targets[img * K + k]!, scores, img * K + k, c0);
        });
      }
      // Let the queue drain between images rather than encoding every pass before any runs.
      await x.runtime.sync();
    }
    const w = softmax(scores);
    const { map, peak, weights } = camReduce(acts, w, weighting, { rowsPerImage: K });
    weights.dispose();
    w.dispose();
    return { map, peak };
  } finally {
    range.dispose();
    scores.dispose();
  }
}

/** Eigen-CAM's choices: centre the activations first (pytorch-grad-cam) or not (the paper). */
export interface EigenOptions {
  centred: boolean;
  iters?: number;
}

/**
 * Eigen-CAM on one layer (Muhammad & Yeasin 2020, Eq. 4-5): v₁, the first right singular vector
 * of each row's (h·w, C) matrix M (activations, or gradients ⊙ activations for Eigen-Grad-CAM),
 * optionally centred first (M − column means, as pytorch-grad-cam's get_2d_projection), by power
 * iteration on the smaller Gram matrix (M·Mᵀ when h·w ≤ C, then v₁ ∝ Mᵀu₁; MᵀM otherwise); the
 * map is ReLU(±M·v₁), the sign chosen so the map correlates positively with M's per-position
 * channel sum (for a centred M the same as with the uncentred sum, since Σ_p M·v₁ = 0). K copies
 * per row of `m`.
 */
export function eigenMaps(m: Tensor, K: number, weighting: CamWeighting, opts: EigenOptions): Maps {
  return scope(() => {
    const [N, h, w, C] = m.shape as [number, number, number, number];
    const P = h * w;
    let a3 = m.reshape([N, P, C]);
    // (N,P,C) − (N,1,C): each channel's mean over the positions removed.
    if (opts.centred) a3 = sub(a3, mulScalar(sum(a3, [1], true), 1 / P));
    const iters = opts.iters ?? 300;
    let v: Tensor;
    if (P <= C) {
      const u = powerIteration(matmul(a3, a3, { transposeB: true }), iters);
      v = matmul(u.reshape([N, 1, P]), a3).reshape([N, C]);
    } else {
      v = powerIteration(matmul(a3, a3, { transposeA: true }), iters);
    }
    const vr = K > 1 ? repeatRows(v, K) : v;
    const { map, peak } = camReduce(a3.reshape([N, h, w, C]), vr, weighting, { rowsPerImage: K, signFix: true });
    return { map, peak };
  });
}

/** Eigen-Grad-CAM's reduction of one layer's activations a and gradients g (same rows): eigenMaps of g ⊙ a. */
export function eigenGradMaps(a: Tensor, g: Tensor, weighting: CamWeighting, opts: EigenOptions): Maps {
  return scope(() => eigenMaps(mul(g, a), 1, weighting, opts));
}

/**
 * Several layers' maps as one: each up-sampled to the input size (bilinear, half-pixel centres),
 * averaged and normalised again; one layer passes through at its own resolution.
 */
export function combineLayers(maps: Maps[], size: [number, number]): Maps {
  if (maps.length === 1) return maps[0]!;
  return scope(() => {
    let acc: Tensor | null = null;
    for (const { map } of maps) {
      const up = upsample(map, size);
      acc = acc ? add(acc, up) : up;
    }
    return normalizeMaps(acc!);
  });
}

/** (R,h,w) → (R,H,W), bilinear with half-pixel centres (TF2's tf.image.resize). */
export function upsample(map: Tensor, [H, W]: [number, number]): Tensor {
  const [R, h, w] = map.shape as [number, number, number];
  if (h === H && w === W) return map.reshape(map.shape);
  return resizeBilinear(map.reshape([R, h, w, 1]), [H, W], { halfPixelCenters: true }).reshape([R, H, W]);
}
