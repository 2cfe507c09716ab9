// Max and average pooling over NHWC windows (TensorFlow padding rules) and the global
// poolings that end most classifier backbones (GAP/GMP before the dense head).
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

/** 'valid', 'same' (TensorFlow's split: the extra pixel goes bottom/right) or [[top,bottom],[left,right]]. */
export type PoolPadding = 'valid' | 'same' | [[number, number], [number, number]];

export interface PoolOptions {
  window: number | [number, number];
  /** Defaults to the window (Keras's default). */
  strides?: number | [number, number];
  /** Defaults to 'valid'. */
  padding?: PoolPadding;
}

export interface PoolGeometry {
  kh: number; kw: number; sh: number; sw: number;
  pt: number; pl: number; oh: number; ow: number;
}

const pair = (v: number | [number, number]): [number, number] => (typeof v === 'number' ? [v, v] : v);
const WG = 64;

/** Output size and top/left padding of a pooling window over (H,W), as TensorFlow computes them. */
export function poolGeometry(op: string, xShape: readonly number[], opts: PoolOptions): PoolGeometry {
  const shapes = shapeStr('x', xShape);
  if (xShape.length !== 4) throw new ShapeError(`${op} (${shapes}): input must be NHWC (N,H,W,C)`);
  const [, H, W] = xShape as [number, number, number, number];
  const [kh, kw] = pair(opts.window);
  const [sh, sw] = pair(opts.strides ?? opts.window);
  for (const v of [kh, kw, sh, sw]) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ShapeError(`${op} (${shapes}): window ${kh}×${kw} and strides ${sh}×${sw} must be positive integers`);
    }
  }
  const pad = opts.padding ?? 'valid';
  let pt = 0, pb = 0, pl = 0, pr = 0;
  if (pad === 'same') {
    const oh = Math.ceil(H / sh), ow = Math.ceil(W / sw);
    const th = Math.max((oh - 1) * sh + kh - H, 0), tw = Math.max((ow - 1) * sw + kw - W, 0);
    pt = Math.floor(th / 2); pb = th - pt; pl = Math.floor(tw / 2); pr = tw - pl;
  } else if (Array.isArray(pad)) {
    [[pt, pb], [pl, pr]] = pad;
    if ([pt, pb, pl, pr].some((p) => !Number.isInteger(p) || p < 0)) {
      throw new ShapeError(`${op} (${shapes}): explicit padding [[${pt},${pb}],[${pl},${pr}]] must be non-negative integers`);
    }
    if (pt >= kh || pb >= kh || pl >= kw || pr >= kw) {
      throw new ShapeError(`${op} (${shapes}): padding [[${pt},${pb}],[${pl},${pr}]] must be smaller than the ${kh}×${kw} window, or some windows would hold only padding`);
    }
  } else if (pad !== 'valid') {
    throw new ShapeError(`${op}: unknown padding '${String(pad)}'; use 'valid', 'same' or [[top,bottom],[left,right]]`);
  }
  const oh = Math.floor((H + pt + pb - kh) / sh) + 1;
  const ow = Math.floor((W + pl + pr - kw) / sw) + 1;
  if (oh < 1 || ow < 1) {
    throw new ShapeError(`${op} (${shapes}): the ${kh}×${kw} window does not fit the ${H}×${W} input with padding '${JSON.stringify(pad)}'; use 'same' padding or a smaller window`);
  }
  return { kh, kw, sh, sw, pt, pl, oh, ow };
}

/** Per-call values of a windowed pooling; C counts vec4s when the program is vectorised. */
const PoolU = uniformDecl({
  total: 'u32', nwgx: 'u32', H: 'u32', W: 'u32', C: 'u32', OH: 'u32', OW: 'u32',
  kh: 'u32', kw: 'u32', sh: 'u32', sw: 'u32', pt: 'u32', pl: 'u32',
}, 'pool');

// x:(N,H,W,C) y:(N,OH,OW,C); one invocation per output (vec4 of channels when C % 4 == 0).
// Padded positions are skipped: max ignores them, avg divides by the in-bounds count (TF).
const poolProgram = (kind: 'max' | 'avg', vec: boolean) => defineProgram(`pool.${kind}`, { kind, vec }, ({ kind, vec }) => {
  const T = vec ? 'vec4<f32>' : 'f32';
  return {
    inputs: 1,
    outputs: 1,
    code: () => `
${PoolU.wgsl}
${storageDecls([['X', T]], [['Y', T]])}
// x:(N,H,W,C) y:(N,OH,OW,C), C counted in ${vec ? 'vec4s' : 'floats'}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let c = i % u.C;
  var r = i / u.C;
  let ow = r % u.OW; r = r / u.OW;
  let oh = r % u.OH;
  let n = r / u.OH;
  // Window origin in padded coordinates; ih = oh*sh + dh - pt stays in [0,H) only where checked.
  let h0 = oh * u.sh;
  let w0 = ow * u.sw;
  var acc = ${T}(${kind === 'max' ? '-3.402823e38' : '0.0'});
  var count = 0u;
  for (var dh = 0u; dh < u.kh; dh++) {
    let hp = h0 + dh;
    if (hp < u.pt || hp - u.pt >= u.H) { continue; }
    let row = (n * u.H + hp - u.pt) * u.W;
    for (var dw = 0u; dw < u.kw; dw++) {
      let wp = w0 + dw;
      if (wp < u.pl || wp - u.pl >= u.W) { continue; }
      let v = X[(row + wp - u.pl) * u.C + c];
      ${kind === 'max' ? 'acc = max(acc, v);' : 'acc += v;'}
      count++;
    }
  }
  Y[i] = ${kind === 'max' ? 'acc' : 'acc / f32(max(count, 1u))'};
}`,
  };
});

