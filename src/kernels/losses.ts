// Training losses with their backwards: softmax cross-entropy (dense and sparse labels), fused
// with the softmax so that large logits never overflow, and mean squared error. Each loss is a
// (1) tensor reduced on the GPU; each gradient reads dLoss on the GPU (no read-back).
import { ShapeError } from '../gpu/errors.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { sum } from './reduce.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;
const PER_THREAD = 4;
/** Partial sums of the MSE pass: enough lanes for a GPU, each summing ≥ 64 terms. */
const MSE_PARTS = 4096;

// A quiet NaN, marking rows whose sparse class index is not an integer in [0, K). Built at run
// time from a variable: a NaN constant expression is a shader-creation error in WGSL.
const NAN_FN = 'fn nan() -> f32 { var bits = 0x7fc00000u; return bitcast<f32>(bits); }\n';
const NAN = 'nan()';

/** Per-call values of the cross-entropy kernels and their backwards: B rows of K classes. */
const XentU = uniformDecl({ rows: 'u32', K: 'u32', nwgx: 'u32', invB: 'f32' }, 'softmaxCrossEntropy');

// Per row b of logits x:(B,K), with m = max_k x, lse = m + log Σ_k exp(x − m):
//   probs[b,k] = exp(x[b,k] − m) / Σ exp(x − m)
//   dense:  rowLoss[b] = Σ_k labels[b,k] · (lse − x[b,k])   (= −Σ labels · logSoftmax(x))
//   sparse: rowLoss[b] = lse − x[b, classes[b]]
// written pre-scaled by 1/B, so that Σ_b rowLoss is the batch mean.
// x:(B,K) labels:(B,K) | classes:(B) probs:(B,K) rowLoss:(B)
const xentProgram = (sparse: boolean) =>
  defineProgram(sparse ? 'sparseSoftmaxCrossEntropy' : 'softmaxCrossEntropy', { sparse }, ({ sparse }) => ({
    inputs: 2,
    outputs: 2,
    code: () => `
${XentU.wgsl}
${storageDecls([['X', 'f32'], ['LBL', 'f32']], [['P', 'f32'], ['R', 'f32']])}
${sparse ? NAN_FN : ''}// x:(B,K) ${sparse ? 'classes:(B)' : 'labels:(B,K)'} probs:(B,K) rowLoss:(B)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (row >= u.rows) { return; }
  let o = row * u.K;
  var m = X[o];
  for (var j = 1u; j < u.K; j++) { m = max(m, X[o + j]); }
  var s = 0.0;
  for (var j = 0u; j < u.K; j++) { let e = exp(X[o + j] - m); P[o + j] = e; s += e; }
  let inv = 1.0 / s;
  for (var j = 0u; j < u.K; j++) { P[o + j] = P[o + j] * inv; }
  // s ≥ 1 (the maximum contributes exp(0)), so lse is finite for finite logits.
  let lse = m + log(s);
${
  sparse
    ? `  let c = LBL[row];
  var loss = ${NAN};
  if (c >= 0.0 && c < f32(u.K) && c == floor(c)) { loss = lse - X[o + u32(c)]; }`
    : `  // Σ l·(lse − x) rather than lse·Σl − Σ l·x: no cancellation between two large sums.
  var loss = 0.0;
  for (var j = 0u; j < u.K; j++) { loss += LBL[o + j] * (lse - X[o + j]); }`
}
  R[row] = loss * u.invB;
}`,
  }));

