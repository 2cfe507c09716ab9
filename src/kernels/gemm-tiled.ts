// One tiled GEMM core for real GPUs, shared by conv2d (forward, dInput, dWeight) and matmul the way
// tfjs-backend-webgpu's conv2d_mm shares its packed matmul: each user supplies only operand readers.
//
// Y(b, m, n) = Σ_k A(b, m, k)·B(b, k, n), b < batch, m < M, n < N, k < K. A workgroup of wgx×wgy
// lanes owns a BM×BN block of Y (BM = wgy·tm, BN = wgx·tn) and walks K in steps of tk: both
// operands' tiles go through workgroup memory (As: tk×BM floats, Bs: tk×BN/4 vec4s), then each
// lane accumulates a tm×tn register tile (tm rows × tn/4 vec4 columns) with one A value and tn/4 B
// vec4s per k. Lanes take rows ly + i·wgy and vec4 columns lx + j·wgx, so neighbours read
// neighbouring workgroup-memory words and write neighbouring output vec4s (the layout of
// Volkov & Demmel 2008 and of gpu.cpp's 2-D block tiling; tile sizes are parameters).
//
// The user's WGSL (a pure function of its spec, so defineProgram keys it) defines
//   fn mm_readA(b: u32, m: u32, k: u32) -> f32        and, when aVec is set, mm_readA4 reading
//       4 consecutive k ('k': A contiguous along K, needs K % 4 == 0) or m ('m': needs M % 4 == 0);
//   fn mm_readB(b: u32, k: u32, n: u32) -> f32        and, when bVec is set, mm_readB4 reading
//       4 consecutive n ('n': needs N % 4 == 0) or k ('k': needs K % 4 == 0);
//   fn mm_write(b: u32, m: u32, n: u32, v: f32)       and, when outVec (N % 4 == 0), mm_write4.
// The core calls readers only in bounds (m < M, k < K, n < N) and zero-fills the rest; writers
// carry the fused epilogue (bias, activation). With split-K (splits > 1, workgroup z = batch ×
// splits) the core writes partial sums P:(splits, batch, M, N) instead and splitReduce applies
// the epilogue: every user's output is a row-major (batch, M, N) array, so one epilogue serves all.
import type { Runtime } from '../gpu/runtime.ts';
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { reduceProgram, SplitReduceU } from './matmul-wgsl.ts';
import { activationWgsl, defineProgram, grid1d, launch, storageDecls, uniformDecl, type Activation, type SpecValue } from './program.ts';

/** Block of BM = wgy·tm rows × BN = wgx·tn columns, K stepped by tk; tn and tk multiples of 4. */
export interface GemmTile {
  readonly wgx: number;
  readonly wgy: number;
  readonly tm: number;
  readonly tn: number;
  readonly tk: number;
}

/** The GEMV variant for M ≤ 4 (batch-1 dense): gx lanes of vec4 columns × gk lanes along K. */
export const GEMV = { gx: 16, gk: 16, maxM: 4 } as const;

export type VecA = 'k' | 'm' | null;
export type VecB = 'k' | 'n' | null;

/** What one user of the core passes: its readers/writer as WGSL generated from `spec` alone. */
export interface GemmUser<S extends { readonly [k: string]: SpecValue }> {
  /** Pipeline name, e.g. 'gemm.conv2d'; with the spec it keys the pipeline. */
  name: string;
  spec: S;
  /** The operands' storage (bindings 1…), then the writer's own inputs (bias), then Y. */
  operands: [name: string, type: 'f32' | 'vec4<f32>'][];
  writerInputs: [name: string, type: 'f32' | 'vec4<f32>'][];
  aVec: VecA;
  bVec: VecB;
  outVec: boolean;
  /** WGSL defining mm_readA(4) and mm_readB(4). */
  readers: (spec: S) => string;
  /** WGSL defining mm_write(4) into Y (f32, or vec4 when outVec); left out with split-K. */
  writer: (spec: S) => string;
}

