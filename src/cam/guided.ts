// Guided Backpropagation (Springenberg et al. 2015) as a scoped swap of the ReLU gradient rules:
// while `withGuidedRelu` runs its function, every ReLU recorded on the tape (stand-alone or fused
// into a conv, depthwise conv or matmul epilogue) passes back only positive gradients where its
// input was positive: dx = dy·[y > 0]·[dy > 0], i.e. the usual rule applied to ReLU(dy).
import { relu } from '../kernels/elementwise.ts';
import type { Activation } from '../kernels/program.ts';
import { rules } from '../nn/gradients.ts';

import type { Rule } from '../nn/tape.ts';

const isRelu = (a: Activation | undefined) => a === 'relu' || a === 'relu6';
const guard = (act: Activation | undefined, r: Rule): Rule => (isRelu(act) ? (dy, saved, needs) => r(relu(dy), saved, needs) : r);

/**
 * Runs f (which records a forward pass on a tape) with guided ReLU rules; the rules are chosen
 * when ops are recorded, so the backward pass may run after f returns. Not re-entrant across
 * awaits: keep f synchronous.
 * @example
 *   const r = withGuidedRelu(() => valueAndGrad(() => score(model.run(x).output), [x]));
 */
export function withGuidedRelu<T>(f: () => T): T {
  const saved = { affine: rules.affine, conv2d: rules.conv2d, depthwiseConv2d: rules.depthwiseConv2d, matmul: rules.matmul };
  rules.affine = (act, scale) => guard(act, saved.affine(act, scale));
  rules.conv2d = (opts, hasBias, xs, ws) => guard(opts.activation, saved.conv2d(opts, hasBias, xs, ws));
  rules.depthwiseConv2d = (opts, hasBias, xs, ws) => guard(opts.activation, saved.depthwiseConv2d(opts, hasBias, xs, ws));
  rules.matmul = (ta, tb, act, hasBias, as, bs) => guard(act, saved.matmul(ta, tb, act, hasBias, as, bs));
  try {
    return f();
  } finally {
    Object.assign(rules, saved);
  }
}
