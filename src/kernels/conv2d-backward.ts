// Reverse mode of conv2d and depthwiseConv2d (src/kernels/conv2d.ts): the input, weight and bias
// gradients, the choice of tile and split per adapter and shape, and the launches. Kernels live
// in conv2d-backward-input.ts (transposed convolution) and conv2d-backward-weight.ts (split-K GEMM).
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { grid1d, launch, shapeStr } from './program.ts';
import { conv2dOutputShape, type Conv2dGeometry, type Conv2dOptions } from './conv2d-geometry.ts';
import {
  inputGradLaunch, inputGradProgram, transposeWeightsProgram, TransposeWeightsU, type InputGradTile,
} from './conv2d-backward-input.ts';
import { weightGradLaunch, weightGradProgram, type WeightGradTile } from './conv2d-backward-weight.ts';
import { sum } from './reduce.ts';
import { conv2dInputGradTiled, conv2dWeightGradTiled } from './gemm-conv.ts';

export type { InputGradTile } from './conv2d-backward-input.ts';
export type { WeightGradTile } from './conv2d-backward-weight.ts';

/** Options of the backward ops: the forward's, without the epilogue (dy already includes act'). */
export type Conv2dGradOptions = Omit<Conv2dOptions, 'bias' | 'activation'>;

/**
 * dInput tile. Same shape of work as the forward's implicit GEMM (P pixels × KB channels per
 * lane, reduction KH·KW·K/groups), so the same measured rule on lavapipe (bench/NOTES.md): 32
 * lanes, 8 channels per lane (4 when C/groups ≤ 4, 16 for a reduction under 4 channels), 5
 * pixels unless the last block's padding costs more than its ≈20%; GPUs: 64 × 4 × 16 (4).
 */
export function chooseInputGradTile(g: Conv2dGeometry, cpu: boolean): InputGradTile {
  const kb = g.cPerGroup <= 4 ? 4 : g.kPerGroup < 4 ? 16 : 8;
  if (!cpu) return { wgx: 64, p: 4, kb: kb === 4 ? 4 : 16 };
  const wgx = 32;
  const [sh, sw] = g.strides;
  const m = g.n * Math.ceil(g.h / sh) * Math.ceil(g.w / sw);
  const cost = (p: number, speed: number) => (Math.ceil(m / (wgx * p)) * wgx * p) / m / speed;
  return { wgx, p: kb <= 8 && cost(5, 1.2) < cost(4, 1) ? 5 : 4, kb };
}

/**
 * dWeight tile and split. On lavapipe a lane owns 16 input × 16 output channels of one tap when
 * C/groups and K/groups divide by 16 (bench/NOTES.md, "conv2d backward": on 56²×256→256, 16×16
 * ran ≈1.5-2× faster than 4×8, 8×16 and 16×8 in between; the inner loop holds only 8 loads per
 * 64 vec4 FMAs, so its 256 accumulator floats do not hurt as the forward's do), else 4 (C/groups
 * when < 4) × 8 (4 when K/groups ≤ 4); 8 lanes per workgroup, which measured the same as 16 or
 * 32 and wastes the fewest lanes when there are few (an RGB layer has 36). GPUs: 64 lanes × 4 × 8
 * (not measured; a small register tile keeps occupancy). The N·OH output rows are split so that
 * about `target` lanes run (lavapipe 4096; GPUs 128k) while each split keeps ≥ 256 pixels, which
 * bounds the extra pass (S partial sums per weight) to a few % of the GEMM's traffic.
 */
export function chooseWeightGradTile(g: Conv2dGeometry, cpu: boolean): { tile: WeightGradTile; splits: number } {
  const small = { cb: g.cPerGroup % 4 === 0 ? 4 : Math.min(g.cPerGroup, 4), kb: g.kPerGroup <= 4 ? 4 : 8 };
  const tile = cpu
    ? { wgx: 8, cb: g.cPerGroup % 16 === 0 ? 16 : small.cb, kb: g.kPerGroup % 16 === 0 ? 16 : small.kb }
    : { wgx: 64, ...small };
  const lanes = g.kh * g.kw * Math.ceil(g.cPerGroup / tile.cb) * g.groups * Math.ceil(g.kPerGroup / tile.kb);
  const rows = g.n * g.outShape[1];
  const target = cpu ? 4096 : 131072;
  const byPixels = Math.floor((rows * g.outShape[2]) / 256);
  const splits = Math.max(1, Math.min(Math.ceil(target / lanes), byPixels, rows));
  return { tile, splits };
}

