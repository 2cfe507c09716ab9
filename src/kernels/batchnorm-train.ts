// Training-mode batch normalisation: batch statistics over every axis but the last, the
// backward pass through them, and the moving-average update of the stored statistics
// (Ioffe & Szegedy 2015, "Batch Normalization", Algorithm 1 and the backward of §3).
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { batchNorm } from './batchnorm.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;
const PER_THREAD = 4;
/** Aim for at least this many partial sums in flight (all cores busy at batch 1). */
const TARGET_LANES = 8192;
/** No split shorter than this many rows. */
const MIN_CHUNK = 64;

type ColumnMode = 'sum' | 'sqdev' | 'grad';

// x viewed as (R,C), rows split into S chunks of `chunk` rows; invocation (s, c) writes
//   sum:   P[s, c]      = scale · Σ_r x[r,c]
//   sqdev: P[s, c]      = scale · Σ_r (x[r,c] - mean[c])²                     (inputs x, mean)
//   grad:  P[s, c]      = scale · Σ_r dy[r,c]                                 (inputs dy, x, mean)
//          P[s, C + c]  = scale · Σ_r dy[r,c] · (x[r,c] - mean[c])
// Lanes run along c, so neighbouring lanes read neighbouring addresses of a row.
const ColumnU = uniformDecl({ lanes: 'u32', nwgx: 'u32', R: 'u32', C: 'u32', chunk: 'u32', scale: 'f32' }, 'batchNormTrain column sums');
const columnProgram = (mode: ColumnMode) => defineProgram(`batchnorm-train.${mode}`, { mode }, ({ mode }) => {
  const ins: [string, string][] = mode === 'sum' ? [['X', 'f32']]
    : mode === 'sqdev' ? [['X', 'f32'], ['M', 'f32']] : [['DY', 'f32'], ['X', 'f32'], ['M', 'f32']];
  const setup = mode === 'sum' ? '' : 'let m = M[c];';
  const body = {
    sum: 'acc += X[r * u.C + c];',
    sqdev: 'let d = X[r * u.C + c] - m; acc += d * d;',
    grad: 'let g = DY[r * u.C + c]; acc += g; acc2 += g * (X[r * u.C + c] - m);',
  }[mode];
  const write = mode === 'grad'
    ? 'P[s * 2u * u.C + c] = acc * u.scale;\n  P[s * 2u * u.C + u.C + c] = acc2 * u.scale;'
    : 'P[s * u.C + c] = acc * u.scale;';
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${ColumnU.wgsl}
${storageDecls(ins, [['P', 'f32']])}
// x,dy:(R,C) mean:(C) partials:(S,${mode === 'grad' ? '2C' : 'C'})
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (t >= u.lanes) { return; }
  let c = t % u.C;
  let s = t / u.C;
  ${setup}
  let r0 = s * u.chunk;
  let r1 = min(r0 + u.chunk, u.R);
  var acc = 0.0;
  var acc2 = 0.0;
  for (var r = r0; r < r1; r++) {
    ${body}
  }
  ${write}
}`,
  };
});

/**
 * Column reductions of an (R,C) view, scaled: (C) or (2C) for 'grad'. Long columns are split
 * into chunks whose partial sums a second 'sum' pass adds up (recursively while still long).
 */
function columnSums(mode: ColumnMode, inputs: Tensor[], R: number, C: number, scale: number, shapes: string): Tensor {
  const width = mode === 'grad' ? 2 * C : C;
  const splits = Math.max(1, Math.min(Math.floor(R / MIN_CHUNK), Math.ceil(TARGET_LANES / C)));
  const chunk = Math.ceil(R / splits);
  const lanes = splits * C;
  const rt = inputs[0]!.runtime;
  const [gx, gy] = grid1d(Math.ceil(lanes / WG), rt);
  const partial = launch({
    program: columnProgram(mode), inputs, outShape: splits > 1 ? [splits, width] : [width],
    uniforms: ColumnU.pack({ lanes, nwgx: gx, R, C, chunk, scale: splits > 1 ? 1 : scale }), workgroups: [gx, gy],
    shapes, cost: inputs.reduce((a, t) => a + t.byteLength, 0),
  });
  if (splits === 1) return partial;
  try {
    return columnSums('sum', [partial], splits, width, scale, shapes);
  } finally {
    partial.dispose();
  }
}

export interface BatchNormTrainParams {
  /** Scale γ; 1 when absent (Keras `scale=False`). */
  gamma?: Tensor;
  /** Offset β; 0 when absent (Keras `center=False`). */
  beta?: Tensor;
  /** Keras's and tfjs's default is 1e-3. */
  epsilon?: number;
}

function checkChannelParams(op: string, x: Tensor, named: [string, Tensor | undefined][], extra = ''): { R: number; C: number } {
  const C = x.shape[x.rank - 1] ?? 0;
  const shapes = [shapeStr('x', x.shape), ...named.filter(([, t]) => t).map(([n, t]) => shapeStr(n, t!.shape))].join(' ') + extra;
  if (x.rank < 2) throw new ShapeError(`${op} (${shapes}): input needs a batch axis and a channel axis, e.g. (N,H,W,C) or (N,C)`);
  for (const [n, t] of named) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw new ShapeError(`${op} (${shapes}): ${n} must have shape (${C}), one value per channel of the last axis`);
    }
  }
  const R = C === 0 ? 0 : x.size / C;
  if (R === 0 || C === 0) throw new ShapeError(`${op} (${shapes}): an empty batch has no statistics; pass at least one value per channel`);
  return { R, C };
}

/**
 * Batch normalisation in training mode over the last axis: statistics over all other axes,
 * mean first, then the biased (population) variance Σ(x - mean)²/R as a second pass (as
 * Keras/TF normalise with it; one pass of E[x²] - mean² loses digits when |mean| ≫ std).
 * x:(...,C) gamma,beta:(C) y:(...,C) mean,variance:(C)
 * @example
 *   const { y, mean, variance } = batchNormTrain(x, { gamma, beta, epsilon: 1e-3 });
 */
export function batchNormTrain(x: Tensor, p: BatchNormTrainParams = {}): { y: Tensor; mean: Tensor; variance: Tensor } {
  const { R, C } = checkChannelParams('batchNormTrain', x, [['gamma', p.gamma], ['beta', p.beta]]);
  const shapes = shapeStr('x', x.shape);
  const x2 = x.reshape([R, C]);
  let mean: Tensor | null = null, variance: Tensor | null = null;
  try {
    mean = columnSums('sum', [x2], R, C, 1 / R, shapes);
    variance = columnSums('sqdev', [x2, mean], R, C, 1 / R, shapes);
    const y = batchNorm(x, { mean, variance, gamma: p.gamma, beta: p.beta, epsilon: p.epsilon });
    return { y, mean, variance };
  } catch (e) {
    mean?.dispose();
    variance?.dispose();
    throw e;
  } finally {
    x2.dispose();
  }
}

// dy,x:(R,C) mean,variance,gamma:(C) sums:(2C) = [Σdy, Σdy·(x-mean)] dx:(R,C);
//   x̂ = (x - mean)·rstd, rstd = 1/√(var+ε)
//   dx = γ·rstd·(dy - Σdy/R - x̂·Σ(dy·x̂)/R) = γ·rstd·(dy - A/R - (x-mean)·rstd²·B/R)
// Each workgroup covers WG·PER_THREAD consecutive elements; lane l takes l, l+WG, … (coalesced).
const DxU = uniformDecl({ total: 'u32', nwgx: 'u32', C: 'u32', invR: 'f32', eps: 'f32' }, 'batchNormTrainGrad');
const dxProgram = (hasGamma: boolean) => defineProgram('batchnorm-train.dx', { hasGamma }, ({ hasGamma }) => {
  const ins: [string, string][] = [['DY', 'f32'], ['X', 'f32'], ['M', 'f32'], ['V', 'f32'], ['S', 'f32']];
  if (hasGamma) ins.push(['G', 'f32']);
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${DxU.wgsl}
${storageDecls(ins, [['DX', 'f32']])}
// dy,x:(R,C) mean,variance,gamma:(C) sums:(2C) dx:(R,C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = base + k * ${WG}u;
    if (i >= u.total) { return; }
    let c = i % u.C;
    let rstd = inverseSqrt(V[c] + u.eps);
    let meanDy = S[c] * u.invR;
    let meanDyXc = S[u.C + c] * u.invR;   // mean of dy·(x - mean)
    let xc = X[i] - M[c];
    DX[i] = ${hasGamma ? 'G[c] * ' : ''}rstd * (DY[i] - meanDy - xc * rstd * rstd * meanDyXc);
  }
}`,
  };
});

