// Fused optimiser updates: one dispatch per parameter tensor reads the gradient and rewrites the
// parameter and its state (momentum, Adam moments) in place, instead of a chain of element-wise ops.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, shapeStr, storageDecls, uniformDecl } from './program.ts';

/** The update rules; each names its state tensors (besides the parameter itself). */
export type OptimRule = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';
const STATE: Record<OptimRule, number> = { sgd: 0, momentum: 1, nesterov: 1, adam: 2, adamw: 2 };

/** Scalars of one update; rules ignore the ones they do not use. */
export interface OptimScalars {
  lr: number;
  /** Momentum coefficient μ (momentum, nesterov). */
  momentum?: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  /** L2 penalty added to the gradient (sgd, momentum, nesterov, adam), or decoupled decay (adamw). */
  weightDecay?: number;
  /** Adam's bias corrections 1 − β1ᵗ and 1 − β2ᵗ for this step t (1-based). */
  biasCorrection1?: number;
  biasCorrection2?: number;
}

const WG = 64;
const PER_THREAD = 4;

// The update of one element, with g already holding the coupled L2 term where the rule uses one.
// Formulas as tf.train (TensorFlow.js 4.x) writes them:
//   momentum:  a ← μa + g;  w ← w − lr·a
//   nesterov:  a ← μa + g;  w ← w − lr·(g + μa)
//   adam:      m ← β1m + (1−β1)g;  v ← β2v + (1−β2)g²;  w ← w − lr·(m/bc1) / (√(v/bc2) + ε)
//   adamw:     adam with w ← w − lr·λw first (decoupled decay, Loshchilov & Hutter 2019, Alg. 2)
const BODY: Record<OptimRule, string> = {
  sgd: `W[i] = w - u.lr * g;`,
  momentum: `let a = u.mu * M[i] + g; M[i] = a; W[i] = w - u.lr * a;`,
  nesterov: `let a = u.mu * M[i] + g; M[i] = a; W[i] = w - u.lr * (g + u.mu * a);`,
  adam: `let m = u.b1 * M[i] + (1.0 - u.b1) * g;
    let v = u.b2 * V[i] + (1.0 - u.b2) * g * g;
    M[i] = m; V[i] = v;
    W[i] = w - u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);`,
  adamw: `let m = u.b1 * M[i] + (1.0 - u.b1) * g;
    let v = u.b2 * V[i] + (1.0 - u.b2) * g * g;
    M[i] = m; V[i] = v;
    W[i] = w - u.lr * u.wd * w - u.lr * (m / u.bc1) / (sqrt(v / u.bc2) + u.eps);`,
};

/** Every rule's hyperparameters (a rule reads the ones it needs); bc1/bc2 are Adam's bias corrections. */
const OptimU = uniformDecl({
  n: 'u32', nwgx: 'u32', lr: 'f32', mu: 'f32', b1: 'f32', b2: 'f32', eps: 'f32', wd: 'f32', bc1: 'f32', bc2: 'f32',
}, 'optimStep');

// g:(n) w:(n) [state:(n) …] — every tensor flat; w and the state are rewritten in place.
const optimProgram = (rule: OptimRule) => defineProgram(`optim.${rule}`, { rule }, ({ rule }) => {
  const outs: [string, string][] = [['W', 'f32'], ['M', 'f32'], ['V', 'f32']].slice(0, 1 + STATE[rule]) as [string, string][];
  return {
    inputs: 1,
    outputs: outs.length,
    code: () => `
${OptimU.wgsl}
${storageDecls([['G', 'f32']], outs)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    let w = W[i];
    let g = G[i]${rule === 'adamw' ? '' : ' + u.wd * w'};
    ${BODY[rule]}
  }
}`,
  };
});

/**
 * Applies one optimiser step to `param` in place from `grad`, updating `state` in place too:
 * none for 'sgd', [accumulator] for 'momentum'/'nesterov', [m, v] for 'adam'/'adamw'.
 * @example
 *   optimStep('adam', w, dw, [m, v], { lr: 1e-3, beta1: 0.9, beta2: 0.999, epsilon: 1e-7,
 *     biasCorrection1: 1 - 0.9 ** t, biasCorrection2: 1 - 0.999 ** t });
 */
// grad:(any) param:(same) state[i]:(same)
export function optimStep(rule: OptimRule, param: Tensor, grad: Tensor, state: Tensor[], s: OptimScalars): void {
  const want = STATE[rule];
  if (want === undefined) throw new ShapeError(`optimStep: unknown rule '${rule}'; use one of ${Object.keys(STATE).join(', ')}`);
  const shapes = [shapeStr('param', param.shape), shapeStr('grad', grad.shape), ...state.map((t, i) => shapeStr(`state${i}`, t.shape))].join(' ');
  if (state.length !== want) throw new ShapeError(`optimStep(${rule}): needs ${want} state tensor(s), got ${state.length} (${shapes})`);
  for (const t of [grad, ...state]) {
    if (t.size !== param.size) throw new ShapeError(`optimStep(${rule}): every tensor must have the parameter's ${param.size} elements (${shapes})`);
    if (t.runtime !== param.runtime) throw new ShapeError(`optimStep(${rule}): tensors live on different devices`);
  }
  if (param.size === 0) return;
  const rt = param.runtime;
  const [gx, gy] = grid1d(Math.ceil(param.size / (WG * PER_THREAD)), rt);
  const u = OptimU.pack({
    n: param.size, nwgx: gx, lr: s.lr, mu: s.momentum ?? 0, b1: s.beta1 ?? 0.9, b2: s.beta2 ?? 0.999, eps: s.epsilon ?? 1e-7,
    wd: s.weightDecay ?? 0, bc1: s.biasCorrection1 ?? 1, bc2: s.biasCorrection2 ?? 1,
  });
  rt.dispatch({
    program: optimProgram(rule),
    inputs: [{ buffer: grad.buffer }],
    outputs: [param, ...state].map((t) => ({ buffer: t.buffer })),
    uniforms: u,
    workgroups: [gx, gy],
    shapes,
    cost: param.byteLength * (2 + 2 * state.length),
  });
}