function checkDy(op: string, dy: Tensor, g: Conv2dGeometry, shapes: string): void {
  if (dy.rank !== 4 || dy.shape.some((d, i) => d !== g.outShape[i])) {
    throw new ShapeError(`${op}: dy must have the forward output's shape (${g.outShape.join(',')}), got ${shapeStr('dy', dy.shape)} (${shapes})`);
  }
}

/** w:(KH,KW,C/groups,K) → wt:(KH,KW,K/groups,C), each group's (C/g, K/g) block transposed. */
function transposeWeights(w: Tensor, g: Conv2dGeometry): Tensor {
  if (g.cPerGroup === 1 && (g.kPerGroup === 1 || g.groups === 1)) return w.reshape([g.kh, g.kw, g.kPerGroup, g.c]);
  const total = w.size;
  const [gx, gy] = grid1d(Math.ceil(total / 64), w.runtime);
  return launch({
    program: transposeWeightsProgram(),
    inputs: [w],
    outShape: [g.kh, g.kw, g.kPerGroup, g.c],
    uniforms: TransposeWeightsU.pack({ total, c: g.c, k: g.k, cg: g.cPerGroup, kg: g.kPerGroup, nwgx: gx }),
    workgroups: [gx, gy],
    cost: 2 * w.byteLength,
  });
}

/**
 * dInput with an explicit tile (tests and tuning); conv2dInputGrad picks the tile itself.
 * @example
 *   const dx = conv2dInputGradWithTile(dy, w, x.shape, { padding: 'same' }, { wgx: 8, p: 2, kb: 4 });
 */
export function conv2dInputGradWithTile(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Conv2dGradOptions, tile: InputGradTile | null): Tensor {
  const op = 'conv2dInputGrad';
  const g = conv2dOutputShape(xShape, w.shape, opts, op);
  const shapes = `${shapeStr('x', xShape)} ${shapeStr('w', w.shape)} ${shapeStr('dy', dy.shape)} groups=${g.groups}`;
  checkDy(op, dy, g, shapes);
  const rt = dy.runtime;
  const t = tile ?? chooseInputGradTile(g, rt.adapterClass === 'cpu');
  if (t.wgx < 1 || t.p < 1 || t.kb < 4 || t.kb % 4 !== 0) throw new ShapeError(`${op}: bad tile ${JSON.stringify(t)}`);
  const wt = transposeWeights(w, g);
  const l = inputGradLaunch(g, t);
  const [gx, gy] = grid1d(l.blocks, rt);
  try {
    return launch({
      program: inputGradProgram(g, t),
      inputs: [dy, wt],
      outShape: [g.n, g.h, g.w, g.c],
      uniforms: l.uniforms(gx),
      workgroups: [gx, gy, l.cBlocks],
      shapes,
      cost: g.flops,
    });
  } finally {
    wt.dispose();
  }
}

// backward of y = conv2d(x, w): x:(N,H,W,C) w:(KH,KW,C/g,K) y:(N,OH,OW,K)
/**
 * The gradient of conv2d with respect to its input (a transposed convolution): dx:(N,H,W,C).
 * dy:(N,OH,OW,K) must already include the activation's derivative; opts' bias and activation
 * are ignored.
 * @example
 *   const dx = conv2dInputGrad(dy, w, x.shape, { strides: 2, padding: 'same' });
 */
export function conv2dInputGrad(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  return conv2dInputGradTiled(dy, w, xShape, strip(opts)) ?? conv2dInputGradWithTile(dy, w, xShape, strip(opts), null);
}

/**
 * dWeight with an explicit tile and split count (tests and tuning).
 * @example
 *   const dw = conv2dWeightGradWithTile(x, dy, w.shape, {}, { wgx: 8, cb: 4, kb: 4 }, 3);
 */
export function conv2dWeightGradWithTile(
  x: Tensor, dy: Tensor, wShape: readonly number[], opts: Conv2dGradOptions, tile: WeightGradTile | null, splits?: number,
): Tensor {
  const op = 'conv2dWeightGrad';
  const g = conv2dOutputShape(x.shape, wShape, opts, op);
  const shapes = `${shapeStr('x', x.shape)} ${shapeStr('w', wShape)} ${shapeStr('dy', dy.shape)} groups=${g.groups}`;
  checkDy(op, dy, g, shapes);
  const rt = x.runtime;
  const auto = chooseWeightGradTile(g, rt.adapterClass === 'cpu');
  const t = tile ?? auto.tile;
  const cv4 = g.cPerGroup % 4 === 0;
  if (t.wgx < 1 || t.cb < 1 || t.kb < 4 || t.kb % 4 !== 0 || (cv4 && t.cb % 4 !== 0)) {
    throw new ShapeError(`${op}: bad tile ${JSON.stringify(t)} (cb must be a multiple of 4 when C/groups is)`);
  }
  const maxSplits = rt.limits.maxComputeWorkgroupsPerDimension; // splits run along workgroup z
  const l = weightGradLaunch(g, t, Math.min(maxSplits, Math.max(1, Math.floor(splits ?? auto.splits))));
  const [gx, gy] = grid1d(l.laneBlocks, rt);
  const part = launch({
    program: weightGradProgram(g, t),
    inputs: [x, dy],
    outShape: l.splits > 1 ? [l.splits, ...wShape] : wShape,
    uniforms: l.uniforms(gx),
    workgroups: [gx, gy, l.splits],
    shapes: `${shapes} splits=${l.splits}`,
    cost: g.flops,
  });
  if (l.splits === 1) return part;
  try {
    return sum(part, [0]);
  } finally {
    part.dispose();
  }
}