// sums:(2C) variance:(C) → dBeta:(C) = Σdy, or dGamma:(C) = Σdy·(x-mean)·rstd.
const ParamGradU = uniformDecl({ C: 'u32', nwgx: 'u32', eps: 'f32' }, 'batchNormTrainGrad params');
const paramGradProgram = (which: 'beta' | 'gamma') => defineProgram('batchnorm-train.param-grad', { which }, ({ which }) => {
  const ins: [string, string][] = which === 'beta' ? [['S', 'f32']] : [['S', 'f32'], ['V', 'f32']];
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${ParamGradU.wgsl}
${storageDecls(ins, [['D', 'f32']])}
// sums:(2C) variance:(C) d:(C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (c >= u.C) { return; }
  D[c] = ${which === 'beta' ? 'S[c]' : 'S[u.C + c] * inverseSqrt(V[c] + u.eps)'};
}`,
  };
});

/**
 * Backward of `{ y } = batchNormTrain(x, { gamma, beta, epsilon })`, differentiating through
 * the batch statistics (mean and variance depend on x). `mean` and `variance` are the ones
 * batchNormTrain returned. dGamma is returned even without gamma (the gradient for γ = 1).
 * dy,x:(...,C) mean,variance,gamma:(C) → dx:(...,C) dGamma,dBeta:(C)
 * @example
 *   const { y, mean, variance } = batchNormTrain(x, { gamma, beta });
 *   const { dx, dGamma, dBeta } = batchNormTrainGrad(dy, x, { mean, variance, gamma });
 */
export function batchNormTrainGrad(
  dy: Tensor, x: Tensor, p: { mean: Tensor; variance: Tensor; gamma?: Tensor; epsilon?: number },
): { dx: Tensor; dGamma: Tensor; dBeta: Tensor } {
  const named: [string, Tensor | undefined][] = [['mean', p.mean], ['variance', p.variance], ['gamma', p.gamma]];
  const { R, C } = checkChannelParams('batchNormTrainGrad', x, named, ` ${shapeStr('dy', dy.shape)}`);
  if (dy.rank !== x.rank || dy.shape.some((d, i) => d !== x.shape[i])) {
    throw new ShapeError(`batchNormTrainGrad (${shapeStr('dy', dy.shape)} ${shapeStr('x', x.shape)}): dy must have x's shape`);
  }
  const eps = p.epsilon ?? 1e-3;
  if (!(eps >= 0)) throw new ShapeError(`batchNormTrainGrad: epsilon must be non-negative, got ${eps}`);
  const shapes = `${shapeStr('dy', dy.shape)} ${shapeStr('x', x.shape)}`;
  const dy2 = dy.reshape([R, C]), x2 = x.reshape([R, C]);
  let sums: Tensor | null = null;
  const made: Tensor[] = [];
  try {
    sums = columnSums('grad', [dy2, x2, p.mean], R, C, 1, shapes);
    const total = R * C;
    const [gx, gy] = grid1d(Math.ceil(total / (WG * PER_THREAD)), x.runtime);
    const dxIns = [dy, x, p.mean, p.variance, sums, ...(p.gamma ? [p.gamma] : [])];
    made.push(launch({
      program: dxProgram(!!p.gamma), inputs: dxIns, outShape: x.shape, workgroups: [gx, gy], shapes,
      uniforms: DxU.pack({ total, nwgx: gx, C, invR: 1 / R, eps }), cost: 3 * total * 4,
    }));
    const [cx, cy] = grid1d(Math.ceil(C / WG), x.runtime);
    const u = ParamGradU.pack({ C, nwgx: cx, eps });
    made.push(launch({ program: paramGradProgram('gamma'), inputs: [sums, p.variance], outShape: [C], uniforms: u, workgroups: [cx, cy], shapes }));
    made.push(launch({ program: paramGradProgram('beta'), inputs: [sums], outShape: [C], uniforms: u, workgroups: [cx, cy], shapes }));
    return { dx: made[0]!, dGamma: made[1]!, dBeta: made[2]! };
  } catch (e) {
    for (const t of made) t.dispose();
    throw e;
  } finally {
    sums?.dispose();
    dy2.dispose();
    x2.dispose();
  }
}

