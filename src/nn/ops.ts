// Differentiable operations: each runs its forward kernel and, when a tape needs it, records
// its rule from gradients.ts. This is the API layers and CAM methods build on; the kernels in
// src/kernels are the same math without autograd.
// Each op's forward is the kernel of the same name (kernels.add, kernels.conv2d …).
import * as kernels from '../kernels/index.ts';
import type { BatchNormTrainParams } from '../kernels/batchnorm-train.ts';
import type { Activation } from '../kernels/program.ts';
import { rules } from './gradients.ts';
import { record } from './tape.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** a + b with broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  const y = kernels.add(a, b);
  record('add', [a, b], y, [], rules.add(a.shape, b.shape));
  return y;
}

/** a - b with broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  const y = kernels.sub(a, b);
  record('sub', [a, b], y, [], rules.sub(a.shape, b.shape));
  return y;
}

/** a ⊙ b with broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const y = kernels.mul(a, b);
  record('mul', [a, b], y, (n) => [n[1] ? a : undefined, n[0] ? b : undefined], rules.mul(a.shape, b.shape));
  return y;
}

/** a / b with broadcasting. */
export function div(a: Tensor, b: Tensor): Tensor {
  const y = kernels.div(a, b);
  record('div', [a, b], y, (n) => [b, n[1] ? y : undefined], rules.div(a.shape, b.shape));
  return y;
}

/** act(x · scale + shift). */
export function affine(x: Tensor, scale: number, shift: number, act: Activation = 'linear'): Tensor {
  const y = kernels.affine(x, scale, shift, act);
  record('affine', [x], y, [y], rules.affine(act, scale));
  return y;
}

export const activation = (x: Tensor, act: Activation) => affine(x, 1, 0, act);
export const relu = (x: Tensor) => affine(x, 1, 0, 'relu');
export const mulScalar = (x: Tensor, s: number) => affine(x, s, 0);
export const addScalar = (x: Tensor, s: number) => affine(x, 1, s);

/** The same data under another shape (a view), differentiable. */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  const y = x.reshape(shape);
  record('reshape', [x], y, [], rules.reshape(x.shape));
  return y;
}

/** Σ over axes (all axes when omitted), differentiable. */
export function sum(x: Tensor, axes?: number[], keepDims = false): Tensor {
  const ax = axes ?? x.shape.map((_, i) => i);
  const y = kernels.sum(x, ax, keepDims);
  const norm = new Set(ax.map((a) => (a < 0 ? a + x.rank : a)));
  const kept = x.shape.map((d, i) => (norm.has(i) ? 1 : d));
  record('sum', [x], y, [], rules.sum(x.shape, kept));
  return y;
}

/** Σ of every element, as a (1)-shaped tensor: the usual end of a loss. */
export const sumAll = (x: Tensor): Tensor => {
  const s = sum(x);
  return reshape(s, [1]);
};

/** Mean over axes (all when omitted). */
export function mean(x: Tensor, axes?: number[], keepDims = false): Tensor {
  const ax = axes ?? x.shape.map((_, i) => i);
  const n = ax.reduce((a, i) => a * x.shape[i < 0 ? i + x.rank : i]!, 1);
  return mulScalar(sum(x, ax, keepDims), 1 / n);
}

/**
 * act(op(a)·op(b) + bias), differentiable (see kernels/matmul.ts for layouts).
 * @example
 *   const logits = matmul(h, w, { bias: b });
 */
export function matmul(a: Tensor, b: Tensor, opts: kernels.MatmulOptions = {}): Tensor {
  const y = kernels.matmul(a, b, opts);
  const act = opts.activation ?? 'linear';
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  const rule = rules.matmul(!!opts.transposeA, !!opts.transposeB, act, !!opts.bias, a.shape, b.shape);
  // a is read only by db, b only by da; y only by a non-linear epilogue's derivative.
  record('matmul', inputs, y, (n) => [n[1] ? a : undefined, n[0] ? b : undefined, act === 'linear' ? undefined : y], rule);
  return y;
}

