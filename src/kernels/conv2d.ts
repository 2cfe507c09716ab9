// 2-D convolution forward (NHWC activations, HWIO weights): validation, the choice of kernel
// variant per adapter and shape, and the launch. The kernels live in conv2d-gemm.ts (implicit
// GEMM, register-blocked) and conv2d-depthwise.ts; geometry in conv2d-geometry.ts.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { grid1d, launch, shapeStr } from './program.ts';
import { checkEpilogue, conv2dOutputShape, type Conv2dGeometry, type Conv2dOptions } from './conv2d-geometry.ts';
import { gemmLaunch, gemmProgram, type ConvTile } from './conv2d-gemm.ts';
import { DEPTHWISE_WGX, depthwiseProgram, depthwiseUniforms } from './conv2d-depthwise.ts';
import { conv2dTiled } from './gemm-conv.ts';

export { conv2dOutputShape, type Conv2dGeometry, type Conv2dOptions, type Pads } from './conv2d-geometry.ts';
export { type ConvTile } from './conv2d-gemm.ts';

/**
 * The tile for one call. Measured on lavapipe (bench/NOTES.md, "conv2d forward"; GFLOP/s on
 * 56²×256→256: gemm 32×5×8 ≈ 24, 32×4×8 ≈ 20-22, row 16×4×8 ≈ 10, tfjs-webgpu ≈ 6):
 * - `gemm` with 32 lanes per workgroup and 8 output channels per lane (12 or 16 spill registers
 *   and run 2-4× slower; 4 when K/groups ≤ 4, 16 for a tiny reduction such as an RGB input);
 * - 5 pixels per lane (≈20% faster than 4; 4 with 16 channels) unless the padding of the last
 *   pixel block wastes more than that, as on 14×14 maps, where 4 wins;
 * - `row` (input columns shared across kw) measured 2× slower on lavapipe, so it is never
 *   picked there.
 * On GPUs (NVIDIA H200 through Dawn/Vulkan, bench/NOTES.md): `row`, 64 lanes × 4 pixels × 8
 * channels (≈4-7 TFLOP/s on VGG's 3×3 layers vs ≈2.5-3 for gemm 64×4×8), else `gemm` 64 × 4 × 16.
 * conv2d() itself runs groups = 1 layers through the tiled GEMM core on 'gpu' adapters (gemm-conv.ts).
 */
export function chooseConvTile(g: Conv2dGeometry, cpu: boolean): ConvTile {
  const kb = g.kPerGroup <= 4 ? 4 : g.cPerGroup < 4 ? 16 : 8;
  const rowOk = g.strides[1] === 1 && g.dilations[1] === 1 && g.kw > 1;
  if (!cpu) {
    return rowOk ? { kind: 'row', wgx: 64, p: 4, kb: Math.min(kb, 8) } : { kind: 'gemm', wgx: 64, p: 4, kb: kb === 4 ? 4 : 16 };
  }
  const m = g.n * g.outShape[1] * g.outShape[2];
  // Lanes paid for per useful pixel, divided by the measured speed-up of 5 pixels per lane.
  const cost = (wgx: number, p: number) => (Math.ceil(m / (wgx * p)) * wgx * p) / m / (p === 5 ? 1.2 : 1);
  const ps = kb <= 8 ? [4, 5] : [4];
  // CONV_POLICY.cpuFine (off by default; an A/B hook): cpuFine.lanes lanes instead of 32 on maps of
  // minPixels ≤ N·OH·OW < maxPixels with 8-channel tiles.
  const fine = CONV_POLICY.cpuFine;
  const wide = fine && kb === 8 && m >= fine.minPixels && m < fine.maxPixels ? fine.lanes : 32;
  let best = { wgx: wide, p: ps.length > 1 && cost(wide, 5) < cost(wide, 4) ? 5 : 4 };
  const base = cost(best.wgx, best.p);
  // Fewer lanes per workgroup where 32 would leave many idle (maps of ≤ 14×14 at batch 1: an 8×8
  // map is 16 lanes of 4 pixels, half of a 32-lane group); only for a ≥ 10 % saving.
  for (const wgx of CONV_POLICY.cpuLanes) {
    for (const p of ps) if (wgx < wide && cost(wgx, p) < Math.min(CONV_POLICY.cpuLaneGain * base, cost(best.wgx, best.p))) best = { wgx, p };
  }
  return { kind: 'gemm', wgx: best.wgx, p: best.p, kb };
}

/**
 * CPU-adapter tile policy: the smaller workgroups chooseConvTile may use, and the padding saving
 * they must bring (cost ratio). Mutable for A/B timing only (bench/tune-inception.ts sets
 * `cpuLanes = []` to time the old, always-32-lane choice in the same process).
 * `cpuFine`: other lanes than 32 on maps of minPixels ≤ N·OH·OW < maxPixels (`--fine=L@MIN-MAX`).
 * Off: on idle lavapipe, 8 or 16 lanes on maps ≥ 1000 pixels and 16 on 17² maps gave no
 * whole-forward gain (bench/NOTES.md, "InceptionV3 on lavapipe", s3-inc2).
 */
