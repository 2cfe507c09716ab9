// conv2d forward, dInput and dWeight as users of the tiled GEMM core (gemm-tiled.ts): each is
// only its operand readers over NHWC activations and HWIO weights (groups = 1), side by side.
// Geometry is baked into the text as constants (one pipeline per layer shape, as tfjs does), so
// the index arithmetic divides by constants.
import type { Tensor } from '../tensor/tensor.ts';
import { shapeStr, type Activation } from './program.ts';
import { checkEpilogue, conv2dOutputShape, type Conv2dGeometry, type Conv2dOptions } from './conv2d-geometry.ts';
import { denseWriter, runGemm, scalarAt, type GemmPlan, type GemmUser } from './gemm-tiled.ts';
import { planGemm } from './gemm-tiles.ts';

/** The layer's geometry as WGSL constants (i32 pads so padded taps go negative). */
function consts(g: Conv2dGeometry): string {
  const [, oh, ow] = g.outShape;
  return `const H = ${g.h}u; const W = ${g.w}u; const C = ${g.c}u; const KO = ${g.k}u;
const OH = ${oh}u; const OW = ${ow}u; const KH = ${g.kh}u; const KW = ${g.kw}u;
const SH = ${g.strides[0]}u; const SW = ${g.strides[1]}u; const DH = ${g.dilations[0]}u; const DW = ${g.dilations[1]}u;
const PT = ${g.pads.top}; const PL = ${g.pads.left};
`;
}

type GeomSpec = { readonly h: number; readonly w: number; readonly c: number; readonly k: number; readonly oh: number; readonly ow: number;
  readonly kh: number; readonly kw: number; readonly s: readonly number[]; readonly d: readonly number[]; readonly p: readonly number[] };

/**
 * mm_readA (and mm_readA4 when X is read as vec4) over X through the user's `a_index(m, k)`,
 * which returns the flat index into x or -1 for a padded tap (read as zero).
 */
function gatheredReadA(xv: boolean): string {
  return `fn mm_readA(b: u32, m: u32, k: u32) -> f32 {
  let i = a_index(m, k);
  if (i < 0) { return 0.0; }
  return ${scalarAt('X', xv, 'u32(i)')};
}
${xv ? `fn mm_readA4(b: u32, m: u32, k: u32) -> vec4<f32> {
  let i = a_index(m, k);
  if (i < 0) { return vec4<f32>(0.0); }
  return X[u32(i) / 4u];
}` : ''}`;
}

function geomSpec(g: Conv2dGeometry): GeomSpec {
  return { h: g.h, w: g.w, c: g.c, k: g.k, oh: g.outShape[1], ow: g.outShape[2], kh: g.kh, kw: g.kw, s: g.strides, d: g.dilations, p: [g.pads.top, g.pads.left] };
}

/** The geometry back from a spec (the generators see only their spec). */
function geomOf(s: GeomSpec): Conv2dGeometry {
  return {
    outShape: [0, s.oh, s.ow, s.k], pads: { top: s.p[0]!, left: s.p[1]!, bottom: 0, right: 0 },
    strides: [s.s[0]!, s.s[1]!], dilations: [s.d[0]!, s.d[1]!], groups: 1, n: 0, h: s.h, w: s.w, c: s.c,
    kh: s.kh, kw: s.kw, k: s.k, cPerGroup: s.c, kPerGroup: s.k, flops: 0,
  };
}

// WGSL: the flat NHWC index of x[n, oh·SH + kh·DH - PT, ow·SW + kw·DW - PL, c], or -1 in padding.
const X_INDEX = `
fn x_index(n: u32, oh: u32, ow: u32, kh: u32, kw: u32, c: u32) -> i32 {
  let ih = i32(oh * SH + kh * DH) - PT;
  let iw = i32(ow * SW + kw * DW) - PL;
  if (ih < 0 || ih >= i32(H) || iw < 0 || iw >= i32(W)) { return -1; }
  return i32(((n * H + u32(ih)) * W + u32(iw)) * C + c);
}`;

// ── forward: y = act(x ⊛ w + bias) ────────────────────────────────────────────────────────────
// x:(N,H,W,C) w:(KH,KW,C,K) bias:(K) → y:(N,OH,OW,K) as Y(M=N·OH·OW, N=K) = A(M, KH·KW·C)·B
// A(m, k) = x[n, oh·SH + kh·DH - PT, ow·SW + kw·DW - PL, c], m = (n,oh,ow), k = (kh,kw,c)
// B(k, n) = w flattened (KH·KW·C, K), contiguous along n.
// Vec4 A along k when C % 4 == 0 (4 consecutive k stay in one tap); B and Y when K % 4 == 0.
type FwdSpec = GeomSpec & { readonly xv: boolean; readonly wv: boolean; readonly pointwise: boolean; readonly bias: boolean; readonly act: Activation };