/**
 * The gradient of conv2d with respect to its weights: dw:(KH,KW,C/groups,K) =
 * Σ_{n,oh,ow} x[n, oh·sh - pt + kh·dh, ow·sw - pl + kw·dw, c]·dy[n,oh,ow,k].
 * @example
 *   const dw = conv2dWeightGrad(x, dy, w.shape, { padding: 'same' });
 */
export function conv2dWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], opts: Conv2dOptions = {}): Tensor {
  return conv2dWeightGradTiled(x, dy, wShape, strip(opts)) ?? conv2dWeightGradWithTile(x, dy, wShape, strip(opts), null);
}

/**
 * The gradient of conv2d's bias: (K) = Σ_{n,oh,ow} dy.
 * @example
 *   const db = conv2dBiasGrad(dy);   // dy:(N,OH,OW,K) → (K)
 */
export function conv2dBiasGrad(dy: Tensor): Tensor {
  if (dy.rank !== 4) throw new ShapeError(`conv2dBiasGrad: dy must be (N,OH,OW,K), got ${shapeStr('dy', dy.shape)}`);
  return sum(dy, [0, 1, 2]);
}

function strip(opts: Conv2dOptions): Conv2dGradOptions {
  const { bias: _b, activation: _a, ...rest } = opts;
  return rest;
}

/** w:(KH,KW,C,M) of a depthwise conv as the grouped conv's (KH,KW,1,C·M), groups = C. */
function depthwiseAsGrouped(op: string, xShape: readonly number[], wShape: readonly number[], opts: Conv2dOptions) {
  if ((opts as Conv2dOptions).groups !== undefined) throw new ShapeError(`${op}: groups is implied (= C); do not pass it`);
  const shapes = `${shapeStr('x', xShape)} ${shapeStr('w', wShape)}`;
  if (xShape.length !== 4 || wShape.length !== 4) throw new ShapeError(`${op}: x must be (N,H,W,C) and w (KH,KW,C,M), got ${shapes}`);
  const [kh, kw, wc, m] = wShape as [number, number, number, number];
  if (wc !== xShape[3]) throw new ShapeError(`${op}: w's third axis (${wc}) must equal x's channels (${xShape[3]}): ${shapes}; w is (KH,KW,C,M)`);
  return { wg: [kh, kw, 1, wc * m], opts: { ...strip(opts), groups: wc } };
}

// backward of y = depthwiseConv2d(x, w): x:(N,H,W,C) w:(KH,KW,C,M) y:(N,OH,OW,C·M)
/**
 * The gradient of depthwiseConv2d with respect to its input: dx:(N,H,W,C).
 * @example
 *   const dx = depthwiseConv2dInputGrad(dy, w, x.shape, { padding: 'same' });
 */
export function depthwiseConv2dInputGrad(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Omit<Conv2dOptions, 'groups'> = {}): Tensor {
  const d = depthwiseAsGrouped('depthwiseConv2dInputGrad', xShape, w.shape, opts);
  const wv = w.reshape(d.wg);
  try {
    return conv2dInputGradWithTile(dy, wv, xShape, d.opts, null);
  } finally {
    wv.dispose();
  }
}

/**
 * The gradient of depthwiseConv2d with respect to its weights: dw:(KH,KW,C,M).
 * @example
 *   const dw = depthwiseConv2dWeightGrad(x, dy, w.shape, { strides: 2, padding: 'same' });
 */
export function depthwiseConv2dWeightGrad(x: Tensor, dy: Tensor, wShape: readonly number[], opts: Omit<Conv2dOptions, 'groups'> = {}): Tensor {
  const d = depthwiseAsGrouped('depthwiseConv2dWeightGrad', x.shape, wShape, opts);
  const dw = conv2dWeightGradWithTile(x, dy, d.wg, d.opts, null);
  const out = dw.reshape(wShape);
  dw.dispose();
  return out;
}
