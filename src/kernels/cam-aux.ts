// Device kernels for the CAM methods that are not gradient reductions: Score-CAM's masked
// inputs, their normalisation range and score gathering (Wang et al. 2020), and Eigen-CAM's power iteration for the first
// principal direction of the activations (Muhammad & Yeasin 2020).
import { ShapeError } from '../gpu/errors.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;

// a:(N,h,w,C) → range:(N,C,2) = (min, max) of each channel's map. One invocation per (n, c).
const RangeU = uniformDecl({ n: 'u32', P: 'u32', C: 'u32', nwgx: 'u32' }, 'channelRange');
const rangeProgram = defineProgram('camChannelRange', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${RangeU.wgsl}
${storageDecls([['A', 'f32']], [['Y', 'f32']])}
// a:(N,h,w,C) range:(N,C,2)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  let img = i / u.C;
  let c = i % u.C;
  let b = img * u.P * u.C + c;
  var lo = A[b];
  var hi = lo;
  for (var p = 1u; p < u.P; p++) { let v = A[b + p * u.C]; lo = min(lo, v); hi = max(hi, v); }
  Y[2u * i] = lo;
  Y[2u * i + 1u] = hi;
}`,
}));

/**
 * Minimum and maximum of every channel's spatial map (Score-CAM's normalisation).
 * @example
 *   const range = channelRange(acts);   // (1,7,7,512) → (1,512,2)
 */
// a:(N,h,w,C) range:(N,C,2)
export function channelRange(a: Tensor): Tensor {
  if (a.rank !== 4) throw new ShapeError(`channelRange: ${shapeStr('a', a.shape)} must be (N,h,w,C)`);
  const [N, h, w, C] = a.shape as [number, number, number, number];
  const n = N * C;
  const [gx, gy] = grid1d(Math.ceil(n / WG), a.runtime);
  return launch({
    program: rangeProgram, inputs: [a], outShape: [N, C, 2],
    uniforms: RangeU.pack({ n, P: h * w, C, nwgx: gx }), workgroups: [gx, gy],
  });
}

// Score-CAM's up-sampling, shared by the two programs below (it reads u.H, u.W, u.h, u.w, u.C): bilinear with aligned corners
// (PyTorch's UpsamplingBilinear2d, i.e. align_corners=True, which pytorch-grad-cam's ScoreCAM
// uses): output pixel o samples source f = o·(in−1)/(out−1), so the corner pixels coincide.
const UPSAMPLE_WGSL = `
struct Src { lo: u32, hi: u32, t: f32 }
fn src(o: u32, outLen: u32, inLen: u32) -> Src {
  var f = 0.0;
  if (outLen > 1u) { f = f32(o) * f32(inLen - 1u) / f32(outLen - 1u); }
  let lo = min(u32(floor(f)), inLen - 1u);
  let hi = min(lo + 1u, inLen - 1u);
  return Src(lo, hi, f - f32(lo));
}
// Channel c of image img of a:(N,h,w,C), up-sampled, at output pixel (py, px).
fn upAt(img: u32, c: u32, py: u32, px: u32) -> f32 {
  let sy = src(py, u.H, u.h);
  let sx = src(px, u.W, u.w);
  let ab = img * u.h * u.w * u.C + c;
  let tl = A[ab + (sy.lo * u.w + sx.lo) * u.C];
  let tr = A[ab + (sy.lo * u.w + sx.hi) * u.C];
  let bl = A[ab + (sy.hi * u.w + sx.lo) * u.C];
  let br = A[ab + (sy.hi * u.w + sx.hi) * u.C];
  let top = tl + (tr - tl) * sx.t;
  let bot = bl + (br - bl) * sx.t;
  return top + (bot - top) * sy.t;
}`;

// a:(N,h,w,C) → range:(N,C,2) = (min, max) of each channel's map up-sampled to (H,W) as
// UPSAMPLE_WGSL. One invocation per (n, c), visiting all H·W output pixels.
const UpRangeU = uniformDecl({ n: 'u32', nwgx: 'u32', H: 'u32', W: 'u32', h: 'u32', w: 'u32', C: 'u32' }, 'upsampledRange');
const upRangeProgram = defineProgram('scoreCamUpRange', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${UpRangeU.wgsl}
${storageDecls([['A', 'f32']], [['Y', 'f32']])}
${UPSAMPLE_WGSL}
// a:(N,h,w,C) range:(N,C,2)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  let img = i / u.C;
  let c = i % u.C;
  var lo = upAt(img, c, 0u, 0u);
  var hi = lo;
  for (var py = 0u; py < u.H; py++) {
    for (var px = 0u; px < u.W; px++) { let v = upAt(img, c, py, px); lo = min(lo, v); hi = max(hi, v); }
  }
  Y[2u * i] = lo;
  Y[2u * i + 1u] = hi;
}`,
}));

