// Bilinear resizing with TensorFlow's three coordinate conventions, so that up-sampled CAMs
// (7×7 → 224×224) and Keras Resizing layers agree with TensorFlow to float rounding. The
// backward (resizeBilinearGrad) gathers, per input pixel, the output pixels that sampled it.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;
const PER_THREAD = 4;

export interface ResizeOptions {
  /** Map the corner pixels' centres onto each other: src = dst · (in-1)/(out-1). */
  alignCorners?: boolean;
  /** Sample at pixel centres: src = (dst + ½) · in/out − ½ (TF2's tf.image.resize, Keras Resizing). */
  halfPixelCenters?: boolean;
}

// Source coordinate of output row r (columns alike), as in TensorFlow's resize_bilinear:
//   scale = alignCorners && out > 1 ? (in-1)/(out-1) : in/out
//   f = halfPixelCenters ? scale·(r + ½) − ½ : scale·r
//   lo = max(floor(f), 0), hi = min(ceil(f), in−1), t = f − lo
//   y = top + (bottom − top)·t_row, top/bottom = left + (right − left)·t_col
// When f < 0 or f > in−1, lo = hi and t no longer matters: the edge pixel is replicated.
// f is the ratio of integers (r·A + B) / D (half-pixel: A = 2·in, B = in − out, D = 2·out), so
// floor, ceil and the fraction come from integer division: exact, where f32 arithmetic on
// scale·r would be off by a few units in the last place of f (TF works in float64).
const SRC_WGSL = `
struct Src { lo: u32, hi: u32, t: f32 }
// Source rows/columns and weight for output coordinate o along an axis of input size len.
fn src(o: u32, a: i32, b: i32, d: i32, len: u32) -> Src {
  let num = i32(o) * a + b;
  // num > -d always (so -1 < f < 0 here): floor clamps to 0 and ceil is 0.
  if (num < 0) { return Src(0u, 0u, 0.0); }
  let q = u32(num / d);
  let rem = num - i32(q) * d;
  let lo = min(q, len - 1u);
  let hi = min(select(q, q + 1u, rem > 0), len - 1u);
  return Src(lo, hi, f32(num - i32(lo) * d) / f32(d));
}
`;

/** Sizes and the per-axis source mapping f = (o·a + b) / d (srcRatio), shared by both directions. */
const ResizeU = uniformDecl({
  n: 'u32', nwgx: 'u32', H: 'u32', W: 'u32', C: 'u32', OH: 'u32', OW: 'u32',
  ay: 'i32', by: 'i32', dy: 'i32', ax: 'i32', bx: 'i32', dx: 'i32',
}, 'resizeBilinear');

// x:(N,H,W,C) y:(N,OH,OW,C)
const resizeProgram = defineProgram('resizeBilinear', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${ResizeU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
${SRC_WGSL}// x:(N,H,W,C) y:(N,OH,OW,C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = base + j * ${WG}u;
    if (i >= u.n) { return; }
    let c = i % u.C;
    var r = i / u.C;
    let ox = r % u.OW; r = r / u.OW;
    let oy = r % u.OH;
    let b = r / u.OH;
    let sy = src(oy, u.ay, u.by, u.dy, u.H);
    let sx = src(ox, u.ax, u.bx, u.dx, u.W);
    let y0 = (b * u.H + sy.lo) * u.W;
    let y1 = (b * u.H + sy.hi) * u.W;
    let tl = X[(y0 + sx.lo) * u.C + c];
    let tr = X[(y0 + sx.hi) * u.C + c];
    let bl = X[(y1 + sx.lo) * u.C + c];
    let br = X[(y1 + sx.hi) * u.C + c];
    let top = tl + (tr - tl) * sx.t;
    let bottom = bl + (br - bl) * sx.t;
    Y[i] = top + (bottom - top) * sy.t;
  }
}`,
}));

/** f = (o·A + B) / D for output coordinate o (see the shader comment). */
function srcRatio(inp: number, out: number, opts: ResizeOptions): [number, number, number] {
  if (opts.halfPixelCenters) return [2 * inp, inp - out, 2 * out];
  return opts.alignCorners && out > 1 ? [inp - 1, 0, out - 1] : [inp, 0, out];
}

function checkCoordRange(H: number, W: number, OH: number, OW: number, what: string): void {
  if (2 * (H + 1) * (OH + 1) >= 2 ** 31 || 2 * (W + 1) * (OW + 1) >= 2 ** 31) {
    throw new ShapeError(`${what}: sizes too large for the kernel's 32-bit coordinate arithmetic`);
  }
}

