// Ghorbani et al.'s iterative attack on an interpretation (AAAI 2019, Algorithm 1, "top-k
// attack") for Grad-CAM: signed-gradient steps inside the L∞ ball that move the map's mass off
// the original top-k pixels while the predicted class stays the same, differentiated by the tape.
import { ShapeError } from '../../gpu/errors.ts';
import type { Model } from '../../nn/model.ts';
import * as ops from '../../nn/ops.ts';
import { valueAndGrad } from '../../nn/tape.ts';
import { keep, upload, type Tensor } from '../../tensor/tensor.ts';
import { scoreHead } from '../targets.ts';
import { projectedSignStep, topKIndices, type InputBox } from './fragility.ts';
import { resizeMap } from './maps.ts';

/**
 * The methods whose map the attack differentiates. Grad-CAM's map is relu(Σ_c α_c A_c) with
 * α_c = mean_ij ∂y/∂A_ij,c (Selvaraju et al. 2017, Eq. 1–2). The tape records no backward ops
 * (no second derivatives), so α is held fixed at each step and the gradient flows through A only;
 * in a piecewise-linear network (ReLU, max-pool, dense up to the logit) α is locally constant in
 * x, so this is the map's exact gradient almost everywhere. Maps made from gradients in other
 * ways (Grad-CAM++, XGrad-CAM: weights depend on A too), from masked passes (Score-CAM), an SVD
 * (Eigen-CAM) or the input gradient itself (saliency: zero Hessian in a ReLU network, the reason
 * Ghorbani et al. swap ReLU for softplus) are not differentiated by this tape.
 */
export const ATTACKABLE_METHODS: readonly string[] = ['gradcam'];

export interface AttackOptions {
  /** The CAM layer (as cam() resolved it). */
  layer: string;
  /** The class whose map is attacked (the image's predicted class). */
  target: number;
  /** Per-channel ε and valid range in input units. */
  box: InputBox;
  /** Signed-gradient steps (default 10). */
  steps?: number;
  /** Step size as a fraction of ε (default 0.25). */
  stepFraction?: number;
  /** Pixels in the attacked top-k set (default 10 % of the input's pixels). */
  k?: number;
}

export interface AttackResult {
  /** The perturbed image (H,W,C), the last step that kept the predicted class. */
  x: Float32Array;
  /** Steps kept (a step that changed the class ends the attack and is undone). */
  steps: number;
  /** The share of the up-sampled map's mass on the original top-k pixels, before each kept step and after the last. */
  objective: number[];
}

/**
 * Host Grad-CAM at layer resolution (before normalisation) from activations a and gradients g
 * (h,w,c), and the share of its up-sampled (H,W) mass on `set`, with dShare/dA (α frozen).
 * @example
 *   const { map, share, dA } = shareAndGradient(a, g, 7, 7, 64, 28, 28, topSet);
 */
export function shareAndGradient(a: Float32Array, g: Float32Array, h: number, w: number, c: number, H: number, W: number, set: Set<number> | null):
  { map: Float64Array; share: number; dA: Float32Array } {
  const alpha = new Float64Array(c);
  for (let i = 0; i < h * w; i++) for (let k = 0; k < c; k++) alpha[k] = alpha[k]! + g[i * c + k]! / (h * w);
  const pre = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) {
    let s = 0;
    for (let k = 0; k < c; k++) s += alpha[k]! * a[i * c + k]!;
    pre[i] = s;
  }
  const map = pre.map((v) => Math.max(0, v));
  const dA = new Float32Array(h * w * c);
  if (!set) return { map, share: NaN, dA };
  const up = resizeMap({ height: h, width: w, values: map }, H, W).values;
  let total = 0, on = 0;
  for (let p = 0; p < up.length; p++) { total += up[p]!; if (set.has(p)) on += up[p]!; }
  if (!(total > 0)) return { map, share: NaN, dA };
  const share = on / total;
  // d share / d up_p = ([p ∈ set] − share) / total; back through the bilinear resize (its adjoint,
  // one basis map at a time) and the ReLU to the layer's map, then × α_c to each channel.
  const basis = new Float64Array(h * w);
  for (let i = 0; i < h * w; i++) {
    if (!(pre[i]! > 0)) continue;
    basis.fill(0);
    basis[i] = 1;
    const col = resizeMap({ height: h, width: w, values: basis }, H, W).values;
    let d = 0;
    for (let p = 0; p < col.length; p++) if (col[p]) d += col[p]! * ((set.has(p) ? 1 : 0) - share) / total;
    for (let k = 0; k < c; k++) dA[i * c + k] = d * alpha[k]!;
  }
  return { map, share, dA };
}