// Backward of loss = (1/B) Σ_b rowLoss[b]:
//   dense:  dx[b,k] = g · (probs[b,k] · Σ_j labels[b,j] − labels[b,k]) / B
//   sparse: dx[b,k] = g · (probs[b,k] − [k = classes[b]]) / B
// with g = dLoss[0]. Dense is one invocation per row (it needs Σ labels); sparse is
// element-wise, 4 outputs per invocation.
// dLoss:(1) probs:(B,K) labels:(B,K) | classes:(B) dx:(B,K)
const xentGradProgram = (sparse: boolean) =>
  defineProgram(sparse ? 'sparseSoftmaxCrossEntropyGrad' : 'softmaxCrossEntropyGrad', { sparse }, ({ sparse }) => {
  const body = sparse
    ? `  let first = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = first + j * ${WG}u;
    if (i >= u.rows * u.K) { return; }
    let row = i / u.K;
    let k = i - row * u.K;
    let c = LBL[row];
    var v = ${NAN};
    if (c >= 0.0 && c < f32(u.K) && c == floor(c)) { v = P[i] - select(0.0, 1.0, k == u32(c)); }
    DX[i] = g * v;
  }`
    : `  let row = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (row >= u.rows) { return; }
  let o = row * u.K;
  var sl = 0.0;
  for (var j = 0u; j < u.K; j++) { sl += LBL[o + j]; }
  for (var j = 0u; j < u.K; j++) { DX[o + j] = g * (P[o + j] * sl - LBL[o + j]); }`;
  return {
    inputs: 3,
    outputs: 1,
    code: () => `
${XentU.wgsl}
${storageDecls([['GL', 'f32'], ['P', 'f32'], ['LBL', 'f32']], [['DX', 'f32']])}
${sparse ? NAN_FN : ''}// dLoss:(1) probs:(B,K) ${sparse ? 'classes:(B)' : 'labels:(B,K)'} dx:(B,K)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = GL[0] * u.invB;
${body}
}`,
  };
});

function checkLogits(logits: Tensor, what: string): [number, number] {
  if (logits.rank !== 2 || logits.shape[0] === 0 || logits.shape[1] === 0) {
    throw new ShapeError(`${what}: logits must be (B,K) with B, K > 0; reshape class scores to 2-D`);
  }
  return logits.shape as [number, number];
}

function checkDLoss(dLoss: Tensor, what: string): void {
  if (dLoss.size !== 1) {
    throw new ShapeError(`${what}: dLoss must hold one value (the loss's upstream gradient, shape (1)), got [${dLoss.shape.join(', ')}]`);
  }
}

function checkLabels(logits: readonly number[], labels: Tensor, sparse: boolean, what: string): void {
  const [B, K] = logits as [number, number];
  const ok = sparse ? labels.rank === 1 && labels.shape[0] === B : labels.rank === 2 && labels.shape[0] === B && labels.shape[1] === K;
  if (!ok) {
    throw new ShapeError(
      sparse
        ? `${what}: classes must be (B) = (${B}), one class index per row of logits`
        : `${what}: labels must match logits (${B},${K}): one-hot or soft labels per row`,
    );
  }
}

function crossEntropy(logits: Tensor, labels: Tensor, sparse: boolean): { loss: Tensor; probs: Tensor } {
  const name = sparse ? 'sparseSoftmaxCrossEntropy' : 'softmaxCrossEntropy';
  const what = `${name} ${shapeStr('logits', logits.shape)} ${shapeStr(sparse ? 'classes' : 'labels', labels.shape)}`;
  const [B, K] = checkLogits(logits, what);
  checkLabels(logits.shape, labels, sparse, what);
  const rt: Runtime = logits.runtime;
  if (labels.runtime !== rt) throw new ShapeError(`${what}: logits and labels live on different devices`);
  const probs = empty([B, K], rt, `${name}.probs`);
  const rowLoss = empty([B], rt, `${name}.rowLoss`);
  try {
    const [gx, gy] = grid1d(Math.ceil(B / WG), rt);
    rt.dispatch({
      program: xentProgram(sparse),
      inputs: [{ buffer: logits.buffer }, { buffer: labels.buffer }],
      outputs: [{ buffer: probs.buffer }, { buffer: rowLoss.buffer }],
      uniforms: XentU.pack({ rows: B, K, nwgx: gx, invB: 1 / B }),
      workgroups: [gx, gy],
      shapes: what,
      cost: 4 * B * K * 5,
    });
    const loss = sum(rowLoss, [0], true);
    return { loss, probs };
  } catch (e) {
    probs.dispose();
    throw e;
  } finally {
    rowLoss.dispose();
  }
}