/** Per-call values shared by every user: sizes, the K chunk per split, batch strides of A and B. */
export const GemmU = uniformDecl({
  M: 'u32', N: 'u32', K: 'u32', kchunk: 'u32', splits: 'u32', aBatch: 'u32', bBatch: 'u32',
}, 'gemm');

export function checkGemmTile(t: GemmTile, what = 'gemm'): void {
  const ok = [t.wgx, t.wgy, t.tm, t.tn, t.tk].every((v) => Number.isInteger(v) && v >= 1) && t.tn % 4 === 0 && t.tk % 4 === 0;
  if (!ok || t.wgx * t.wgy > 256 || (t.wgy * t.tm) % 4 !== 0) {
    throw new ShapeError(`${what}: bad tile ${JSON.stringify(t)}; tn and tk must be multiples of 4, wgy·tm of 4, and wgx·wgy ≤ 256 lanes`);
  }
}

/** The tiled kernel's text: the user's readers/writer wrapped around the shared loop. */
function tiledCode(t: GemmTile, aVec: VecA, bVec: VecB, outVec: boolean, split: boolean, inputs: [string, string][], user: string): string {
  const BM = t.wgy * t.tm, BN = t.wgx * t.tn, TK = t.tk, TN4 = t.tn / 4, T = t.wgx * t.wgy;
  // A tile loads: one thread per element (or per vec4 along k or m), k fastest for contiguous-K A.
  const loadA = aVec === 'k'
    ? `for (var e = li; e < ${BM * TK / 4}u; e += ${T}u) {
      let m = e / ${TK / 4}u; let kk = (e % ${TK / 4}u) * 4u;
      let gm = row0 + m; let gk = k0 + kk;
      var v = vec4<f32>(0.0);
      if (gm < u.M && gk < kend) { v = mm_readA4(b, gm, gk); }
      As[kk][m] = v.x; As[kk + 1u][m] = v.y; As[kk + 2u][m] = v.z; As[kk + 3u][m] = v.w;
    }`
    : aVec === 'm'
      ? `for (var e = li; e < ${BM * TK / 4}u; e += ${T}u) {
      let m = (e % ${BM / 4}u) * 4u; let kk = e / ${BM / 4}u;
      let gm = row0 + m; let gk = k0 + kk;
      var v = vec4<f32>(0.0);
      if (gm < u.M && gk < kend) { v = mm_readA4(b, gm, gk); }
      As[kk][m] = v.x; As[kk][m + 1u] = v.y; As[kk][m + 2u] = v.z; As[kk][m + 3u] = v.w;
    }`
      : `for (var e = li; e < ${BM * TK}u; e += ${T}u) {
      let m = e / ${TK}u; let kk = e % ${TK}u;
      let gm = row0 + m; let gk = k0 + kk;
      var v = 0.0;
      if (gm < u.M && gk < kend) { v = mm_readA(b, gm, gk); }
      As[kk][m] = v;
    }`;
  const loadB = bVec === 'n'
    ? `for (var e = li; e < ${TK * BN / 4}u; e += ${T}u) {
      let n4 = e % ${BN / 4}u; let kk = e / ${BN / 4}u;
      let gn = col0 + n4 * 4u; let gk = k0 + kk;
      var v = vec4<f32>(0.0);
      if (gn < u.N && gk < kend) { v = mm_readB4(b, gk, gn); }
      Bs[kk][n4] = v;
    }`
    : bVec === 'k'
      ? `for (var e = li; e < ${TK * BN / 4}u; e += ${T}u) {
      let kk = (e % ${TK / 4}u) * 4u; let n = e / ${TK / 4}u;
      let gn = col0 + n; let gk = k0 + kk;
      var v = vec4<f32>(0.0);
      if (gn < u.N && gk < kend) { v = mm_readB4(b, gk, gn); }
      let n4 = n / 4u; let c = n % 4u;
      Bs[kk][n4][c] = v.x; Bs[kk + 1u][n4][c] = v.y; Bs[kk + 2u][n4][c] = v.z; Bs[kk + 3u][n4][c] = v.w;
    }`
      : `for (var e = li; e < ${TK * BN}u; e += ${T}u) {
      let n = e % ${BN}u; let kk = e / ${BN}u;
      let gn = col0 + n; let gk = k0 + kk;
      var v = 0.0;
      if (gn < u.N && gk < kend) { v = mm_readB(b, gk, gn); }
      Bs[kk][n / 4u][n % 4u] = v;
    }`;
  const write = split
    ? `let o = ((s * nb + b) * u.M + gm) * u.N + gn;
          if (gn + 3u < u.N) { Y[o] = v.x; Y[o + 1u] = v.y; Y[o + 2u] = v.z; Y[o + 3u] = v.w; }
          else { for (var c = 0u; c < 4u; c++) { if (gn + c < u.N) { Y[o + c] = v[c]; } } }`
    : outVec
      ? 'mm_write4(b, gm, gn, v);'
      : 'for (var c = 0u; c < 4u; c++) { if (gn + c < u.N) { mm_write(b, gm, gn + c, v[c]); } }';
  return `
${GemmU.wgsl}
${storageDecls(inputs, [['Y', split || !outVec ? 'f32' : 'vec4<f32>']])}
${user}
// Y block ${BM}×${BN} per workgroup of ${t.wgx}×${t.wgy} lanes, ${t.tm}×${t.tn} outputs per lane, K step ${TK}.
var<workgroup> As: array<array<f32, ${BM}>, ${TK}>;
var<workgroup> Bs: array<array<vec4<f32>, ${BN / 4}>, ${TK}>;

@compute @workgroup_size(${t.wgx}, ${t.wgy}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) li: u32, @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = wg.z % u.splits;
  let b = wg.z / u.splits;
  let nb = nwg.z / u.splits;
  let row0 = wg.y * ${BM}u;
  let col0 = wg.x * ${BN}u;
  let kbeg = s * u.kchunk;
  let kend = min(u.K, kbeg + u.kchunk);
  var acc: array<array<vec4<f32>, ${TN4}>, ${t.tm}>;
  for (var k0 = kbeg; k0 < kend; k0 += ${TK}u) {
    ${loadA}
    ${loadB}
    workgroupBarrier();
    for (var kk = 0u; kk < ${TK}u; kk++) {
      var bv: array<vec4<f32>, ${TN4}>;
      for (var j = 0u; j < ${TN4}u; j++) { bv[j] = Bs[kk][lid.x + j * ${t.wgx}u]; }
      for (var i = 0u; i < ${t.tm}u; i++) {
        let a = As[kk][lid.y + i * ${t.wgy}u];
        for (var j = 0u; j < ${TN4}u; j++) { acc[i][j] = fma(vec4<f32>(a), bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${t.tm}u; i++) {
    let gm = row0 + lid.y + i * ${t.wgy}u;
    if (gm >= u.M) { continue; }
    for (var j = 0u; j < ${TN4}u; j++) {
      let gn = col0 + (lid.x + j * ${t.wgx}u) * 4u;
      if (gn >= u.N) { continue; }
      let v = acc[i][j];
      ${write}
    }
  }
}`;
}

