// The backward rules of every differentiable op, in one table (as tinygrad's gradient.py):
// each takes the op's attributes and returns a function from the output gradient dy and the
// saved tensors to the input gradients. Shapes follow the forward's shape comment.
import type { Activation } from '../kernels/program.ts';
import { activationGrad, div, mul, mulScalar } from '../kernels/elementwise.ts';
import { broadcastTo, sumToShape } from '../kernels/reduce.ts';
import type { Tensor } from './tensor.ts';

type Rule = (dy: Tensor, saved: Tensor[]) => (Tensor | null)[];

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
  // y = reshape(x)
  reshape: (xShape: readonly number[]): Rule => (dy) => [dy.reshape(xShape)],
} satisfies Record<string, (...args: never[]) => Rule>;