/** The tapped layer's activations (1,h,w,c) and the target logit's gradient there, on the host. */
export async function activationsAndGradient(model: Model, x: Tensor, layer: string, target: number): Promise<{ a: Float32Array; g: Float32Array; shape: number[] }> {
  const head = scoreHead(model);
  const classes = model.outputShape[1] as number;
  const onehot = upload(Array.from({ length: classes }, (_, i) => (i === target ? 1 : 0)), [1, classes]);
  let A: Tensor | null = null;
  const r = valueAndGrad(() => {
    const { output, taps } = model.run(x, { taps: [...new Set([layer, ...(head.tap ? [head.tap] : [])])] });
    A = keep(taps.get(layer)!);
    return ops.sumAll(ops.mul(head.logits(output, taps), onehot));
  }, []);
  try {
    const gA = r.watched.find((w) => w.tensor === A)!.grad;
    return { a: await A!.data(), g: await gA.data(), shape: [...A!.shape] };
  } finally {
    onehot.dispose();
    r.value.dispose();
    r.watched.forEach((w) => w.grad.dispose());
    (A as Tensor | null)?.dispose();
  }
}

/** d Σ(A ⊙ G) / dx by the tape: the input gradient of the frozen-weight objective. */
export async function inputGradient(model: Model, x: Tensor, layer: string, G: Tensor): Promise<Float32Array> {
  const r = valueAndGrad(() => ops.sumAll(ops.mul(model.run(x, { taps: [layer] }).taps.get(layer)!, G)), [x]);
  try {
    return await r.grads[0]!.data();
  } finally {
    r.value.dispose();
    r.grads.forEach((t) => t.dispose());
    r.watched.forEach((w) => w.grad.dispose());
  }
}

async function predictedClass(model: Model, x: Tensor): Promise<number> {
  const y = model.predict(x);
  try {
    const p = await y.data();
    let best = 0;
    for (let i = 1; i < p.length; i++) if (p[i]! > p[best]!) best = i;
    return best;
  } finally {
    y.dispose();
  }
}

/**
 * Runs the top-k attack on one preprocessed image x0 (H,W,C): each step computes Grad-CAM at
 * the layer, the share D of its (up-sampled) mass on the k pixels that were most important in
 * the original map, and descends on D with a signed step of stepFraction·ε, projected onto the
 * ε-ball around x0 and the valid range; a step that changes the predicted class is undone and
 * ends the attack (Ghorbani et al. keep only perturbations that keep the label).
 * @example
 *   const r = await gradCamTopKAttack(model, x0, [28, 28, 1], { layer: 'conv3', target: 1, box });
 *   const map = (await cam(model, upload(r.x, [1, 28, 28, 1]), { layer: 'conv3', target: 1 })).images[0].map;
 */
export async function gradCamTopKAttack(model: Model, x0: Float32Array, hwc: readonly [number, number, number], opts: AttackOptions): Promise<AttackResult> {
  const [H, W, C] = hwc;
  if (x0.length !== H * W * C) throw new ShapeError(`gradCamTopKAttack: image holds ${x0.length} values, not ${H}×${W}×${C}`);
  const steps = opts.steps ?? 10, frac = opts.stepFraction ?? 0.25;
  const k = opts.k ?? Math.max(1, Math.round(0.1 * H * W));
  let x = x0;
  let set: Set<number> | null = null;
  const objective: number[] = [];
  let kept = 0;
  for (let t = 0; t <= steps; t++) {
    const xt = upload(x, [1, H, W, C]);
    try {
      const { a, g, shape } = await activationsAndGradient(model, xt, opts.layer, opts.target);
      const [, h, w, c] = shape as [number, number, number, number];
      if (!set) {
        const m = shareAndGradient(a, g, h, w, c, H, W, null).map;
        set = new Set(topKIndices(resizeMap({ height: h, width: w, values: m }, H, W).values, k));
      }
      const { share, dA } = shareAndGradient(a, g, h, w, c, H, W, set);
      objective.push(share);
      if (t === steps || !Number.isFinite(share)) break;
      const G = upload(dA, shape);
      let dx: Float32Array;
      try {
        dx = await inputGradient(model, xt, opts.layer, G);
      } finally {
        G.dispose();
      }
      const next = projectedSignStep(x, x0, dx, C, opts.box, frac);
      const xn = upload(next, [1, H, W, C]);
      const cls = await predictedClass(model, xn).finally(() => xn.dispose());
      if (cls !== opts.target) break;
      x = next;
      kept++;
    } finally {
      xt.dispose();
    }
  }
  return { x, steps: kept, objective };
}