const forwardUser = (spec: FwdSpec): GemmUser<FwdSpec> => ({
  name: 'gemm.conv2d', spec,
  operands: [['X', spec.xv ? 'vec4<f32>' : 'f32'], ['Wt', spec.wv ? 'vec4<f32>' : 'f32']],
  writerInputs: spec.bias ? [['bias', 'f32']] : [],
  aVec: spec.xv ? 'k' : null, bVec: spec.wv ? 'n' : null, outVec: spec.wv,
  readers: (s) => `${consts(geomOf(s))}${X_INDEX}
fn a_index(m: u32, k: u32) -> i32 {
  ${s.pointwise ? 'return i32(m * C + k);' : `let ow = m % OW; let t = m / OW;
  let c = k % C; let tap = k / C;
  return x_index(t / OH, t % OH, ow, tap / KW, tap % KW, c);`}
}
${gatheredReadA(s.xv)}
fn mm_readB(b: u32, k: u32, n: u32) -> f32 { return ${scalarAt('Wt', s.wv, 'k * KO + n')}; }
${s.wv ? 'fn mm_readB4(b: u32, k: u32, n: u32) -> vec4<f32> { return Wt[(k * KO + n) / 4u]; }' : ''}
`,
  writer: (s) => denseWriter(s.bias, s.act, s.wv),
});

/**
 * conv2d through the tiled core, or null when the plan keeps the register-blocked kernels (a
 * 'cpu' adapter without a tuned choice) or the conv is grouped. `plan` forces one (tests, tune).
 * x:(N,H,W,C) w:(KH,KW,C,K) bias:(K) → y:(N,OH,OW,K)
 */
export function conv2dTiled(x: Tensor, w: Tensor, opts: Conv2dOptions, plan?: GemmPlan): Tensor | null {
  const g = conv2dOutputShape(x.shape, w.shape, opts);
  const act = checkEpilogue(g, opts, 'conv2d', x.shape, w.shape);
  if (g.groups !== 1) return null;
  const M = g.n * g.outShape[1] * g.outShape[2], N = g.k, K = g.kh * g.kw * g.c;
  const p = plan ?? planGemm(x.runtime, 'conv2d', { batch: 1, M, N, K });
  if (!p) return null;
  const pointwise = g.kh === 1 && g.kw === 1 && g.strides.every((v) => v === 1) && g.pads.top + g.pads.left + g.pads.bottom + g.pads.right === 0;
  const spec: FwdSpec = { ...geomSpec(g), xv: g.c % 4 === 0, wv: g.k % 4 === 0, pointwise, bias: !!opts.bias, act };
  return runGemm(forwardUser(spec), p, {
    batch: 1, M, N, K, inputs: opts.bias ? [x, w, opts.bias] : [x, w], outShape: g.outShape, bias: opts.bias, act,
    shapes: `${shapeStr('x', x.shape)} ${shapeStr('w', w.shape)} ${shapeStr('y', g.outShape)}`,
  });
}

// ── dInput: dx = dy ⊛ᵀ w (transposed convolution, gathered, no col2im) ──────────────────────
// dy:(N,OH,OW,K) w:(KH,KW,C,K) → dx:(N,H,W,C) as Y(M=N·H·W, N=C) = A(M, KH·KW·K)·B
// A(m, k) = dy[n, (h + PT - kh·DH)/SH, (w + PL - kw·DW)/SW, ko] where the division is exact and
//   in range, else 0; m = (n,h,w), k = (kh,kw,ko): the forward's taps read backwards, which is
//   the convolution with the spatially flipped weight, with the stride as a divisibility test.
// B(k, n) = w[kh, kw, c, ko] with n = c, contiguous along k (ko): vec4 along k when K % 4 == 0.
type InSpec = GeomSpec & { readonly dv: boolean; readonly cv: boolean };

const inputGradUser = (spec: InSpec): GemmUser<InSpec> => ({
  name: 'gemm.conv2d-dx', spec,
  operands: [['DY', spec.dv ? 'vec4<f32>' : 'f32'], ['Wt', spec.dv ? 'vec4<f32>' : 'f32']],
  writerInputs: [],
  aVec: spec.dv ? 'k' : null, bVec: spec.dv ? 'k' : null, outVec: spec.cv,
  readers: (s) => `${consts(geomOf(s))}
fn a_index(m: u32, k: u32) -> i32 {
  let wx = m % W; let t = m / W; let h = t % H; let n = t / H;
  let ko = k % KO; let tap = k / KO; let kw = tap % KW; let kh = tap / KW;
  let hs = i32(h) + PT - i32(kh * DH);
  let ws = i32(wx) + PL - i32(kw * DW);
  if (hs < 0 || ws < 0 || u32(hs) % SH != 0u || u32(ws) % SW != 0u) { return -1; }
  let oh = u32(hs) / SH; let ow = u32(ws) / SW;
  if (oh >= OH || ow >= OW) { return -1; }
  return i32(((n * OH + oh) * OW + ow) * KO + ko);
}
fn mm_readA(b: u32, m: u32, k: u32) -> f32 {
  let i = a_index(m, k);
  if (i < 0) { return 0.0; }
  return ${scalarAt('DY', s.dv, 'u32(i)')};
}
${s.dv ? `fn mm_readA4(b: u32, m: u32, k: u32) -> vec4<f32> {
  let i = a_index(m, k);
  if (i < 0) { return vec4<f32>(0.0); }
  return DY[u32(i) / 4u];
}` : ''}
fn b_index(k: u32, n: u32) -> u32 { return ((k / KO) * C + n) * KO + k % KO; }
fn mm_readB(b: u32, k: u32, n: u32) -> f32 { return ${scalarAt('Wt', s.dv, 'b_index(k, n)')}; }
${s.dv ? 'fn mm_readB4(b: u32, k: u32, n: u32) -> vec4<f32> { return Wt[b_index(k, n) / 4u]; }' : ''}
`,
  writer: (s) => denseWriter(false, 'linear', s.cv),
});