/**
 * GEMV for M ≤ 4: each workgroup owns gx vec4 columns; its gk lane rows stride over K and are
 * summed in workgroup memory. A's few rows are read uniformly across the column lanes (a
 * broadcast); B is read as vec4 columns when bVec is 'n'.
 */
function gemvCode(rows: number, bVec: VecB, outVec: boolean, split: boolean, inputs: [string, string][], user: string): string {
  const { gx, gk } = GEMV;
  const readB = bVec === 'n'
    ? 'mm_readB4(b, k, gn)'
    : 'vec4<f32>(mm_readB(b, k, gn), mm_readB(b, k, min(gn + 1u, u.N - 1u)), mm_readB(b, k, min(gn + 2u, u.N - 1u)), mm_readB(b, k, min(gn + 3u, u.N - 1u)))';
  const write = split
    ? `let o = ((s * nb + b) * u.M + m) * u.N + gn;
        for (var c = 0u; c < 4u; c++) { if (gn + c < u.N) { Y[o + c] = v[c]; } }`
    : outVec
      ? 'mm_write4(b, m, gn, v);'
      : 'for (var c = 0u; c < 4u; c++) { if (gn + c < u.N) { mm_write(b, m, gn + c, v[c]); } }';
  return `
${GemmU.wgsl}
${storageDecls(inputs, [['Y', split || !outVec ? 'f32' : 'vec4<f32>']])}
${user}
// Y:(batch, M ≤ ${rows}, N); ${gx} vec4 columns × ${gk} K lanes per workgroup.
var<workgroup> red: array<array<vec4<f32>, ${gx}>, ${gk}>;

@compute @workgroup_size(${gx}, ${gk}, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(num_workgroups) nwg: vec3<u32>) {
  let s = wg.z % u.splits;
  let b = wg.z / u.splits;
  let nb = nwg.z / u.splits;
  let gn = (wg.x * ${gx}u + lid.x) * 4u;
  let live = gn < u.N;
  let kbeg = s * u.kchunk;
  let kend = min(u.K, kbeg + u.kchunk);
  var acc: array<vec4<f32>, ${rows}>;
  if (live) {
    for (var k = kbeg + lid.y; k < kend; k += ${gk}u) {
      let bv = ${readB};
      for (var m = 0u; m < ${rows}u; m++) {
        if (m < u.M) { acc[m] = fma(vec4<f32>(mm_readA(b, m, k)), bv, acc[m]); }
      }
    }
  }
  for (var m = 0u; m < ${rows}u; m++) {
    red[lid.y][lid.x] = acc[m];
    workgroupBarrier();
    for (var h = ${gk / 2}u; h > 0u; h = h / 2u) {
      if (lid.y < h) { red[lid.y][lid.x] += red[lid.y + h][lid.x]; }
      workgroupBarrier();
    }
    if (lid.y == 0u && live && m < u.M) {
      let v = red[0][lid.x];
      ${write}
    }
    workgroupBarrier();
  }
}`;
}