function crossEntropyGrad(dLoss: Tensor, probs: Tensor, labels: Tensor, sparse: boolean): Tensor {
  const name = sparse ? 'sparseSoftmaxCrossEntropyGrad' : 'softmaxCrossEntropyGrad';
  const what = `${name} ${shapeStr('dLoss', dLoss.shape)} ${shapeStr('probs', probs.shape)} ${shapeStr(sparse ? 'classes' : 'labels', labels.shape)}`;
  checkDLoss(dLoss, what);
  const [B, K] = checkLogits(probs, what);
  checkLabels(probs.shape, labels, sparse, what);
  const threads = sparse ? Math.ceil((B * K) / PER_THREAD) : B;
  const [gx, gy] = grid1d(Math.ceil(threads / WG), probs.runtime);
  return launch({
    program: xentGradProgram(sparse),
    inputs: [dLoss, probs, labels],
    outShape: [B, K],
    uniforms: XentU.pack({ rows: B, K, nwgx: gx, invB: 1 / B }),
    workgroups: [gx, gy],
    shapes: what,
    cost: 4 * B * K * 3,
  });
}

/**
 * Softmax cross-entropy averaged over the batch: loss = mean_b −Σ_k labels·logSoftmax(logits),
 * as tf.losses.softmaxCrossEntropy with Reduction.MEAN. Labels are one-hot or soft (B,K); the
 * softmax probabilities are returned for the backward.
 * @example
 *   const { loss, probs } = softmaxCrossEntropy(logits, oneHot);   // (B,K), (B,K) → (1), (B,K)
 */
// logits:(B,K) labels:(B,K) loss:(1) probs:(B,K)
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor): { loss: Tensor; probs: Tensor } {
  return crossEntropy(logits, labels, false);
}

/**
 * Backward of `{ loss } = softmaxCrossEntropy(logits, labels)` with respect to the logits:
 * dlogits = dLoss·(probs·Σ_k labels − labels)/B. When every label row sums to 1 (one-hot, or a
 * probability distribution) this is the familiar dLoss·(probs − labels)/B; labels that do not
 * sum to 1 scale the loss (and so the probs term) by their row sum, which this general form
 * keeps (the short form would then be wrong). The labels' own gradient is not computed.
 * @example
 *   const dLogits = softmaxCrossEntropyGrad(dLoss, probs, oneHot);   // dLoss:(1) → (B,K)
 */
// dLoss:(1) probs:(B,K) labels:(B,K) dlogits:(B,K)
export function softmaxCrossEntropyGrad(dLoss: Tensor, probs: Tensor, labels: Tensor): Tensor {
  return crossEntropyGrad(dLoss, probs, labels, false);
}

/**
 * Softmax cross-entropy with integer class indices (a float tensor (B)) instead of one-hot rows:
 * loss = mean_b (logSumExp(logits_b) − logits[b, classes_b]). A class that is not an integer
 * in [0, K) makes the loss NaN (checked on the GPU; nothing is read back).
 * @example
 *   const { loss, probs } = sparseSoftmaxCrossEntropy(logits, upload([3, 0, 7], [3]));   // logits:(3,10)
 */
// logits:(B,K) classes:(B) loss:(1) probs:(B,K)
export function sparseSoftmaxCrossEntropy(logits: Tensor, classes: Tensor): { loss: Tensor; probs: Tensor } {
  return crossEntropy(logits, classes, true);
}

/**
 * Backward of `{ loss } = sparseSoftmaxCrossEntropy(logits, classes)`:
 * dlogits = dLoss·(probs − oneHot(classes))/B; rows with an invalid class are NaN.
 * @example
 *   const dLogits = sparseSoftmaxCrossEntropyGrad(dLoss, probs, classes);   // (B,K)
 */
// dLoss:(1) probs:(B,K) classes:(B) dlogits:(B,K)
export function sparseSoftmaxCrossEntropyGrad(dLoss: Tensor, probs: Tensor, classes: Tensor): Tensor {
  return crossEntropyGrad(dLoss, probs, classes, true);
}

