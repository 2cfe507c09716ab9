// The backward rules of every differentiable op, in one table (as tinygrad's gradient.py):
// each takes the op's attributes and returns a function from the output gradient dy and the
// saved tensors to the input gradients. Shapes follow the forward's shape comment.
import type { Activation } from '../kernels/program.ts';
import { activationGrad, div, mul, mulScalar } from '../kernels/elementwise.ts';
import { broadcastTo, sum, sumToShape } from '../kernels/reduce.ts';
import { matmul } from '../kernels/matmul.ts';
import type { Tensor } from './tensor.ts';

type Rule = (dy: Tensor, saved: Tensor[]) => (Tensor | null)[];

/** A batched gradient summed over the batch (and reshaped) where the operand had none or 1. */
function fitBatch(d: Tensor, shape: readonly number[]): Tensor {
  if (d.rank === shape.length && d.shape[0] === shape[0]) return d;
  const s = d.rank === 3 ? sum(d, [0]) : d;
  return s.reshape(shape);
}

export const rules = {
  // y = a + b (broadcast): da = Σ_broadcast dy, db likewise
  add: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy) => [sumToShape(dy, aShape), sumToShape(dy, bShape)],
  // y = a - b
  sub: (aShape: readonly number[], bShape: readonly number[]): Rule => (dy) => [sumToShape(dy, aShape), sumToShape(mulScalar(dy, -1), bShape)],
  // y = a ⊙ b: da = Σ dy ⊙ b, db = Σ dy ⊙ a        saved: [a, b]
  mul: (): Rule => (dy, [a, b]) => [sumToShape(mul(dy, b!), a!.shape), sumToShape(mul(dy, a!), b!.shape)],
  // y = a / b: da = Σ dy / b, db = Σ -dy ⊙ y / b    saved: [a, b, y]
  div: (): Rule => (dy, [a, b, y]) => [sumToShape(div(dy, b!), a!.shape), sumToShape(mulScalar(div(mul(dy, y!), b!), -1), b!.shape)],
  // y = act(x · scale + shift): dx = act'(·) ⊙ dy · scale   saved: [y]
  affine: (act: Activation, scale: number): Rule => (dy, [y]) => [activationGrad(dy, y!, act, scale)],
  // y = Σ_axes x (keepDims or not): dx = broadcast of dy back over the summed axes
  sum: (xShape: readonly number[], keptShape: readonly number[]): Rule => (dy) => [broadcastTo(dy.reshape(keptShape), xShape)],
  // y = act(op(a)·op(b) + bias), a:(B?,M,K) b:(B?,K,N) (before the transposes) y:(B?,M,N)
  //   with g = act'(y) ⊙ dy:   da = g·bᵀ, db = aᵀ·g (transposed back to each operand's layout),
  //   summed over the batch where an operand's batch of 1 was broadcast; dbias = Σ_rows g.
  //   saved: [a, b, y]
  matmul: (ta: boolean, tb: boolean, act: Activation, hasBias: boolean): Rule => (dy, [a, b, y]) => {
    const g = act === 'linear' ? dy : activationGrad(dy, y!, act);
    // op(a)·op(b) = y  ⇒  d op(a) = g·op(b)ᵀ, d op(b) = op(a)ᵀ·g; each written in stored layout:
    const da = ta ? matmul(b!, g, { transposeA: tb, transposeB: true }) : matmul(g, b!, { transposeB: !tb });
    const db = tb ? matmul(g, a!, { transposeA: true, transposeB: ta }) : matmul(a!, g, { transposeA: !ta });
    return [fitBatch(da, a!.shape), fitBatch(db, b!.shape), hasBias ? sum(g, g.shape.slice(0, -1).map((_, i) => i)) : null];
  },
  // y = reshape(x)
  reshape: (xShape: readonly number[]): Rule => (dy) => [dy.reshape(xShape)],
} satisfies Record<string, (...args: never[]) => Rule>;