/**
 * act(conv2d(x, w) + bias), differentiable. x:(N,H,W,C) w:(KH,KW,C/groups,K) → (N,OH,OW,K).
 * @example
 *   const y = conv2d(x, w, { bias, padding: 'same', activation: 'relu' });
 */
export function conv2d(x: Tensor, w: Tensor, opts: kernels.Conv2dOptions = {}): Tensor {
  const y = kernels.conv2d(x, w, opts);
  const linear = (opts.activation ?? 'linear') === 'linear';
  // x is read only by dW, w only by dX: a CAM pass (weights untracked) retains no layer input.
  record('conv2d', opts.bias ? [x, w, opts.bias] : [x, w], y, (n) => [n[1] ? x : undefined, n[0] ? w : undefined, linear ? undefined : y],
    rules.conv2d(opts, !!opts.bias, x.shape, w.shape));
  return y;
}

/** Keras DepthwiseConv2D, differentiable. x:(N,H,W,C) w:(KH,KW,C,M) → (N,OH,OW,C·M). */
export function depthwiseConv2d(x: Tensor, w: Tensor, opts: Omit<kernels.Conv2dOptions, 'groups'> = {}): Tensor {
  const y = kernels.depthwiseConv2d(x, w, opts);
  const linear = (opts.activation ?? 'linear') === 'linear';
  record('depthwiseConv2d', opts.bias ? [x, w, opts.bias] : [x, w], y, (n) => [n[1] ? x : undefined, n[0] ? w : undefined, linear ? undefined : y],
    rules.depthwiseConv2d(opts, !!opts.bias, x.shape, w.shape));
  return y;
}

/** Keras Dense: x:(N,…,K) w:(K,U) bias:(U) → (N,…,U), differentiable. */
export function dense(x: Tensor, w: Tensor, bias?: Tensor, act: Activation = 'linear'): Tensor {
  const k = x.shape[x.rank - 1]!;
  const x2 = reshape(x, [x.size / k, k]);
  const y2 = matmul(x2, w, { bias, activation: act });
  return reshape(y2, [...x.shape.slice(0, -1), w.shape[1]!]);
}

/** Concatenation along an axis (default: channels, as Inception's mixed blocks). */
export function concat(xs: Tensor[], axis = -1): Tensor {
  const y = kernels.concat(xs, axis);
  record('concat', xs, y, [], rules.concat(xs.map((x) => x.shape), axis));
  return y;
}

/** A box of x: `size` elements from `begin` on each axis (-1: to the end). */
export function slice(x: Tensor, begin: number[], size: number[]): Tensor {
  const y = kernels.slice(x, begin, size);
  const full = x.shape.map((_, i) => begin[i] ?? 0);
  record('slice', [x], y, [], rules.slice(x.shape, full));
  return y;
}

/** Constant padding per axis: [[before, after], …]. */
export function pad(x: Tensor, paddings: [number, number][], value = 0): Tensor {
  const y = kernels.pad(x, paddings, value);
  record('pad', [x], y, [], rules.pad(paddings));
  return y;
}

/** Keras ZeroPadding2D on NHWC: pads as n | [[top, bottom], [left, right]]. */
export function zeroPad2d(x: Tensor, pads: number | [[number, number], [number, number]]): Tensor {
  const [[t, b], [l, r]] = typeof pads === 'number' ? [[pads, pads], [pads, pads]] : pads;
  return pad(x, [[0, 0], [t, b], [l, r], [0, 0]]);
}

/** Bilinear resize of NHWC images (TensorFlow's coordinate modes). */
export function resizeBilinear(x: Tensor, size: [number, number], opts: kernels.ResizeOptions = {}): Tensor {
  const y = kernels.resizeBilinear(x, size, opts);
  record('resizeBilinear', [x], y, [], rules.resizeBilinear(x.shape, opts));
  return y;
}

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  const y = kernels.softmax(x);
  record('softmax', [x], y, [y], rules.softmax());
  return y;
}

/** log(softmax(x)) over the last axis, computed stably. */
export function logSoftmax(x: Tensor): Tensor {
  const y = kernels.logSoftmax(x);
  record('logSoftmax', [x], y, [y], rules.logSoftmax());
  return y;
}