/**
 * conv2d's input gradient through the tiled core, or null (see conv2dTiled).
 * dy:(N,OH,OW,K) w:(KH,KW,C,K) → dx:(N,H,W,C)
 */
export function conv2dInputGradTiled(dy: Tensor, w: Tensor, xShape: readonly number[], opts: Conv2dOptions, plan?: GemmPlan): Tensor | null {
  const g = conv2dOutputShape(xShape, w.shape, opts, 'conv2dInputGrad');
  if (g.groups !== 1) return null;
  const M = g.n * g.h * g.w, N = g.c, K = g.kh * g.kw * g.k;
  const p = plan ?? planGemm(dy.runtime, 'conv2dInputGrad', { batch: 1, M, N, K });
  if (!p) return null;
  const spec: InSpec = { ...geomSpec(g), dv: g.k % 4 === 0, cv: g.c % 4 === 0 };
  return runGemm(inputGradUser(spec), p, {
    batch: 1, M, N, K, inputs: [dy, w], outShape: [g.n, g.h, g.w, g.c], act: 'linear',
    shapes: `${shapeStr('dy', dy.shape)} ${shapeStr('w', w.shape)} ${shapeStr('x', xShape)}`,
  });
}

// ── dWeight: dw = Σ over pixels of x-patch ⊗ dy ───────────────────────────────────────────────
// x:(N,H,W,C) dy:(N,OH,OW,K) → dw:(KH,KW,C,K) as Y(M=KH·KW·C, N=K) = A(M, N·OH·OW)·B
// A(m, k) = x[n, oh·SH + kh·DH - PT, ow·SW + kw·DW - PL, c], m = (kh,kw,c), k = (n,oh,ow):
//   contiguous along m (c), so vec4 along m when C % 4 == 0;
// B(k, n) = dy flattened (N·OH·OW, K), vec4 along n when K % 4 == 0. The reduction is long
// (every output pixel) and the output small, the case split-K exists for.
type WSpec = GeomSpec & { readonly xv: boolean; readonly dv: boolean };

const weightGradUser = (spec: WSpec): GemmUser<WSpec> => ({
  name: 'gemm.conv2d-dw', spec,
  operands: [['X', spec.xv ? 'vec4<f32>' : 'f32'], ['DY', spec.dv ? 'vec4<f32>' : 'f32']],
  writerInputs: [],
  aVec: spec.xv ? 'm' : null, bVec: spec.dv ? 'n' : null, outVec: spec.dv,
  readers: (s) => `${consts(geomOf(s))}${X_INDEX}
fn a_index(m: u32, k: u32) -> i32 {
  let c = m % C; let tap = m / C;
  let ow = k % OW; let t = k / OW;
  return x_index(t / OH, t % OH, ow, tap / KW, tap % KW, c);
}
${gatheredReadA(s.xv)}
fn mm_readB(b: u32, k: u32, n: u32) -> f32 { return ${scalarAt('DY', s.dv, 'k * KO + n')}; }
${s.dv ? 'fn mm_readB4(b: u32, k: u32, n: u32) -> vec4<f32> { return DY[(k * KO + n) / 4u]; }' : ''}
`,
  writer: (s) => denseWriter(false, 'linear', s.dv),
});

/**
 * conv2d's weight gradient through the tiled core, or null (see conv2dTiled).
 * x:(N,H,W,C) dy:(N,OH,OW,K) → dw:(KH,KW,C,K)
 */
export function conv2dWeightGradTiled(x: Tensor, dy: Tensor, wShape: readonly number[], opts: Conv2dOptions, plan?: GemmPlan): Tensor | null {
  const g = conv2dOutputShape(x.shape, wShape, opts, 'conv2dWeightGrad');
  if (g.groups !== 1) return null;
  const M = g.kh * g.kw * g.c, N = g.k, K = g.n * g.outShape[1] * g.outShape[2];
  const p = plan ?? planGemm(x.runtime, 'conv2dWeightGrad', { batch: 1, M, N, K });
  if (!p) return null;
  const spec: WSpec = { ...geomSpec(g), xv: g.c % 4 === 0, dv: g.k % 4 === 0 };
  return runGemm(weightGradUser(spec), p, {
    batch: 1, M, N, K, inputs: [x, dy], outShape: [g.kh, g.kw, g.c, g.k], act: 'linear',
    shapes: `${shapeStr('x', x.shape)} ${shapeStr('dy', dy.shape)} ${shapeStr('w', wShape)}`,
  });
}