// Split-K partial sums are added (with bias and activation) by matmul's reduce pass:
// P:(S, batch·M·N) → Y:(batch·M·N) = act(Σ_s P + bias[n]), one lane per output.

/** How one GEMM call runs: the tiled core (tile, splits) or GEMV (splits). */
export type GemmPlan =
  | { readonly kind: 'tiled'; readonly tile: GemmTile; readonly splits: number }
  | { readonly kind: 'gemv'; readonly splits: number };

export interface GemmCall {
  batch: number; M: number; N: number; K: number;
  /** Element offsets between batches of A and B (0 broadcasts one matrix). */
  aBatch?: number; bBatch?: number;
  inputs: Tensor[];
  outShape: readonly number[];
  /** Applied by the split-K reduction; the user's writer applies them otherwise. */
  bias?: Tensor;
  act: Activation;
  shapes: string;
}

/** K per split: a multiple of the tile's K step (and of 4 for vec4 reads), covering K in `splits`. */
export function splitChunk(K: number, splits: number, step: number): number {
  return Math.ceil(K / splits / step) * step;
}

/** Dispatches one GEMM through the plan; returns Y:(outShape) = act(A·B + bias). */
export function runGemm<S extends { readonly [k: string]: SpecValue }>(user: GemmUser<S>, plan: GemmPlan, call: GemmCall): Tensor {
  const { batch, M, N, K } = call;
  const rt: Runtime = call.inputs[0]!.runtime;
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  const step = plan.kind === 'tiled' ? plan.tile.tk : 4;
  let splits = Math.max(1, Math.min(plan.splits, Math.ceil(K / step)));
  const kchunk = splitChunk(K, splits, step);
  splits = Math.ceil(K / kchunk); // no empty split
  const split = splits > 1;
  if (plan.kind === 'tiled') checkGemmTile(plan.tile, user.name);
  const gx = plan.kind === 'tiled' ? Math.ceil(N / (plan.tile.wgx * plan.tile.tn)) : Math.ceil(N / (GEMV.gx * 4));
  const gy = plan.kind === 'tiled' ? Math.ceil(M / (plan.tile.wgy * plan.tile.tm)) : 1;
  if (plan.kind === 'gemv' && M > GEMV.maxM) throw new ShapeError(`${user.name}: GEMV takes M ≤ ${GEMV.maxM}, got ${M} (${call.shapes})`);
  if (gx > maxWg || gy > maxWg || batch * splits > maxWg) {
    throw new ShapeError(`${user.name} (${call.shapes}): grid ${gx}×${gy}×${batch * splits} exceeds ${maxWg} per dimension; split the batch or the rows`);
  }
  const inputs = split ? user.operands : [...user.operands, ...user.writerInputs];
  const rows = M <= 1 ? 1 : GEMV.maxM;
  const core = plan.kind === 'tiled' ? { ...plan.tile } : { gemvRows: rows };
  const spec = { user: user.spec, core, aVec: user.aVec, bVec: user.bVec, outVec: user.outVec, split };
  const program = defineProgram(user.name, spec, (sp) => {
    const text = () => user.readers(sp.user as S) + (sp.split ? '' : user.writer(sp.user as S));
    return {
      inputs: inputs.length,
      outputs: 1,
      code: () => plan.kind === 'gemv'
        ? gemvCode((sp.core as { gemvRows: number }).gemvRows, sp.bVec, sp.outVec, sp.split, inputs, text())
        : tiledCode(sp.core as GemmTile, sp.aVec, sp.bVec, sp.outVec, sp.split, inputs, text()),
    };
  });
  const uniforms = GemmU.pack({ M, N, K, kchunk, splits, aBatch: call.aBatch ?? 0, bBatch: call.bBatch ?? 0 });
  const cost = 2 * batch * M * N * K;
  if (!split) {
    return launch({ program, inputs: call.inputs, outShape: call.outShape, uniforms, workgroups: [gx, gy, batch], shapes: call.shapes, cost });
  }
  // The user's writer is bypassed: partial sums go to P, the reduction applies bias and activation.
  const operands = call.inputs.slice(0, user.operands.length);
  const partial = launch({
    program, inputs: operands, outShape: [splits, batch * M * N], uniforms,
    workgroups: [gx, gy, batch * splits], shapes: `${call.shapes} splits:${splits}`, cost,
  });
  try {
    const total = batch * M * N;
    const [rx, ry] = grid1d(Math.ceil(total / 64), rt);
    return launch({
      program: reduceProgram(!!call.bias, call.act), inputs: call.bias ? [partial, call.bias] : [partial],
      outShape: call.outShape, uniforms: SplitReduceU.pack({ total, N, splits, nwgx: rx }), workgroups: [rx, ry],
      shapes: `${call.shapes} splits:${splits}`, cost: total * (splits + 1) * 4,
    });
  } finally {
    partial.dispose();
  }
}

