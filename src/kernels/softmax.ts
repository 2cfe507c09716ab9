// Softmax and log-softmax over the last axis, for class scores. Subtracting the row maximum
// first keeps exp() finite for any logits: y = exp(x − m) / Σ exp(x − m), m = max(x).
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../nn/tensor.ts';
import { grid1d, launch, shapeStr, storageDecls, uniformStruct, Uniforms } from './program.ts';

// One invocation per row: rows are few (a batch of class scores) and short enough (≈1000) that
// a serial loop beats a workgroup reduction, whose barriers are pure overhead on lavapipe.
const WG = 64;

// x:(rows, L) y:(rows, L)
function softmaxProgram(log: boolean) {
  return {
    name: log ? 'logSoftmax' : 'softmax',
    key: log ? 'log' : 'exp',
    inputs: 1,
    outputs: 1,
    code: () => `
${uniformStruct([['rows', 'u32'], ['L', 'u32'], ['nwgx', 'u32']])}
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
}

function run(x: Tensor, log: boolean): Tensor {
  const name = log ? 'logSoftmax' : 'softmax';
  if (x.rank === 0) throw new ShapeError(`${name}: x is a scalar; it needs at least one axis (the classes)`);
  const L = x.shape[x.rank - 1]!;
  const rows = L === 0 ? 0 : x.size / L;
  const [gx, gy] = grid1d(Math.ceil(rows / WG), x.runtime);
  const u = new Uniforms().u32(rows, L, gx);
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
