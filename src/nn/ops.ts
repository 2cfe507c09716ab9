// Differentiable operations: each runs its forward kernel and, when a tape needs it, records
// its rule from gradients.ts. This is the API layers and CAM methods build on; the kernels in
// src/kernels are the same math without autograd.
import * as ew from '../kernels/elementwise.ts';
import * as red from '../kernels/reduce.ts';
import * as mm from '../kernels/matmul.ts';
import type { Activation } from '../kernels/program.ts';
import { rules } from './gradients.ts';
import { record } from './tape.ts';
import type { Tensor } from './tensor.ts';

/** a + b with broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  const y = ew.add(a, b);
  record('add', [a, b], y, [], rules.add(a.shape, b.shape));
  return y;
}

/** a - b with broadcasting. */
export function sub(a: Tensor, b: Tensor): Tensor {
  const y = ew.sub(a, b);
  record('sub', [a, b], y, [], rules.sub(a.shape, b.shape));
  return y;
}

/** a ⊙ b with broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  const y = ew.mul(a, b);
  record('mul', [a, b], y, [a, b], rules.mul());
  return y;
}

/** a / b with broadcasting. */
export function div(a: Tensor, b: Tensor): Tensor {
  const y = ew.div(a, b);
  record('div', [a, b], y, [a, b, y], rules.div());
  return y;
}

/** act(x · scale + shift). */
export function affine(x: Tensor, scale: number, shift: number, act: Activation = 'linear'): Tensor {
  const y = ew.affine(x, scale, shift, act);
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
  const y = red.sum(x, ax, keepDims);
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
export function matmul(a: Tensor, b: Tensor, opts: mm.MatmulOptions = {}): Tensor {
  const y = mm.matmul(a, b, opts);
  const act = opts.activation ?? 'linear';
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  const rule = rules.matmul(!!opts.transposeA, !!opts.transposeB, act, !!opts.bias);
  record('matmul', inputs, y, act === 'linear' ? [a, b] : [a, b, y], (dy, saved) =>
    rule(dy, act === 'linear' ? [saved[0]!, saved[1]!] : saved).slice(0, inputs.length));
  return y;
}

/** Keras Dense: x:(N,…,K) w:(K,U) bias:(U) → (N,…,U), differentiable. */
export function dense(x: Tensor, w: Tensor, bias?: Tensor, act: Activation = 'linear'): Tensor {
  const k = x.shape[x.rank - 1]!;
  const x2 = reshape(x, [x.size / k, k]);
  const y2 = matmul(x2, w, { bias, activation: act });
  return reshape(y2, [...x.shape.slice(0, -1), w.shape[1]!]);
}