/**
 * Minimum and maximum of every channel's map after up-sampling to the input size: Score-CAM
 * normalises the up-sampled map, s(Up(A)) (Wang et al. 2020, Eq. 6-7; pytorch-grad-cam the
 * same). Bilinear up-sampling rarely lands on a source extreme, so this is not the source range.
 * @example
 *   const range = upsampledRange(acts, [224, 224]);   // (1,7,7,512) → (1,512,2)
 */
// a:(N,h,w,C) range:(N,C,2)
export function upsampledRange(a: Tensor, [H, W]: [number, number]): Tensor {
  if (a.rank !== 4) throw new ShapeError(`upsampledRange: ${shapeStr('a', a.shape)} must be (N,h,w,C)`);
  const [N, h, w, C] = a.shape as [number, number, number, number];
  const n = N * C;
  const [gx, gy] = grid1d(Math.ceil(n / WG), a.runtime);
  return launch({
    program: upRangeProgram, inputs: [a], outShape: [N, C, 2],
    uniforms: UpRangeU.pack({ n, nwgx: gx, H, W, h, w, C }), workgroups: [gx, gy],
  });
}

// x:(N,H,W,Ci) a:(N,h,w,C) range:(N,C,2) → y:(B,H,W,Ci) with
//   y[b,y,x,:] = x[img,y,x,:] · (up(a[img,:,:,c0+b])[y,x] − min) / (max − min + 1e-8)
// up: UPSAMPLE_WGSL (aligned corners); min, max: upsampledRange. The 1e-8 is pytorch-grad-cam's
// (a constant channel gives a zero mask, as the paper's s(·) leaves undefined).
const MaskU = uniformDecl({
  n: 'u32', nwgx: 'u32', img: 'u32', c0: 'u32', H: 'u32', W: 'u32', Ci: 'u32', h: 'u32', w: 'u32', C: 'u32',
}, 'scoreCamMasks');
const maskProgram = defineProgram('scoreCamMasks', {}, () => ({
  inputs: 3,
  outputs: 1,
  code: () => `
${MaskU.wgsl}
${storageDecls([['X', 'f32'], ['A', 'f32'], ['RG', 'f32']], [['Y', 'f32']])}
${UPSAMPLE_WGSL}
// x:(N,H,W,Ci) a:(N,h,w,C) range:(N,C,2) y:(B,H,W,Ci)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  let ch = i % u.Ci;
  let px = (i / u.Ci) % u.W;
  let py = (i / (u.Ci * u.W)) % u.H;
  let b = i / (u.Ci * u.W * u.H);
  let c = u.c0 + b;
  let v = upAt(u.img, c, py, px);
  let lo = RG[2u * (u.img * u.C + c)];
  let hi = RG[2u * (u.img * u.C + c) + 1u];
  let m = (v - lo) / (hi - lo + 1e-8);
  Y[i] = X[((u.img * u.H + py) * u.W + px) * u.Ci + ch] * m;
}`,
}));

/**
 * Score-CAM's masked inputs for channels c0 … c0+count−1 of one image: the input times each
 * channel's up-sampled activation map, min-max normalised with the up-sampled map's range
 * (`range` from upsampledRange; Wang et al. 2020, Eq. 6–7).
 * @example
 *   const xm = scoreCamMasks(x, acts, upsampledRange(acts, [224, 224]), 0, 0, 16);   // (16,224,224,3)
 */
// x:(N,H,W,Ci) a:(N,h,w,C) range:(N,C,2) y:(count,H,W,Ci)
export function scoreCamMasks(x: Tensor, a: Tensor, range: Tensor, img: number, c0: number, count: number): Tensor {
  const shapes = `${shapeStr('x', x.shape)} ${shapeStr('a', a.shape)} img:${img} c0:${c0} count:${count}`;
  if (x.rank !== 4 || a.rank !== 4 || x.shape[0] !== a.shape[0]) throw new ShapeError(`scoreCamMasks (${shapes}): x and a must be (N,H,W,Ci) and (N,h,w,C) with the same N`);
  const [N, H, W, Ci] = x.shape as [number, number, number, number];
  const [, h, w, C] = a.shape as [number, number, number, number];
  if (img < 0 || img >= N || c0 < 0 || count < 1 || c0 + count > C) throw new ShapeError(`scoreCamMasks (${shapes}): image or channel range out of bounds`);
  const n = count * H * W * Ci;
  const [gx, gy] = grid1d(Math.ceil(n / WG), x.runtime);
  return launch({
    program: maskProgram, inputs: [x, a, range], outShape: [count, H, W, Ci], shapes,
    uniforms: MaskU.pack({ n, nwgx: gx, img, c0, H, W, Ci, h, w, C }), workgroups: [gx, gy],
  });
}