export const CONV_POLICY = {
  cpuLanes: [16, 8] as number[],
  cpuLaneGain: 0.9,
  cpuFine: null as { lanes: number; minPixels: number; maxPixels: number } | null,
};

function checkTile(t: ConvTile): void {
  if (t.wgx < 1 || t.p < 1 || t.kb < 4 || t.kb % 4 !== 0) throw new ShapeError(`conv2d: bad tile ${JSON.stringify(t)}`);
}

/**
 * conv2d with an explicit tile (for tests and tuning); conv2d() picks the tile itself.
 * @example
 *   const y = conv2dWithTile(x, w, { padding: 'same' }, { kind: 'gemm', wgx: 8, p: 2, kb: 8 });
 */
export function conv2dWithTile(x: Tensor, w: Tensor, opts: Conv2dOptions, tile: ConvTile | null): Tensor {
  const g = conv2dOutputShape(x.shape, w.shape, opts);
  const act = checkEpilogue(g, opts, 'conv2d', x.shape, w.shape);
  const rt = x.runtime;
  const t = tile ?? chooseConvTile(g, rt.adapterClass === 'cpu');
  checkTile(t);
  if (t.kind === 'row' && (g.strides[1] !== 1 || g.dilations[1] !== 1)) {
    throw new ShapeError(`conv2d: the 'row' tile needs stride 1 and dilation 1 along W, got ${g.strides[1]} and ${g.dilations[1]}`);
  }
  const l = gemmLaunch(g, t);
  const [gx, gy] = grid1d(l.pixelBlocks, rt);
  const bias = opts.bias;
  return launch({
    program: gemmProgram(g, t, !!bias, act),
    inputs: bias ? [x, w, bias] : [x, w],
    outShape: g.outShape,
    uniforms: l.uniforms(gx),
    workgroups: [gx, gy, l.kBlocks],
    shapes: `${shapeStr('x', x.shape)} ${shapeStr('w', w.shape)} ${shapeStr('y', g.outShape)} groups=${g.groups}`,
    cost: g.flops,
  });
}

/**
 * 2-D convolution with fused bias and activation, like tf.fused.conv2d.
 * x:(N,H,W,C) w:(KH,KW,C/groups,K) bias:(K) → y:(N,OH,OW,K)
 * @example
 *   const y = conv2d(x, w, { padding: 'same', bias: b, activation: 'relu' });
 */
export function conv2d(x: Tensor, w: Tensor, opts: Conv2dOptions = {}): Tensor {
  // The tiled GEMM core on GPUs (gemm-tiles.ts plans it); the register-blocked kernels on CPU adapters.
  return conv2dTiled(x, w, opts) ?? conv2dWithTile(x, w, opts, null);
}

/**
 * Keras DepthwiseConv2D: output channel c·M+m is input channel c convolved with w[:,:,c,m].
 * x:(N,H,W,C) w:(KH,KW,C,M) bias:(C·M) → y:(N,OH,OW,C·M)
 * @example
 *   const y = depthwiseConv2d(x, w, { strides: 2, padding: 'same', activation: 'relu6' });
 */
export function depthwiseConv2d(x: Tensor, w: Tensor, opts: Omit<Conv2dOptions, 'groups'> = {}): Tensor {
  if ((opts as Conv2dOptions).groups !== undefined) throw new ShapeError('depthwiseConv2d: groups is implied (= C); do not pass it');
  const shapes = `${shapeStr('x', x.shape)} ${shapeStr('w', w.shape)}`;
  if (x.rank !== 4 || w.rank !== 4) throw new ShapeError(`depthwiseConv2d: x must be (N,H,W,C) and w (KH,KW,C,M), got ${shapes}`);
  const [kh, kw, wc, m] = w.shape as [number, number, number, number];
  if (wc !== x.shape[3]) {
    throw new ShapeError(`depthwiseConv2d: w's third axis (${wc}) must equal x's channels (${x.shape[3]}): ${shapes}; w is (KH,KW,C,M)`);
  }
  // A depthwise conv is a grouped conv with groups = C and weights viewed as (KH,KW,1,C·M):
  // the same memory, since ((kh·KW+kw)·C + c)·M + m = (kh·KW+kw)·C·M + (c·M+m).
  const gOpts = { ...opts, groups: wc };
  const g = conv2dOutputShape(x.shape, [kh, kw, 1, wc * m], gOpts, 'depthwiseConv2d');
  const act = checkEpilogue(g, gOpts, 'depthwiseConv2d', x.shape, w.shape);
  const rt = x.runtime;
  const [n, oh, ow] = g.outShape;
  const [gx, gy] = grid1d(Math.ceil((n * oh * ow) / DEPTHWISE_WGX), rt);
  const bias = opts.bias;
  return launch({
    program: depthwiseProgram(!!bias, act),
    inputs: bias ? [x, w, bias] : [x, w],
    outShape: g.outShape,
    uniforms: depthwiseUniforms(g, gx),
    workgroups: [gx, gy, Math.ceil(g.k / 4)],
    shapes: `${shapes} ${shapeStr('y', g.outShape)}`,
    cost: g.flops,
  });
}
