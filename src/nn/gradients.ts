// The backward rules of every differentiable op, in one table (as tinygrad's gradient.py):
// each takes the op's attributes and returns a function from the output gradient dy and the
// saved tensors to the input gradients. Shapes follow the forward's shape comment.
// `needs[i]` says whether input i wants a gradient; a rule computes only those (a CAM pass never
// launches a weight gradient, training never the input image's gradient) and returns null for
// the rest. Rules whose gradients cost one cheap kernel each still honour it, for uniformity.
import type { Activation } from '../kernels/program.ts';
import { activationGrad, div, mul, mulScalar } from '../kernels/elementwise.ts';
import { broadcastTo, sum, sumToShape } from '../kernels/reduce.ts';
import { matmul } from '../kernels/matmul.ts';
import { concatGrad } from '../kernels/concat.ts';
import type { Conv2dOptions } from '../kernels/conv2d.ts';
import {
  conv2dBiasGrad, conv2dInputGrad, conv2dWeightGrad, depthwiseConv2dInputGrad, depthwiseConv2dWeightGrad,
} from '../kernels/conv2d-backward.ts';
import { avgPool2dGrad, globalAvgPoolGrad, globalMaxPoolGrad, maxPool2dGrad } from '../kernels/pool-grad.ts';
import type { PoolOptions } from '../kernels/pool.ts';
import { batchNorm } from '../kernels/batchnorm.ts';
import { batchNormTrainGrad } from '../kernels/batchnorm-train.ts';
import { pad, padGrad } from '../kernels/pad.ts';
import { resizeBilinearGrad, type ResizeOptions } from '../kernels/resize.ts';
import { logSoftmaxGrad, softmaxGrad } from '../kernels/softmax.ts';
import {
  meanSquaredErrorGrad, softmaxCrossEntropyGrad, sparseSoftmaxCrossEntropyGrad,
} from '../kernels/losses.ts';
import { zeros, type Tensor } from '../tensor/tensor.ts';
import type { Rule } from './tape.ts';

/** f() when `need`, else null: one gradient computed only if it is wanted. */
const when = (need: boolean | undefined, f: () => Tensor): Tensor | null => (need ? f() : null);

/** dy written at `begin` inside zeros of `shape`: the adjoint of a slice. */
function padTo(dy: Tensor, shape: readonly number[], begin: number[]): Tensor {
  const paddings = shape.map((d, i) => {
    const b = begin[i] ?? 0;
    return [b, d - b - dy.shape[i]!] as [number, number];
  });
  return pad(dy, paddings);
}

/** A batched gradient summed over the batch (and reshaped) where the operand had none or 1. */
function fitBatch(d: Tensor, shape: readonly number[]): Tensor {
  if (d.rank === shape.length && d.shape[0] === shape[0]) return d;
  const s = d.rank === 3 ? sum(d, [0]) : d;
  return s.reshape(shape);
}