// logits:(B,L) → scores[row, c0 + b] = logits[b, target] for b < B; scores:(R,C) written in place
const PickU = uniformDecl({ B: 'u32', L: 'u32', cls: 'u32', dst: 'u32' }, 'pickScores');
const pickProgram = defineProgram('scoreCamPick', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${PickU.wgsl}
${storageDecls([['X', 'f32']], [['S', 'f32']])}
// logits:(B,L) scores:(R,C)
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= u.B) { return; }
  S[u.dst + b] = X[b * u.L + u.cls];
}`,
}));

/**
 * Writes column `target` of logits (B,L) into scores (R,C) at [row, c0 … c0+B−1].
 * @example
 *   pickScores(logits, 243, scores, 0, 32);   // the class-243 scores of 32 masked inputs
 */
// logits:(B,L) scores:(R,C)
export function pickScores(logits: Tensor, target: number, scores: Tensor, row: number, c0: number): void {
  const [B, L] = logits.shape as [number, number];
  const [R, C] = scores.shape as [number, number];
  const shapes = `${shapeStr('logits', logits.shape)} ${shapeStr('scores', scores.shape)} target:${target} row:${row} c0:${c0}`;
  if (logits.rank !== 2 || scores.rank !== 2 || target < 0 || target >= L || row < 0 || row >= R || c0 < 0 || c0 + B > C) {
    throw new ShapeError(`pickScores (${shapes}): target, row or channel range out of bounds`);
  }
  logits.runtime.dispatch({
    program: pickProgram,
    inputs: [{ buffer: logits.buffer }],
    outputs: [{ buffer: scores.buffer }],
    uniforms: PickU.pack({ B, L, cls: target, dst: row * C + c0 }),
    workgroups: [Math.max(1, Math.ceil(B / WG))],
    shapes,
    cost: B * 8,
  });
}

// s:(N,d,d) symmetric → u:(N,d), the unit eigenvector of the largest eigenvalue by power
// iteration u ← S·u / ‖S·u‖, `iters` times, from a fixed start with no zero entries. One
// workgroup per matrix; lanes own rows i ≡ lane (mod 64); T holds S·u between the norm's
// reduction and the update (storage barriers order the lanes' reads and writes of U).
const PowerU = uniformDecl({ N: 'u32', d: 'u32', iters: 'u32', nwgx: 'u32' }, 'powerIteration');
const powerProgram = defineProgram('camPowerIteration', {}, () => ({
  inputs: 1,
  outputs: 2,
  code: () => `
${PowerU.wgsl}
${storageDecls([['S', 'f32']], [['V', 'f32'], ['T', 'f32']])}
var<workgroup> red: array<f32, ${WG}>;
// s:(N,d,d) u:(N,d) t:(N,d)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let m = wg.y * u.nwgx + wg.x;
  if (m >= u.N) { return; }
  let l = lid.x;
  let ub = m * u.d;
  let sb = m * u.d * u.d;
  for (var i = l; i < u.d; i += ${WG}u) { V[ub + i] = 1.0 + 0.125 * f32((i * 7u) % 11u); }
  storageBarrier();
  workgroupBarrier();
  for (var it = 0u; it < u.iters; it++) {
    var part = 0.0;
    for (var i = l; i < u.d; i += ${WG}u) {
      var t = 0.0;
      for (var j = 0u; j < u.d; j++) { t += S[sb + i * u.d + j] * V[ub + j]; }
      T[ub + i] = t;
      part += t * t;
    }
    red[l] = part;
    storageBarrier();
    workgroupBarrier();
    for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
      if (l < s) { red[l] = red[l] + red[l + s]; }
      workgroupBarrier();
    }
    let nrm = sqrt(red[0]);
    for (var i = l; i < u.d; i += ${WG}u) { V[ub + i] = select(0.0, T[ub + i] / nrm, nrm > 0.0); }
    storageBarrier();
    workgroupBarrier();
  }
}`,
}));

/**
 * The leading eigenvector of each symmetric positive semi-definite matrix, by power iteration
 * on the device (sign arbitrary; Eigen-CAM fixes it later).
 * @example
 *   const u = powerIteration(gram, 100);   // (N,49,49) → (N,49)
 */
// s:(N,d,d) u:(N,d)
export function powerIteration(s: Tensor, iters = 100): Tensor {
  if (s.rank !== 3 || s.shape[1] !== s.shape[2]) throw new ShapeError(`powerIteration: ${shapeStr('s', s.shape)} must be (N,d,d)`);
  const [N, d] = s.shape as [number, number, number];
  const rt = s.runtime;
  const u = empty([N, d], rt, 'power.u');
  const t = empty([N, d], rt, 'power.t');
  try {
    if (N * d) {
      const [gx, gy] = grid1d(N, rt);
      rt.dispatch({
        program: powerProgram,
        inputs: [{ buffer: s.buffer }],
        outputs: [{ buffer: u.buffer }, { buffer: t.buffer }],
        uniforms: PowerU.pack({ N, d, iters, nwgx: gx }),
        workgroups: [gx, gy],
        shapes: `${shapeStr('s', s.shape)} iters:${iters}`,
        cost: 2 * N * d * d * iters,
      });
    }
  } catch (e) {
    u.dispose();
    throw e;
  } finally {
    t.dispose();
  }
  return u;
}