/** `X[i]` of a storage array declared f32, or of one declared vec4<f32> (scalar access by i). */
export function scalarAt(arr: string, vec: boolean, i: string): string {
  return vec ? `${arr}[(${i}) / 4u][(${i}) % 4u]` : `${arr}[${i}]`;
}

/**
 * The writer every user shares: Y:(batch, M, N) row-major, y = act(v + bias[n]) (bias:(N) f32).
 * Conv outputs are such arrays: NHWC forward (N·OH·OW, K), dx (N·H·W, C), HWIO dw (KH·KW·C, K).
 */
export function denseWriter(hasBias: boolean, act: Activation, outVec: boolean): string {
  const b4 = hasBias ? ' + vec4<f32>(bias[n], bias[n + 1u], bias[n + 2u], bias[n + 3u])' : '';
  return `${activationWgsl(act)}
fn mm_write(b: u32, m: u32, n: u32, v: f32) {
  ${outVec ? '' : `Y[(b * u.M + m) * u.N + n] = act(v${hasBias ? ' + bias[n]' : ''});`}
}
${outVec ? `fn mm_write4(b: u32, m: u32, n: u32, v: vec4<f32>) { Y[((b * u.M + m) * u.N + n) / 4u] = act4(v${b4}); }` : ''}
`;
}