// batchMean,batchVar:(C) movingMean,movingVar:(C) updated in place:
//   moving ← moving - (moving - batch)·(1 - momentum)   (= moving·momentum + batch·(1 - momentum))
const MovingU = uniformDecl({ C: 'u32', nwgx: 'u32', decay: 'f32', varScale: 'f32' }, 'updateMovingStats');
const movingProgram = defineProgram('batchnorm-train.moving', {}, () => ({
  inputs: 2,
  outputs: 2,
  code: () => `
${MovingU.wgsl}
${storageDecls([['BM', 'f32'], ['BV', 'f32']], [['MM', 'f32'], ['MV', 'f32']])}
// batchMean,batchVar:(C) movingMean,movingVar:(C), read and written in place
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let c = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (c >= u.C) { return; }
  MM[c] = MM[c] - (MM[c] - BM[c]) * u.decay;
  MV[c] = MV[c] - (MV[c] - BV[c] * u.varScale) * u.decay;
}`,
}));

/**
 * Updates the moving statistics in place on the GPU, as Keras does after a training step:
 * moving = moving·momentum + batch·(1 - momentum), written as tfjs-layers writes it,
 * moving - (moving - batch)·(1 - momentum).
 *
 * Which variance feeds the moving average: tfjs-layers' BatchNormalization (and Keras 3) use
 * the biased batch variance from moments(), the same one that normalised the batch; that is
 * the default here. TensorFlow's fused kernel (tf.keras with fused=True) instead feeds the
 * Bessel-corrected variance; pass `count` (values per channel the statistics came from, e.g.
 * N·H·W) to get that: batch variance · count/(count - 1).
 * moving.mean,moving.variance,batch.mean,batch.variance:(C)
 * @example
 *   const { y, mean, variance } = batchNormTrain(x, { gamma, beta });
 *   updateMovingStats({ mean: movingMean, variance: movingVar }, { mean, variance }, 0.99);
 */