export const rules = {
  // y = a + b (broadcast): da = Σ_broadcast dy, db likewise
  add: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy, _, n) => [
    when(n[0], () => sumToShape(dy, aShape)), when(n[1], () => sumToShape(dy, bShape)),
  ],
  // y = a - b
  sub: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy, _, n) => [
    when(n[0], () => sumToShape(dy, aShape)), when(n[1], () => sumToShape(mulScalar(dy, -1), bShape)),
  ],
  // y = a ⊙ b: da = Σ dy ⊙ b, db = Σ dy ⊙ a        saved: [a if db wanted, b if da wanted]
  mul: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy, [a, b], n) => [
    when(n[0], () => sumToShape(mul(dy, b!), aShape)), when(n[1], () => sumToShape(mul(dy, a!), bShape)),
  ],
  // y = a / b: da = Σ dy / b, db = Σ -dy ⊙ y / b    saved: [b, y if db wanted]
  div: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy, [b, y], n) => [
    when(n[0], () => sumToShape(div(dy, b!), aShape)),
    when(n[1], () => sumToShape(mulScalar(div(mul(dy, y!), b!), -1), bShape)),
  ],
  // y = act(x · scale + shift): dx = act'(·) ⊙ dy · scale   saved: [y]
  affine: (act: Activation, scale: number): Rule => (dy, [y]) => [activationGrad(dy, y!, act, scale)],
  // y = Σ_axes x (keepDims or not): dx = broadcast of dy back over the summed axes
  sum: (xShape: readonly number[], keptShape: readonly number[]): Rule => (dy) => [broadcastTo(dy.reshape(keptShape), xShape)],
  // y = act(op(a)·op(b) + bias), a:(B?,M,K) b:(B?,K,N) (before the transposes) y:(B?,M,N)
  //   with g = act'(y) ⊙ dy:   da = g·bᵀ, db = aᵀ·g (transposed back to each operand's layout),
  //   summed over the batch where an operand's batch of 1 was broadcast; dbias = Σ_rows g.
  //   saved: [a if db wanted, b if da wanted, y if act is not linear]
  matmul: (ta: boolean, tb: boolean, act: Activation, hasBias: boolean, aShape: readonly number[], bShape: readonly number[]): Rule =>
    (dy, [a, b, y], n) => {
      const g = act === 'linear' ? dy : activationGrad(dy, y!, act);
      // op(a)·op(b) = y  ⇒  d op(a) = g·op(b)ᵀ, d op(b) = op(a)ᵀ·g; each written in stored layout:
      const da = when(n[0], () =>
        fitBatch(ta ? matmul(b!, g, { transposeA: tb, transposeB: true }) : matmul(g, b!, { transposeB: !tb }), aShape));
      const db = when(n[1], () =>
        fitBatch(tb ? matmul(g, a!, { transposeA: true, transposeB: ta }) : matmul(a!, g, { transposeA: !ta }), bShape));
      return hasBias ? [da, db, when(n[2], () => sum(g, g.shape.slice(0, -1).map((_, i) => i)))] : [da, db];
    },
  // y = act(conv2d(x, w) + b), x:(N,H,W,C) w:(KH,KW,C/g,K) y:(N,OH,OW,K); with g = act'(y) ⊙ dy:
  //   dx = the transposed convolution of g with w, dw = Σ_{n,oh,ow} x-patch ⊗ g, db = Σ g
  //   saved: [x if dw wanted, w if dx wanted, y if act is not linear]
  conv2d: (opts: Conv2dOptions, hasBias: boolean, xShape: readonly number[], wShape: readonly number[]): Rule =>
    (dy, [x, w, y], n) => {
      const act = opts.activation ?? 'linear';
      const g = act === 'linear' ? dy : activationGrad(dy, y!, act);
      const out = [when(n[0], () => conv2dInputGrad(g, w!, xShape, opts)), when(n[1], () => conv2dWeightGrad(x!, g, wShape, opts))];
      if (hasBias) out.push(when(n[2], () => conv2dBiasGrad(g)));
      return out;
    },
  // y = act(depthwiseConv2d(x, w) + b), w:(KH,KW,C,M) y:(N,OH,OW,C·M); as conv2d per channel
  depthwiseConv2d: (opts: Omit<Conv2dOptions, 'groups'>, hasBias: boolean, xShape: readonly number[], wShape: readonly number[]): Rule =>
    (dy, [x, w, y], n) => {
      const act = opts.activation ?? 'linear';
      const g = act === 'linear' ? dy : activationGrad(dy, y!, act);
      const out = [
        when(n[0], () => depthwiseConv2dInputGrad(g, w!, xShape, opts)),
        when(n[1], () => depthwiseConv2dWeightGrad(x!, g, wShape, opts)),
      ];
      if (hasBias) out.push(when(n[2], () => conv2dBiasGrad(g)));
      return out;
    },
  // y = concat(xs, axis): each dx_i is dy's slice along the axis
  concat: (shapes: (readonly number[])[], axis: number): Rule => (dy) => concatGrad(dy, shapes, axis),
  // y = slice(x, begin, size): dx = dy placed at begin inside zeros of x's shape (a pad)
  slice: (xShape: readonly number[], begin: number[]): Rule => (dy) => [
    padTo(dy, xShape, begin),
  ],
  // y = pad(x, paddings, value): dx = the crop of dy
  pad: (paddings: [number, number][]): Rule => (dy) => [padGrad(dy, paddings)],
  // y = resizeBilinear(x, size, opts): the adjoint of the interpolation, as a gather
  resizeBilinear: (xShape: readonly number[], opts: ResizeOptions): Rule => (dy) => [resizeBilinearGrad(dy, xShape, opts)],
  // y = softmax(x): dx = y ⊙ (dy - Σ_row dy ⊙ y)            saved: [y]
  softmax: (): Rule => (dy, [y]) => [softmaxGrad(dy, y!)],
  // y = logSoftmax(x): dx = dy - exp(y) Σ_row dy            saved: [y]
  logSoftmax: (): Rule => (dy, [y]) => [logSoftmaxGrad(dy, y!)],
  // loss = mean_B -Σ labels·logSoftmax(logits): dlogits = dLoss·(p·Σlabels - labels)/B
  //   saved: [probs, labels]; labels get no gradient
  softmaxCrossEntropy: (): Rule => (dLoss, [p, labels]) => [softmaxCrossEntropyGrad(dLoss, p!, labels!), null],
  // the same with class indices (B) instead of one-hot rows      saved: [probs, classes]
  sparseSoftmaxCrossEntropy: (): Rule => (dLoss, [p, classes]) => [sparseSoftmaxCrossEntropyGrad(dLoss, p!, classes!), null],
  // loss = mean (pred - target)²: dpred = 2·dLoss·(pred - target)/n, dtarget = -dpred
  //   saved: [pred, target]
  meanSquaredError: (): Rule => (dLoss, [pred, target], n) => {
    const d = meanSquaredErrorGrad(dLoss, pred!, target!);
    return [n[0] ? d : null, when(n[1], () => mulScalar(d, -1))];
  },
  // y = maxPool2d(x): dy routed to each window's first maximum (row-major), as TensorFlow
  //   saved: [x]
  maxPool2d: (opts: PoolOptions): Rule => (dy, [x]) => [maxPool2dGrad(dy, x!, opts)],
  // y = avgPool2d(x): dy spread over each window's in-bounds elements
  avgPool2d: (xShape: readonly number[], opts: PoolOptions): Rule => (dy) => [avgPool2dGrad(dy, xShape, opts)],
  // y = mean_{h,w} x: dx = dy / (H·W) everywhere
  globalAvgPool: (xShape: readonly number[]): Rule => (dy) => [globalAvgPoolGrad(dy, xShape)],
  // y = max_{h,w} x: dy to every tied maximum (tf.max's gradient)       saved: [x]
  globalMaxPool: (): Rule => (dy, [x]) => [globalMaxPoolGrad(dy, x!)],
  // y = (x - mean)/√(var + ε)·γ + β with the batch's mean and variance (training mode)
  //   saved: [x, mean, variance, γ?]; the returned statistics get no gradient
  batchNormTrain: (epsilon: number, hasGamma: boolean, hasBeta: boolean): Rule => (dy, [x, mean, variance, gamma]) => {
    const { dx, dGamma, dBeta } = batchNormTrainGrad(dy, x!, { mean: mean!, variance: variance!, gamma, epsilon });
    const out: (Tensor | null)[] = [dx];
    if (hasGamma) out.push(dGamma);
    if (hasBeta) out.push(dBeta);
    return out;
  },
  // y = (x - m)/√(v + ε)·γ + β with fixed statistics (inference): dx = dy·γ/√(v + ε), which is
  //   the same kernel applied to dy with a zero mean and no β; dγ = Σ dy·(x - m)/√(v + ε);
  //   dβ = Σ dy.   saved: [x if dγ wanted, m, v, γ?]
  batchNorm: (epsilon: number, hasGamma: boolean, hasBeta: boolean): Rule => (dy, [x, m, v, gamma], n) => {
    const axes = dy.shape.slice(0, -1).map((_, i) => i);
    const out = [when(n[0], () => batchNorm(dy, { mean: zeros(v!.shape), variance: v!, gamma, epsilon }))];
    if (hasGamma) out.push(when(n[1], () => sum(mul(dy, batchNorm(x!, { mean: m!, variance: v!, epsilon })), axes)));
    if (hasBeta) out.push(when(n[hasGamma ? 2 : 1], () => sum(dy, axes)));
    return out;
  },
  // y = reshape(x)
  reshape: (xShape: readonly number[]): Rule => (dy) => [dy.reshape(xShape)],
} satisfies Record<string, (...args: never[]) => Rule>;