/**
 * Bilinear resize of NHWC images (or one HWC image) to `size` = [height, width], matching
 * tf.image.resizeBilinear(x, size, alignCorners, halfPixelCenters). With both options false it
 * is TF1's legacy mapping; Keras Resizing and TF2's tf.image.resize use halfPixelCenters.
 * @example
 *   const heat = resizeBilinear(cam, [224, 224], { halfPixelCenters: true });   // (1,7,7,1) → (1,224,224,1)
 */
// x:(N,H,W,C) y:(N,OH,OW,C)
export function resizeBilinear(x: Tensor, size: [number, number], opts: ResizeOptions = {}): Tensor {
  const { alignCorners = false, halfPixelCenters = false } = opts;
  const what = `resizeBilinear ${shapeStr('x', x.shape)} size [${size.join(', ')}]`;
  if (x.rank === 3) {
    // Reshaped views share storage; dispose the temporary views so the buffers are freed with y.
    const x4 = x.reshape([1, ...x.shape]);
    let y4: Tensor;
    try {
      y4 = resizeBilinear(x4, size, opts);
    } finally {
      x4.dispose();
    }
    const y = y4.reshape([size[0], size[1], x.shape[2]!]);
    y4.dispose();
    return y;
  }
  if (x.rank !== 4) throw new ShapeError(`${what}: x must be (N,H,W,C) or (H,W,C)`);
  if (size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`${what}: size must be two positive integers [height, width]`);
  }
  if (alignCorners && halfPixelCenters) {
    throw new ShapeError(`${what}: alignCorners and halfPixelCenters cannot both be true (as in TensorFlow)`);
  }
  const [N, H, W, C] = x.shape as [number, number, number, number];
  if (H === 0 || W === 0) throw new ShapeError(`${what}: the input has no pixels`);
  const [OH, OW] = size;
  const ratio = (inp: number, out: number) => srcRatio(inp, out, opts);
  checkCoordRange(H, W, OH, OW, what);
  const outShape = [N, OH, OW, C];
  const n = N * OH * OW * C;
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), x.runtime);
  const [ay, by, dy] = ratio(H, OH), [ax, bx, dx] = ratio(W, OW);
  const u = ResizeU.pack({ n, nwgx: gx, H, W, C, OH, OW, ay, by, dy, ax, bx, dx });
  return launch({ program: resizeProgram, inputs: [x], outShape, uniforms: u, workgroups: [gx, gy], cost: 4 * n * 5 });
}