function pool(kind: 'max' | 'avg', x: Tensor, opts: PoolOptions): Tensor {
  const op = `${kind}Pool2d`;
  const g = poolGeometry(op, x.shape, opts);
  const [N, H, W, C] = x.shape as [number, number, number, number];
  const vec = C % 4 === 0;
  const cv = vec ? C / 4 : C;
  const total = N * g.oh * g.ow * cv;
  const outShape = [N, g.oh, g.ow, C];
  if (total === 0) return launchEmpty(x, outShape);
  const [gx, gy] = grid1d(Math.ceil(total / WG), x.runtime);
  const u = PoolU.pack({ total, nwgx: gx, H, W, C: cv, OH: g.oh, OW: g.ow, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, pt: g.pt, pl: g.pl });
  return launch({
    program: poolProgram(kind, vec), inputs: [x], outShape, uniforms: u, workgroups: [gx, gy],
    shapes: `${shapeStr('x', x.shape)} window:${g.kh}x${g.kw} strides:${g.sh}x${g.sw} y:(${outShape.join(',')})`,
    cost: (x.size + N * g.oh * g.ow * C) * 4,
  });
}

/** A zero-size output (N or C is 0, so x is empty too) is a view; nothing to compute. */
function launchEmpty(x: Tensor, shape: number[]): Tensor {
  return x.reshape(shape);
}

/**
 * Max pooling, NHWC, TensorFlow padding rules (padding never wins the max).
 * x:(N,H,W,C) y:(N,OH,OW,C)
 * @example
 *   const y = maxPool2d(x, { window: 2 });                          // VGG block end: halves H and W
 *   const z = maxPool2d(x, { window: 3, strides: 2, padding: 'same' });
 */
export function maxPool2d(x: Tensor, opts: PoolOptions): Tensor {
  return pool('max', x, opts);
}

/**
 * Average pooling, NHWC; padded positions are left out of the count, as in TensorFlow.
 * x:(N,H,W,C) y:(N,OH,OW,C)
 * @example
 *   const y = avgPool2d(x, { window: 3, strides: 1, padding: 'same' });   // Inception branch
 */
export function avgPool2d(x: Tensor, opts: PoolOptions): Tensor {
  return pool('avg', x, opts);
}

const GlobalU = uniformDecl({ total: 'u32', nwgx: 'u32', HW: 'u32', C: 'u32' }, 'global pool');

// x:(N,H,W,C) y:(N,C); one invocation per (n, channel or vec4 of channels), looping over H·W.
const globalProgram = (kind: 'max' | 'avg', vec: boolean) => defineProgram(`pool.global-${kind}`, { kind, vec }, ({ kind, vec }) => {
  const T = vec ? 'vec4<f32>' : 'f32';
  return {
    inputs: 1,
    outputs: 1,
    code: () => `
${GlobalU.wgsl}
${storageDecls([['X', T]], [['Y', T]])}
// x:(N,H,W,C) y:(N,C), C counted in ${vec ? 'vec4s' : 'floats'}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let c = i % u.C;
  let base = (i / u.C) * u.HW * u.C + c;
  var acc = ${T}(${kind === 'max' ? '-3.402823e38' : '0.0'});
  for (var p = 0u; p < u.HW; p++) {
    ${kind === 'max' ? 'acc = max(acc, X[base + p * u.C]);' : 'acc += X[base + p * u.C];'}
  }
  Y[i] = ${kind === 'max' ? 'acc' : 'acc / f32(u.HW)'};
}`,
  };
});

function globalPool(kind: 'max' | 'avg', x: Tensor): Tensor {
  const op = `global${kind === 'max' ? 'Max' : 'Avg'}Pool`;
  if (x.rank !== 4) throw new ShapeError(`${op} (${shapeStr('x', x.shape)}): input must be NHWC (N,H,W,C)`);
  const [N, H, W, C] = x.shape as [number, number, number, number];
  if (H * W === 0) throw new ShapeError(`${op} (${shapeStr('x', x.shape)}): empty spatial extent has no ${kind}`);
  const vec = C % 4 === 0;
  const cv = vec ? C / 4 : C;
  const total = N * cv;
  if (total === 0) return launchEmpty(x, [N, C]);
  const [gx, gy] = grid1d(Math.ceil(total / WG), x.runtime);
  return launch({
    program: globalProgram(kind, vec), inputs: [x], outShape: [N, C],
    uniforms: GlobalU.pack({ total, nwgx: gx, HW: H * W, C: cv }), workgroups: [gx, gy],
    shapes: `${shapeStr('x', x.shape)} y:(${N},${C})`, cost: (x.size + N * C) * 4,
  });
}

/**
 * Global average pooling: the mean over H and W. x:(N,H,W,C) y:(N,C)
 * @example
 *   const features = globalAvgPool(lastConv);   // (1,8,8,2048) → (1,2048) in InceptionV3
 */
export function globalAvgPool(x: Tensor): Tensor {
  return globalPool('avg', x);
}

/**
 * Global max pooling: the maximum over H and W. x:(N,H,W,C) y:(N,C)
 * @example
 *   const features = globalMaxPool(x);
 */
export function globalMaxPool(x: Tensor): Tensor {
  return globalPool('max', x);
}