/**
 * Mean over the batch of the cross-entropy between softmax(logits) and label rows, fused and
 * stable. logits:(B,K) labels:(B,K) → (1).
 * @example
 *   const loss = softmaxCrossEntropy(logits, oneHot);
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const { loss, probs } = kernels.softmaxCrossEntropy(logits, labels);
  record('softmaxCrossEntropy', [logits, labels], loss, [probs, labels], rules.softmaxCrossEntropy());
  probs.dispose();
  return loss;
}

/** softmaxCrossEntropy with class indices: logits:(B,K) classes:(B) (integers as float) → (1). */
export function sparseSoftmaxCrossEntropy(logits: Tensor, classes: Tensor): Tensor {
  const { loss, probs } = kernels.sparseSoftmaxCrossEntropy(logits, classes);
  record('sparseSoftmaxCrossEntropy', [logits, classes], loss, [probs, classes], rules.sparseSoftmaxCrossEntropy());
  probs.dispose();
  return loss;
}

/** Mean of (pred - target)² over all elements → (1). */
export function meanSquaredError(pred: Tensor, target: Tensor): Tensor {
  const y = kernels.meanSquaredError(pred, target);
  record('meanSquaredError', [pred, target], y, [pred, target], rules.meanSquaredError());
  return y;
}

/** Max pooling over NHWC windows. */
export function maxPool2d(x: Tensor, opts: kernels.PoolOptions): Tensor {
  const y = kernels.maxPool2d(x, opts);
  record('maxPool2d', [x], y, [x], rules.maxPool2d(opts));
  return y;
}

/** Average pooling (padding excluded from each window's count, as TensorFlow). */
export function avgPool2d(x: Tensor, opts: kernels.PoolOptions): Tensor {
  const y = kernels.avgPool2d(x, opts);
  record('avgPool2d', [x], y, [], rules.avgPool2d(x.shape, opts));
  return y;
}

/** (N,H,W,C) → (N,C) mean over space. */
export function globalAvgPool(x: Tensor): Tensor {
  const y = kernels.globalAvgPool(x);
  record('globalAvgPool', [x], y, [], rules.globalAvgPool(x.shape));
  return y;
}

/** (N,H,W,C) → (N,C) max over space. */
export function globalMaxPool(x: Tensor): Tensor {
  const y = kernels.globalMaxPool(x);
  record('globalMaxPool', [x], y, [x], rules.globalMaxPool());
  return y;
}

/** Batch normalisation with fixed statistics (inference), differentiable in x, γ and β. */
export function batchNorm(x: Tensor, p: kernels.BatchNormParams): Tensor {
  if (p.activation && p.activation !== 'linear') {
    return activation(batchNorm(x, { ...p, activation: 'linear' }), p.activation);
  }
  const y = kernels.batchNorm(x, p);
  const eps = p.epsilon ?? 1e-3;
  const inputs = [x, ...(p.gamma ? [p.gamma] : []), ...(p.beta ? [p.beta] : [])];
  // x is read only by dγ (the normalised input); dx needs only the variance and γ.
  record('batchNorm', inputs, y, (n) => [p.gamma && n[1] ? x : undefined, p.mean, p.variance, p.gamma],
    rules.batchNorm(eps, !!p.gamma, !!p.beta));
  return y;
}

/**
 * Batch normalisation in training mode: normalises with the batch's statistics and returns them
 * (for the moving averages). Differentiable in x, γ and β.
 * @example
 *   const { y, mean, variance } = batchNormTrain(x, { gamma, beta });
 */
export function batchNormTrain(x: Tensor, p: BatchNormTrainParams = {}): { y: Tensor; mean: Tensor; variance: Tensor } {
  const r = kernels.batchNormTrain(x, p);
  const inputs = [x, ...(p.gamma ? [p.gamma] : []), ...(p.beta ? [p.beta] : [])];
  record('batchNormTrain', inputs, r.y, [x, r.mean, r.variance, ...(p.gamma ? [p.gamma] : [])],
    rules.batchNormTrain(p.epsilon ?? 1e-3, !!p.gamma, !!p.beta));
  return r;
}
