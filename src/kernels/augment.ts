// Per-pixel data augmentation in one pass on the GPU: flips, translations (random crops of a
// zero-padded image), brightness and contrast, cutout. The random choices are made per image on
// the host (src/train/augment.ts) and arrive as a small parameter tensor, so runs are seeded.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { affine } from './elementwise.ts';
import { sum } from './reduce.ts';
import { defineProgram, grid1d, launch, storageDecls, uniformDecl } from './program.ts';

/** Floats per image in the parameter tensor, in this order. */
export const AUG_PARAMS = 10;
/** Offsets of each parameter within an image's row. */
export const AUG = {
  /** 1: mirror left–right. */ flipH: 0,
  /** 1: mirror top–bottom. */ flipV: 1,
  /** Content moved down by dy and right by dx pixels (integers); uncovered pixels are zero. */ dy: 2, dx: 3,
  /** Added to every value. */ brightness: 4,
  /** Contrast factor c: v ← (v − mean)·c + mean, the mean per image and channel. */ contrast: 5,
  /** Cutout rectangle in output pixels (top, left, height, width); height 0: none. */ cutTop: 6, cutLeft: 7, cutH: 8, cutW: 9,
} as const;

const WG = 64;
const PER_THREAD = 4;

/** Per-call values; lo/hi are the clamp bounds (either may be ±Infinity, an open side). */
const AugU = uniformDecl({ n: 'u32', nwgx: 'u32', H: 'u32', W: 'u32', C: 'u32', lo: 'f32', hi: 'f32' }, 'augment', { nonFinite: ['lo', 'hi'] });

// x:(N,H,W,C) p:(N,10) mean:(N,C) y:(N,H,W,C)
//   y[n,h,w,c] = cutout(clamp((x[n, h', w', c] − mean)·contrast + mean + brightness))
//   with w' = (flipH ? W−1−w : w) − dx, h' = (flipV ? H−1−h : h) − dy, and x = 0 outside the image.
// Without contrast the MEAN binding is a stand-in that is never read.
const augmentProgram = (clampOn: boolean, contrastOn: boolean) => defineProgram('augment', { clampOn, contrastOn }, ({ clampOn, contrastOn }) => ({
  inputs: 3,
  outputs: 1,
  code: () => `
${AugU.wgsl}
${storageDecls([['X', 'f32'], ['P', 'f32'], ['MEAN', 'f32']], [['Y', 'f32']])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    let c = i % u.C;
    var r = i / u.C;
    let w = r % u.W; r = r / u.W;
    let h = r % u.H;
    let b = r / u.H;
    let p = b * ${AUG_PARAMS}u;
    let H = i32(u.H);
    let W = i32(u.W);
    var sx = i32(w);
    var sy = i32(h);
    if (P[p + ${AUG.flipH}u] > 0.5) { sx = W - 1 - sx; }
    if (P[p + ${AUG.flipV}u] > 0.5) { sy = H - 1 - sy; }
    sx = sx - i32(round(P[p + ${AUG.dx}u]));
    sy = sy - i32(round(P[p + ${AUG.dy}u]));
    var v = 0.0;
    if (sx >= 0 && sx < W && sy >= 0 && sy < H) {
      v = X[((b * u.H + u32(sy)) * u.W + u32(sx)) * u.C + c];
    }
    ${contrastOn ? `let m = MEAN[b * u.C + c];
    v = (v - m) * P[p + ${AUG.contrast}u] + m;` : ''}
    v = v + P[p + ${AUG.brightness}u];
    ${clampOn ? 'v = clamp(v, u.lo, u.hi);' : ''}
    let ct = i32(round(P[p + ${AUG.cutTop}u]));
    let cl = i32(round(P[p + ${AUG.cutLeft}u]));
    let ch = i32(round(P[p + ${AUG.cutH}u]));
    let cw = i32(round(P[p + ${AUG.cutW}u]));
    let hh = i32(h);
    let ww = i32(w);
    if (hh >= ct && hh < ct + ch && ww >= cl && ww < cl + cw) { v = 0.0; }
    Y[i] = v;
  }
}`,
}));

/**
 * Applies per-image augmentation parameters (rows of AUG_PARAMS floats, see AUG) to a batch.
 * Contrast pivots on each image's per-channel mean (of the input image), computed here unless
 * `contrast: false` says every factor is 1 (then the contrast step is left out entirely).
 * @example
 *   const y = augment(x, upload(params, [n, AUG_PARAMS]), { clamp: [0, 1] });
 */
// x:(N,H,W,C) params:(N,10) → (N,H,W,C)
export function augment(x: Tensor, params: Tensor, o: { clamp?: [number, number]; contrast?: boolean } = {}): Tensor {
  if (x.rank !== 4) throw new ShapeError(`augment: x must be (N,H,W,C), got [${x.shape.join(', ')}]`);
  const [n, h, w, c] = x.shape as [number, number, number, number];
  if (params.size !== n * AUG_PARAMS) {
    throw new ShapeError(`augment: params must be (${n},${AUG_PARAMS}) for x [${x.shape.join(', ')}], got [${params.shape.join(', ')}]; build them with augmentParams()`);
  }
  const contrastOn = o.contrast !== false;
  let mean = params;
  if (contrastOn) {
    const s = sum(x, [1, 2]);
    mean = affine(s, 1 / (h * w), 0);
    s.dispose();
  }
  const [gx, gy] = grid1d(Math.ceil(x.size / (WG * PER_THREAD)), x.runtime);
  const u = AugU.pack({ n: x.size, nwgx: gx, H: h, W: w, C: c, lo: o.clamp?.[0] ?? 0, hi: o.clamp?.[1] ?? 0 });
  try {
    return launch({
      program: augmentProgram(!!o.clamp, contrastOn),
      inputs: [x, params, mean],
      outShape: x.shape,
      uniforms: u,
      workgroups: [gx, gy],
      shapes: `x:(${x.shape.join(',')}) params:(${params.shape.join(',')})`,
      cost: 3 * x.byteLength,
    });
  } finally {
    if (mean !== params) mean.dispose();
  }
}