export function updateMovingStats(
  moving: { mean: Tensor; variance: Tensor }, batch: { mean: Tensor; variance: Tensor }, momentum: number, count?: number,
): void {
  const named: [string, Tensor][] = [
    ['moving.mean', moving.mean], ['moving.variance', moving.variance], ['batch.mean', batch.mean], ['batch.variance', batch.variance],
  ];
  const shapes = named.map(([n, t]) => shapeStr(n, t.shape)).join(' ');
  const C = moving.mean.shape[0] ?? 0;
  if (named.some(([, t]) => t.rank !== 1 || t.shape[0] !== C)) {
    throw new ShapeError(`updateMovingStats (${shapes}): all four statistics must have the same shape (C)`);
  }
  if (!(momentum >= 0 && momentum <= 1)) throw new ShapeError(`updateMovingStats: momentum must lie in [0, 1], got ${momentum}`);
  if (count !== undefined && !(Number.isInteger(count) && count > 1)) {
    throw new ShapeError(`updateMovingStats: count must be an integer above 1 (values per channel), got ${count}`);
  }
  const bufs = named.map(([, t]) => t.buffer);
  if (new Set(bufs).size !== bufs.length) {
    throw new ShapeError(`updateMovingStats (${shapes}): the four statistics must be distinct tensors (no views of one another); copy() one first`);
  }
  if (C === 0) return;
  const rt = moving.mean.runtime;
  const [gx, gy] = grid1d(Math.ceil(C / WG), rt);
  rt.dispatch({
    program: movingProgram,
    inputs: [{ buffer: batch.mean.buffer }, { buffer: batch.variance.buffer }],
    outputs: [{ buffer: moving.mean.buffer }, { buffer: moving.variance.buffer }],
    uniforms: MovingU.pack({ C, nwgx: gx, decay: 1 - momentum, varScale: count === undefined ? 1 : count / (count - 1) }),
    workgroups: [gx, gy],
    shapes,
    cost: 6 * C * 4,
  });
}