// Backward of y = resizeBilinear(x): y[o] = Σ_i w_y(o_y, i_y)·w_x(o_x, i_x)·x[i], so
//   dx[i] = Σ_{o_y, o_x} w_y(o_y, i_y)·w_x(o_x, i_x)·dy[o],
// with w(o, i) = (1 − t)·[lo(o) = i] + t·[hi(o) = i] (1 when lo = hi = i: a clamped edge).
// Gathered per input pixel, so no atomics: row i is sampled (unclamped) only by outputs with
// i − 1 < f(o) < i + 1, i.e. (i−1)·D − B < o·A < (i+1)·D − B, plus every output past the edge
// (f < 0 for i = 0, f > len − 1 for i = len − 1). The loop walks that range and computes the
// exact weights (0 outside the footprint), so a conservative range is harmless.
// dy:(N,OH,OW,C) dx:(N,H,W,C)
const resizeGradProgram = defineProgram('resizeBilinearGrad', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${ResizeU.wgsl}
${storageDecls([['G', 'f32']], [['DX', 'f32']])}
${SRC_WGSL}
// Weight of input coordinate i in output coordinate o's interpolation.
fn weight(o: u32, i: u32, a: i32, b: i32, d: i32, len: u32) -> f32 {
  let s = src(o, a, b, d, len);
  if (s.lo == s.hi) { return select(0.0, 1.0, s.lo == i); }
  return select(0.0, 1.0 - s.t, s.lo == i) + select(0.0, s.t, s.hi == i);
}
fn floorDiv(p: i32, q: i32) -> i32 {  // q > 0
  return select(p / q, -((-p + q - 1) / q), p < 0);
}
// [first, end) of the output coordinates that can sample input coordinate i.
fn outRange(i: u32, a: i32, b: i32, d: i32, len: u32, outLen: u32) -> vec2<u32> {
  if (a == 0) { return vec2<u32>(0u, outLen); }  // alignCorners with len 1: all sample row 0
  let ii = i32(i);
  var first = 0;
  if (i > 0u) { first = max(floorDiv((ii - 1) * d - b, a) + 1, 0); }
  var end = i32(outLen);
  if (i + 1u < len) { end = clamp(-floorDiv(b - (ii + 1) * d, a), 0, i32(outLen)); }
  return vec2<u32>(u32(min(first, end)), u32(end));
}
// dy:(N,OH,OW,C) dx:(N,H,W,C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = base + j * ${WG}u;
    if (i >= u.n) { return; }
    let c = i % u.C;
    var r = i / u.C;
    let ix = r % u.W; r = r / u.W;
    let iy = r % u.H;
    let b = r / u.H;
    let ry = outRange(iy, u.ay, u.by, u.dy, u.H, u.OH);
    let rx = outRange(ix, u.ax, u.bx, u.dx, u.W, u.OW);
    var acc = 0.0;
    for (var oy = ry.x; oy < ry.y; oy++) {
      let wy = weight(oy, iy, u.ay, u.by, u.dy, u.H);
      if (wy == 0.0) { continue; }
      let row = (b * u.OH + oy) * u.OW;
      var accRow = 0.0;
      for (var ox = rx.x; ox < rx.y; ox++) {
        accRow += weight(ox, ix, u.ax, u.bx, u.dx, u.W) * G[(row + ox) * u.C + c];
      }
      acc += wy * accRow;
    }
    DX[i] = acc;
  }
}`,
}));

/**
 * Backward of `y = resizeBilinear(x, size, opts)` in all three coordinate modes, as TensorFlow's
 * ResizeBilinearGrad: each input pixel gathers the gradient of every output pixel whose bilinear
 * footprint covers it. `xShape` is the forward input's shape, (N,H,W,C) or (H,W,C).
 * @example
 *   const dCam = resizeBilinearGrad(dHeat, [1, 7, 7, 1], { halfPixelCenters: true });   // dHeat:(1,224,224,1)
 */
// dy:(N,OH,OW,C) dx:(N,H,W,C)
export function resizeBilinearGrad(dy: Tensor, xShape: readonly number[], opts: ResizeOptions = {}): Tensor {
  const what = `resizeBilinearGrad ${shapeStr('dy', dy.shape)} ${shapeStr('x', xShape)}`;
  if (xShape.length === 3 && dy.rank === 3) {
    const dy4 = dy.reshape([1, ...dy.shape]);
    let dx4: Tensor;
    try {
      dx4 = resizeBilinearGrad(dy4, [1, ...xShape], opts);
    } finally {
      dy4.dispose();
    }
    const dx = dx4.reshape(xShape);
    dx4.dispose();
    return dx;
  }
  if (xShape.length !== 4 || dy.rank !== 4) {
    throw new ShapeError(`${what}: need dy:(N,OH,OW,C) with x:(N,H,W,C), or both of rank 3 (OH,OW,C) and (H,W,C)`);
  }
  if (opts.alignCorners && opts.halfPixelCenters) {
    throw new ShapeError(`${what}: alignCorners and halfPixelCenters cannot both be true (as in TensorFlow)`);
  }
  const [N, H, W, C] = xShape as [number, number, number, number];
  const [dN, OH, OW, dC] = dy.shape as [number, number, number, number];
  if (!xShape.every((d) => Number.isInteger(d) && d >= 0) || H === 0 || W === 0) {
    throw new ShapeError(`${what}: x must have positive height and width`);
  }
  if (dN !== N || dC !== C || OH === 0 || OW === 0) {
    throw new ShapeError(`${what}: dy must be (N,OH,OW,C) with x's batch ${N} and channels ${C}, and OH, OW > 0`);
  }
  checkCoordRange(H, W, OH, OW, what);
  const n = N * H * W * C;
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), dy.runtime);
  const [ry, rx] = [srcRatio(H, OH, opts), srcRatio(W, OW, opts)];
  const u = ResizeU.pack({ n, nwgx: gx, H, W, C, OH, OW, ay: ry[0], by: ry[1], dy: ry[2], ax: rx[0], bx: rx[1], dx: rx[2] });
  // Each dy element is read by at most 4 input pixels, plus the range overshoot.
  return launch({ program: resizeGradProgram, inputs: [dy], outShape: xShape, uniforms: u, workgroups: [gx, gy], cost: 4 * (n + 4 * dy.size) });
}
