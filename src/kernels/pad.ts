// Constant padding: Keras ZeroPadding2D on NHWC spatial dims, and a general per-axis pad as
// tf.pad. One pass writes every output element, either copied from the input or the constant.
// The backward is the crop back to the input's extent (padGrad, a slice).
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { slice } from './concat.ts';
import { defineProgram, grid1d, indexedFields, indexedValues, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const MAX_RANK = 6;
const WG = 64;
const PER_THREAD = 4;

/** Output dims d_a, input dims e_a and leading pads p_a; the constant may be ±Infinity or NaN (as tf.pad). */
const PadU = uniformDecl({
  n: 'u32', nwgx: 'u32', value: 'f32', ...indexedFields('d', MAX_RANK), ...indexedFields('e', MAX_RANK), ...indexedFields('p', MAX_RANK),
}, 'pad', { nonFinite: ['value'] });

// x:(e0..e5) y:(d0..d5) with d_a = e_a + before_a + after_a; rank padded to 6 on the left.
const padProgram = defineProgram('pad', { rank: MAX_RANK }, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${PadU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
// x:(e0..e5) y:(d0..d5)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = base + j * ${WG}u;
    if (i >= u.n) { return; }
    // Unravel i over the output, shift by the leading pads; unsigned wrap-around makes a
    // coordinate in the leading pad huge, so one "< e" test per axis covers both sides.
    var r = i;
    let c5 = r % u.d5 - u.p5; r = r / u.d5;
    let c4 = r % u.d4 - u.p4; r = r / u.d4;
    let c3 = r % u.d3 - u.p3; r = r / u.d3;
    let c2 = r % u.d2 - u.p2; r = r / u.d2;
    let c1 = r % u.d1 - u.p1; let c0 = r / u.d1 - u.p0;
    let inside = c0 < u.e0 && c1 < u.e1 && c2 < u.e2 && c3 < u.e3 && c4 < u.e4 && c5 < u.e5;
    var v = u.value;
    if (inside) {
      v = X[((((c0 * u.e1 + c1) * u.e2 + c2) * u.e3 + c3) * u.e4 + c4) * u.e5 + c5];
    }
    Y[i] = v;
  }
}`,
}));

/**
 * Pads every axis with a constant: paddings[a] = [before, after] (non-negative), as tf.pad.
 * @example
 *   const y = pad(x, [[0, 0], [1, 2], [1, 2], [0, 0]]);   // (N,H,W,C) → (N,H+3,W+3,C)
 */
// x:(d_0..d_r) y:(d_0+p_0+q_0, ..., d_r+p_r+q_r)
export function pad(x: Tensor, paddings: [number, number][], value = 0): Tensor {
  const what = `pad ${shapeStr('x', x.shape)} paddings ${JSON.stringify(paddings)}`;
  if (paddings.length !== x.rank) {
    throw new ShapeError(`${what}: need one [before, after] pair per axis (${x.rank}), got ${paddings.length}`);
  }
  if (x.rank > MAX_RANK) throw new ShapeError(`${what}: rank ${x.rank} exceeds ${MAX_RANK}; reshape first`);
  for (const p of paddings) {
    if (p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new ShapeError(`${what}: paddings must be pairs of non-negative integers`);
    }
  }
  const outShape = x.shape.map((d, a) => d + paddings[a]![0] + paddings[a]![1]);
  const lead = MAX_RANK - x.rank;
  const dims = [...new Array<number>(lead).fill(1), ...outShape];
  const ins = [...new Array<number>(lead).fill(1), ...x.shape];
  const pre = [...new Array<number>(lead).fill(0), ...paddings.map((p) => p[0])];
  const n = dims.reduce((a, d) => a * d, 1);
  // An empty input pads to all-constant output; bind it anyway (a 4-byte buffer, never read).
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), x.runtime);
  const u = PadU.pack({ n, nwgx: gx, value, ...indexedValues('d', dims), ...indexedValues('e', ins), ...indexedValues('p', pre) });
  return launch({ program: padProgram, inputs: [x], outShape, uniforms: u, workgroups: [gx, gy], cost: 8 * n });
}

/**
 * Keras ZeroPadding2D on NHWC: `pads` is one number for all four sides or [[top, bottom], [left, right]].
 * @example
 *   const y = zeroPad2d(x, [[0, 1], [0, 1]]);   // (N,H,W,C) → (N,H+1,W+1,C), as before a stride-2 'valid' conv
 */
// x:(N,H,W,C) y:(N,H+top+bottom,W+left+right,C)
export function zeroPad2d(x: Tensor, pads: number | [[number, number], [number, number]]): Tensor {
  if (x.rank !== 4) throw new ShapeError(`zeroPad2d: x must be (N,H,W,C), got ${shapeStr('x', x.shape)}`);
  const [h, w] = typeof pads === 'number' ? [[pads, pads], [pads, pads]] as const : pads;
  return pad(x, [[0, 0], [h[0], h[1]], [w[0], w[1]], [0, 0]], 0);
}

/**
 * Backward of `y = pad(x, paddings, value)`: the padded border receives no gradient, so dx is
 * dy cropped back to x's extent (the constant's gradient is not returned).
 * @example
 *   const dx = padGrad(dy, [[0, 0], [1, 2], [1, 2], [0, 0]]);   // dy:(N,H+3,W+3,C) → (N,H,W,C)
 */
// dy:(d_0+p_0+q_0, ..., d_r+p_r+q_r) dx:(d_0..d_r)
export function padGrad(dy: Tensor, paddings: [number, number][]): Tensor {
  const what = `padGrad ${shapeStr('dy', dy.shape)} paddings ${JSON.stringify(paddings)}`;
  if (paddings.length !== dy.rank) {
    throw new ShapeError(`${what}: need one [before, after] pair per axis (${dy.rank}), got ${paddings.length}`);
  }
  for (const [a, p] of paddings.entries()) {
    if (p.length !== 2 || !p.every((v) => Number.isInteger(v) && v >= 0)) {
      throw new ShapeError(`${what}: paddings must be pairs of non-negative integers`);
    }
    if (p[0] + p[1] > dy.shape[a]!) {
      throw new ShapeError(`${what}: axis ${a} of dy has ${dy.shape[a]} entries, fewer than its padding ${p[0] + p[1]}; pass the forward's paddings`);
    }
  }
  return slice(dy, paddings.map((p) => p[0]), dy.shape.map((d, a) => d - paddings[a]![0] - paddings[a]![1]));
}
