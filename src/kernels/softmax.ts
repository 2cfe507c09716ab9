// Softmax and log-softmax over the last axis, for class scores. Subtracting the row maximum
// first keeps exp() finite for any logits: y = exp(x − m) / Σ exp(x − m), m = max(x).
// Both backwards (softmaxGrad, logSoftmaxGrad) need only the forward's output and one row sum.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

// One invocation per row: rows are few (a batch of class scores) and short enough (≈1000) that
// a serial loop beats a workgroup reduction, whose barriers are pure overhead on lavapipe.
const WG = 64;

/** Per-call values of every kernel here: one row of L entries per invocation. */
const RowsU = uniformDecl({ rows: 'u32', L: 'u32', nwgx: 'u32' }, 'softmax');

// x:(rows, L) y:(rows, L)
const softmaxProgram = (log: boolean) => defineProgram(log ? 'logSoftmax' : 'softmax', { log }, ({ log }) => {
  return {
    inputs: 1,
    outputs: 1,
    code: () => `
${RowsU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
// x:(rows, L) y:(rows, L)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (row >= u.rows) { return; }
  let o = row * u.L;
  var m = X[o];
  for (var j = 1u; j < u.L; j++) { m = max(m, X[o + j]); }
  var s = 0.0;
${
  log
    ? `  for (var j = 0u; j < u.L; j++) { s += exp(X[o + j] - m); }
  // log y = x − m − log Σ exp(x − m); the sum is ≥ 1 (the maximum contributes exp(0)).
  let shift = m + log(s);
  for (var j = 0u; j < u.L; j++) { Y[o + j] = X[o + j] - shift; }`
    : `  for (var j = 0u; j < u.L; j++) { let e = exp(X[o + j] - m); Y[o + j] = e; s += e; }
  let inv = 1.0 / s;
  for (var j = 0u; j < u.L; j++) { Y[o + j] = Y[o + j] * inv; }`
}
}`,
  };
});

function run(x: Tensor, log: boolean): Tensor {
  const name = log ? 'logSoftmax' : 'softmax';
  if (x.rank === 0) throw new ShapeError(`${name}: x is a scalar; it needs at least one axis (the classes)`);
  const L = x.shape[x.rank - 1]!;
  const rows = L === 0 ? 0 : x.size / L;
  const [gx, gy] = grid1d(Math.ceil(rows / WG), x.runtime);
  const u = RowsU.pack({ rows, L, nwgx: gx });
  return launch({
    program: softmaxProgram(log),
    inputs: [x],
    outShape: x.shape,
    uniforms: u,
    workgroups: [gx, gy],
    shapes: `${shapeStr('x', x.shape)} rows:${rows} L:${L}`,
    cost: 4 * x.size * 3,
  });
}

/**
 * Numerically stable softmax over the last axis.
 * @example
 *   const p = softmax(logits);   // logits:(N,1000) → probabilities:(N,1000), rows sum to 1
 */
// x:(…, L) y:(…, L)
export function softmax(x: Tensor): Tensor {
  return run(x, false);
}

/**
 * log(softmax(x)) over the last axis, computed as x − max − log Σ exp(x − max) (no log(0)).
 * @example
 *   const lp = logSoftmax(logits);   // (N,1000), every entry ≤ 0
 */
// x:(…, L) y:(…, L)
export function logSoftmax(x: Tensor): Tensor {
  return run(x, true);
}

// Backward of y = softmax(x):     dx = y ⊙ (dy − Σ_row dy ⊙ y)
// Backward of y = logSoftmax(x):  dx = dy − exp(y) · Σ_row dy
// One invocation per row, as the forward: one pass for the row sum, one writing dx.
// dy:(rows, L) y:(rows, L) dx:(rows, L)
const softmaxGradProgram = (log: boolean) => defineProgram(log ? 'logSoftmaxGrad' : 'softmaxGrad', { log }, ({ log }) => {
  return {
    inputs: 2,
    outputs: 1,
    code: () => `
${RowsU.wgsl}
${storageDecls([['DY', 'f32'], ['Y', 'f32']], [['DX', 'f32']])}
// dy:(rows, L) y:(rows, L) dx:(rows, L)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (row >= u.rows) { return; }
  let o = row * u.L;
  var s = 0.0;
${
  log
    ? `  for (var j = 0u; j < u.L; j++) { s += DY[o + j]; }
  for (var j = 0u; j < u.L; j++) { DX[o + j] = DY[o + j] - exp(Y[o + j]) * s; }`
    : `  for (var j = 0u; j < u.L; j++) { s += DY[o + j] * Y[o + j]; }
  for (var j = 0u; j < u.L; j++) { DX[o + j] = Y[o + j] * (DY[o + j] - s); }`
}
}`,
  };
});

function runGrad(dy: Tensor, y: Tensor, log: boolean): Tensor {
  const name = log ? 'logSoftmaxGrad' : 'softmaxGrad';
  const shapes = `${shapeStr('dy', dy.shape)} ${shapeStr('y', y.shape)}`;
  if (y.rank === 0) throw new ShapeError(`${name}: y is a scalar; it needs at least one axis (the classes)`);
  if (dy.rank !== y.rank || dy.shape.some((d, a) => d !== y.shape[a])) {
    throw new ShapeError(`${name}: dy and y must have the same shape (${shapes}); y is the forward's output`);
  }
  const L = y.shape[y.rank - 1]!;
  const rows = L === 0 ? 0 : y.size / L;
  const [gx, gy] = grid1d(Math.ceil(rows / WG), y.runtime);
  const u = RowsU.pack({ rows, L, nwgx: gx });
  return launch({
    program: softmaxGradProgram(log),
    inputs: [dy, y],
    outShape: y.shape,
    uniforms: u,
    workgroups: [gx, gy],
    shapes: `${shapes} rows:${rows} L:${L}`,
    cost: 4 * y.size * 5,
  });
}

/**
 * Backward of `y = softmax(x)` over the last axis, from the forward's output y.
 * @example
 *   const dLogits = softmaxGrad(dProbs, probs);   // (N,1000) each
 */
// dy:(…, L) y:(…, L) dx:(…, L)
export function softmaxGrad(dy: Tensor, y: Tensor): Tensor {
  return runGrad(dy, y, false);
}

/**
 * Backward of `y = logSoftmax(x)` over the last axis, from the forward's output y.
 * @example
 *   const dLogits = logSoftmaxGrad(dLogProbs, logProbs);   // (N,1000) each
 */
// dy:(…, L) y:(…, L) dx:(…, L)
export function logSoftmaxGrad(dy: Tensor, y: Tensor): Tensor {
  return runGrad(dy, y, true);
}