// partial[t] = (1/n) Σ_{i ≡ t mod parts} (pred[i] − target[i])²; consecutive lanes read
// consecutive elements. The partials are then summed by reduce.ts.
// pred:(n) target:(n) partial:(parts)
const MsePartialU = uniformDecl({ n: 'u32', parts: 'u32', nwgx: 'u32', invN: 'f32' }, 'meanSquaredError');
const msePartialProgram = defineProgram('meanSquaredError', {}, () => ({
  inputs: 2,
  outputs: 1,
  code: () => `
${MsePartialU.wgsl}
${storageDecls([['PR', 'f32'], ['TG', 'f32']], [['S', 'f32']])}
// pred:(n) target:(n) partial:(parts)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (t >= u.parts) { return; }
  var acc = 0.0;
  for (var i = t; i < u.n; i += u.parts) { let d = PR[i] - TG[i]; acc += d * d; }
  S[t] = acc * u.invN;
}`,
}));

// Backward of loss = mean((pred − target)²):  dpred = 2·dLoss·(pred − target)/n (dtarget = −dpred).
// dLoss:(1) pred:(n) target:(n) dpred:(n)
const MseGradU = uniformDecl({ n: 'u32', nwgx: 'u32', scale: 'f32' }, 'meanSquaredErrorGrad');
const mseGradProgram = defineProgram('meanSquaredErrorGrad', {}, () => ({
  inputs: 3,
  outputs: 1,
  code: () => `
${MseGradU.wgsl}
${storageDecls([['GL', 'f32'], ['PR', 'f32'], ['TG', 'f32']], [['DX', 'f32']])}
// dLoss:(1) pred:(n) target:(n) dpred:(n)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let g = GL[0] * u.scale;
  let first = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = first + j * ${WG}u;
    if (i >= u.n) { return; }
    DX[i] = g * (PR[i] - TG[i]);
  }
}`,
}));

function checkSame(pred: Tensor, target: Tensor, what: string): void {
  if (pred.rank !== target.rank || pred.shape.some((d, a) => d !== target.shape[a])) {
    throw new ShapeError(`${what}: pred and target must have the same shape (no broadcasting)`);
  }
  if (pred.size === 0) throw new ShapeError(`${what}: the mean of no elements is undefined; pass non-empty tensors`);
}

/**
 * Mean squared error over all elements: loss = mean((pred − target)²), as
 * tf.losses.meanSquaredError with Reduction.MEAN (or its default, without weights).
 * @example
 *   const loss = meanSquaredError(pred, target);   // (N,H,W,C) twice → (1)
 */
// pred:(any) target:(same) loss:(1)
export function meanSquaredError(pred: Tensor, target: Tensor): Tensor {
  const what = `meanSquaredError ${shapeStr('pred', pred.shape)} ${shapeStr('target', target.shape)}`;
  checkSame(pred, target, what);
  const n = pred.size;
  const parts = Math.max(1, Math.min(MSE_PARTS, Math.ceil(n / 64)));
  const [gx, gy] = grid1d(Math.ceil(parts / WG), pred.runtime);
  const partial = launch({
    program: msePartialProgram,
    inputs: [pred, target],
    outShape: [parts],
    uniforms: MsePartialU.pack({ n, parts, nwgx: gx, invN: 1 / n }),
    workgroups: [gx, gy],
    shapes: what,
    cost: 8 * n,
  });
  try {
    return sum(partial, [0], true);
  } finally {
    partial.dispose();
  }
}

/**
 * Backward of `loss = meanSquaredError(pred, target)` with respect to pred:
 * dpred = 2·dLoss·(pred − target)/n (the target's gradient is its negative).
 * @example
 *   const dPred = meanSquaredErrorGrad(dLoss, pred, target);   // dLoss:(1) → pred's shape
 */
// dLoss:(1) pred:(any) target:(same) dpred:(same)
export function meanSquaredErrorGrad(dLoss: Tensor, pred: Tensor, target: Tensor): Tensor {
  const what = `meanSquaredErrorGrad ${shapeStr('dLoss', dLoss.shape)} ${shapeStr('pred', pred.shape)} ${shapeStr('target', target.shape)}`;
  checkDLoss(dLoss, what);
  checkSame(pred, target, what);
  const n = pred.size;
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), pred.runtime);
  return launch({
    program: mseGradProgram,
    inputs: [dLoss, pred, target],
    outShape: pred.shape,
    uniforms: MseGradU.pack({ n, nwgx: gx, scale: 2 / n }),
    workgroups: [gx, gy],
    shapes: what,
    cost: 16 * n,
  });
}
