// The fused CAM reductions: from a layer's activations A and gradients dA to a normalised map in
// one dispatch (channel weights, weighted channel sum, ReLU, per-image max and division), plus
// the small helpers the CAM pipeline needs on the device (re-normalising, one-hot targets,
// repeating images for top-k). Each CAM method supplies its weighting as a WGSL snippet; the
// snippet contract (u.P, act(), grad(), given(), w) is documented where methods are written:
// src/cam/methods/README.md.
import { ShapeError } from '../gpu/errors.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;
/** Channel weights held in workgroup memory at a time (4 KiB). */
const CHUNK = 1024;

/**
 * How a CAM method turns (A, dA) into a map, as WGSL the fused kernel splices in. Either
 * `channel`: statements that set `w` (f32) for channel `c` (u32), with `act(p, c)`, `grad(p, c)`
 * (p = h·W + w over `u.P` positions) and `given(c)` (a weight vector passed in) available, the
 * map then being Σ_c w_c·A[p, c]; or `pixel`: an expression of `a` and `g` at one (p, c), the map
 * being the sum (or max, `pixelMax`) of it over channels. The full contract, with examples:
 * src/cam/methods/README.md.
 */
export interface CamWeighting {
  /** Names the snippet in error messages (the pipeline key is derived from the snippet text). */
  key: string;
  channel?: string;
  pixel?: string;
  pixelMax?: boolean;
}

export interface CamReduceOptions {
  /** Rows of g per image of a (top-k CAMs of one image share its activations). Default 1. */
  rowsPerImage?: number;
  /**
   * Flip each map's sign so that it correlates positively with the mean activation over
   * channels before the ReLU (Eigen-CAM: a principal component's sign is arbitrary).
   */
  signFix?: boolean;
}

/** Per-call values of the fused reduction: R map rows, P = h·w positions, C channels, `per` rows per image of a. */
const ReduceU = uniformDecl({ R: 'u32', P: 'u32', C: 'u32', per: 'u32', nwgx: 'u32' }, 'camReduce');

// a:(NA,H,W,C) g:(R,H,W,C) or (R,C) for given weights → map:(R,H,W) in [0,1], weights:(R,C), peak:(R)
// One workgroup per map row r (image r / rowsPerImage of a). Channel weightings: per chunk of
// CHUNK channels, lanes compute the weights (lane j ↔ channel c0 + j, so loads are contiguous
// across lanes) into workgroup memory, then each lane accumulates Σ_c w_c·A[p,c] for its
// positions p ≡ lane (mod 64) into the map. Then: optional sign fix, ReLU, a workgroup max and
// the division by it (an all-zero map stays zero).
// The spec holds the snippet text itself, so an edited snippet never reuses a stale pipeline
// (and `wt.key`, a name for messages, stays out of it).
const reduceProgram = (wt: CamWeighting, signFix: boolean) => defineProgram('camReduce', {
  channel: wt.channel, pixel: wt.pixel, pixelMax: !!wt.pixelMax, signFix,
}, ({ channel: channelSnippet, pixel, pixelMax, signFix }) => {
  const channel = channelSnippet !== undefined;
  return {
    inputs: 2,
    outputs: 3,
    code: () => `
${ReduceU.wgsl}
${storageDecls([['A', 'f32'], ['G', 'f32']], [['MAP', 'f32'], ['WT', 'f32'], ['PEAK', 'f32']])}
var<workgroup> wsh: array<f32, ${CHUNK}>;
var<workgroup> red: array<f32, ${WG}>;
var<private> aBase: u32;
var<private> gBase: u32;
var<private> row: u32;
fn act(p: u32, c: u32) -> f32 { return A[aBase + p * u.C + c]; }
fn grad(p: u32, c: u32) -> f32 { return G[gBase + p * u.C + c]; }
fn given(c: u32) -> f32 { return G[row * u.C + c]; }
${channel ? `fn weight(c: u32) -> f32 {\n  var w = 0.0;\n  ${channelSnippet}\n  return w;\n}` : `fn term(a: f32, g: f32) -> f32 { return ${pixel}; }`}
// Tree reduction of red[] (max or sum); every lane returns red[0].
fn reduce(l: u32, isMax: bool) -> f32 {
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (l < s) { red[l] = select(red[l] + red[l + s], max(red[l], red[l + s]), isMax); }
    workgroupBarrier();
  }
  let v = red[0];
  workgroupBarrier();
  return v;
}
// a:(NA,H,W,C) g:(R,H,W,C)|(R,C) map:(R,H,W) weights:(R,C) peak:(R)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y * u.nwgx + wg.x;
  if (r >= u.R) { return; }
  let l = lid.x;
  row = r;
  aBase = (r / u.per) * u.P * u.C;
  gBase = r * u.P * u.C;
  let mb = r * u.P;
${channel ? `
  for (var p = l; p < u.P; p += ${WG}u) { MAP[mb + p] = 0.0; }
  for (var c0 = 0u; c0 < u.C; c0 += ${CHUNK}u) {
    let cn = min(${CHUNK}u, u.C - c0);
    for (var j = l; j < cn; j += ${WG}u) {
      let w = weight(c0 + j);
      WT[r * u.C + c0 + j] = w;
      wsh[j] = w;
    }
    workgroupBarrier();
    for (var p = l; p < u.P; p += ${WG}u) {
      let o = aBase + p * u.C + c0;
      var acc = 0.0;
      for (var j = 0u; j < cn; j++) { acc += wsh[j] * A[o + j]; }
      MAP[mb + p] += acc;
    }
    workgroupBarrier();
  }` : `
  for (var p = l; p < u.P; p += ${WG}u) {
    var acc = ${pixelMax ? '-3.0e38' : '0.0'};
    for (var c = 0u; c < u.C; c++) {
      let t = term(act(p, c), grad(p, c));
      acc = ${pixelMax ? 'max(acc, t)' : 'acc + t'};
    }
    MAP[mb + p] = acc;
  }`}
  var sgn = 1.0;
${signFix ? `
  var s = 0.0;
  for (var p = l; p < u.P; p += ${WG}u) {
    var m = 0.0;
    for (var c = 0u; c < u.C; c++) { m += act(p, c); }
    s += MAP[mb + p] * m;
  }
  red[l] = s;
  workgroupBarrier();
  if (reduce(l, false) < 0.0) { sgn = -1.0; }` : ''}
  var mx = 0.0;
  for (var p = l; p < u.P; p += ${WG}u) {
    let v = max(sgn * MAP[mb + p], 0.0);
    MAP[mb + p] = v;
    mx = max(mx, v);
  }
  red[l] = mx;
  workgroupBarrier();
  let peak = reduce(l, true);
  if (peak > 0.0) {
    for (var p = l; p < u.P; p += ${WG}u) { MAP[mb + p] = MAP[mb + p] / peak; }
  }
  if (l == 0u) { PEAK[r] = peak; }
}`,
  };
});

/**
 * The fused CAM reduction: weights (per the method's snippet), Σ_c w_c·A, ReLU and division by
 * each map's maximum, in one dispatch. Returns the normalised maps, the channel weights (for
 * channel weightings; a 1-element placeholder otherwise) and each map's peak before division.
 * @example
 *   const { map } = camReduce(acts, dActs, GRADCAM);   // (1,7,7,512),(1,7,7,512) → (1,7,7)
 */
// a:(NA,H,W,C) g:(R,H,W,C)|(R,C) map:(R,H,W) weights:(R,C) peak:(R)
export function camReduce(a: Tensor, g: Tensor, wt: CamWeighting, opts: CamReduceOptions = {}): { map: Tensor; weights: Tensor; peak: Tensor } {
  const per = opts.rowsPerImage ?? 1;
  const shapes = `${shapeStr('a', a.shape)} ${shapeStr('g', g.shape)} weighting:${wt.key}`;
  if (a.rank !== 4) throw new ShapeError(`camReduce (${shapes}): activations must be (N,H,W,C)`);
  const [na, h, w, c] = a.shape as [number, number, number, number];
  const givenWeights = g.rank === 2;
  const R = g.shape[0]!;
  if ((wt.channel === undefined) === (wt.pixel === undefined)) throw new ShapeError(`camReduce: weighting '${wt.key}' must give exactly one of channel or pixel`);
  if (givenWeights ? g.shape[1] !== c || wt.channel === undefined : g.rank !== 4 || g.shape[1] !== h || g.shape[2] !== w || g.shape[3] !== c) {
    throw new ShapeError(`camReduce (${shapes}): g must be (R,${h},${w},${c}) gradients, or (R,${c}) weights for a channel weighting`);
  }
  if (!Number.isInteger(per) || per < 1 || R !== na * per) {
    throw new ShapeError(`camReduce (${shapes}): ${R} rows of g need ${R / per} images of a at ${per} rows per image`);
  }
  const rt = a.runtime;
  const P = h * w;
  const map = empty([R, h, w], rt, 'camReduce.map');
  const weights = empty(wt.channel !== undefined ? [R, c] : [1], rt, 'camReduce.weights');
  const peak = empty([R], rt, 'camReduce.peak');
  if (R === 0) return { map, weights, peak };
  const [gx, gy] = grid1d(R, rt);
  try {
    rt.dispatch({
      program: reduceProgram(wt, !!opts.signFix),
      inputs: [{ buffer: a.buffer }, { buffer: g.buffer }],
      outputs: [{ buffer: map.buffer }, { buffer: weights.buffer }, { buffer: peak.buffer }],
      uniforms: ReduceU.pack({ R, P, C: c, per, nwgx: gx }),
      workgroups: [gx, gy],
      shapes,
      cost: 6 * R * P * c,
    });
  } catch (e) {
    for (const t of [map, weights, peak]) t.dispose();
    throw e;
  }
  return { map, weights, peak };
}

// x:(R,P) y:(R,P) = max(x,0) / max_p max(x,0) (0 stays 0), peak:(R). One workgroup per row.
const NormalizeU = uniformDecl({ R: 'u32', P: 'u32', nwgx: 'u32' }, 'normalizeMaps');
const normalizeProgram = defineProgram('camNormalize', {}, () => ({
  inputs: 1,
  outputs: 2,
  code: () => `
${NormalizeU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32'], ['PEAK', 'f32']])}
var<workgroup> red: array<f32, ${WG}>;
// x:(R,P) y:(R,P) peak:(R)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let r = wg.y * u.nwgx + wg.x;
  if (r >= u.R) { return; }
  let l = lid.x;
  let b = r * u.P;
  var mx = 0.0;
  for (var p = l; p < u.P; p += ${WG}u) { mx = max(mx, X[b + p]); }
  red[l] = mx;
  workgroupBarrier();
  for (var s = ${WG / 2}u; s > 0u; s = s >> 1u) {
    if (l < s) { red[l] = max(red[l], red[l + s]); }
    workgroupBarrier();
  }
  let peak = red[0];
  for (var p = l; p < u.P; p += ${WG}u) {
    let v = max(X[b + p], 0.0);
    Y[b + p] = select(v, v / peak, peak > 0.0);
  }
  if (l == 0u) { PEAK[r] = peak; }
}`,
}));

/**
 * ReLU and division by each row's maximum: re-normalises averaged or multiplied maps.
 * @example
 *   const { map } = normalizeMaps(sumOfMaps);   // (R,H,W) → (R,H,W) in [0,1]
 */
// x:(R,…) y:(R,…) peak:(R)
export function normalizeMaps(x: Tensor): { map: Tensor; peak: Tensor } {
  if (x.rank < 1) throw new ShapeError('normalizeMaps: x needs a leading row axis');
  const R = x.shape[0]!;
  const P = R ? x.size / R : 0;
  const rt = x.runtime;
  const map = empty(x.shape, rt, 'camNormalize.map');
  const peak = empty([R], rt, 'camNormalize.peak');
  if (R === 0 || P === 0) return { map, peak };
  const [gx, gy] = grid1d(R, rt);
  try {
    rt.dispatch({
      program: normalizeProgram,
      inputs: [{ buffer: x.buffer }],
      outputs: [{ buffer: map.buffer }, { buffer: peak.buffer }],
      uniforms: NormalizeU.pack({ R, P, nwgx: gx }),
      workgroups: [gx, gy],
      shapes: shapeStr('x', x.shape),
      cost: 8 * x.size,
    });
  } catch (e) {
    map.dispose();
    peak.dispose();
    throw e;
  }
  return { map, peak };
}

// idx:(R,S) float class indices → y:(R,L) with y[r, l] = 1 where l = idx[r, r mod K] (K ≤ S),
// else 0. (Rows of an image repeated K times for its top-K classes each pick their own column.)
const OneHotU = uniformDecl({ n: 'u32', L: 'u32', K: 'u32', S: 'u32', nwgx: 'u32' }, 'oneHotRows');
const oneHotProgram = defineProgram('camOneHot', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${OneHotU.wgsl}
${storageDecls([['I', 'f32']], [['Y', 'f32']])}
// idx:(R,S) y:(R,L)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  let r = i / u.L;
  let want = u32(I[r * u.S + r % u.K]);
  Y[i] = select(0.0, 1.0, i % u.L == want);
}`,
}));

/**
 * One-hot rows from float-encoded class indices (as topk returns them); row r takes column
 * r mod k of its index row, so rows repeated for top-k targets each get their own class.
 * @example
 *   const mask = oneHotRows(topk(probs, 5).indices, 1000, 1);   // (N,5) → (N,1000), the top-1
 */
// idx:(R,S) y:(R,classes)
export function oneHotRows(idx: Tensor, classes: number, k = idx.shape[1] ?? 1): Tensor {
  if (idx.rank !== 2) throw new ShapeError(`oneHotRows: ${shapeStr('idx', idx.shape)} must be (R,S)`);
  const [R, S] = idx.shape as [number, number];
  if (!Number.isInteger(k) || k < 1 || k > S) throw new ShapeError(`oneHotRows: k = ${k} must be in 1…${S} (${shapeStr('idx', idx.shape)})`);
  const n = R * classes;
  const [gx, gy] = grid1d(Math.ceil(n / WG), idx.runtime);
  return launch({
    program: oneHotProgram, inputs: [idx], outShape: [R, classes],
    uniforms: OneHotU.pack({ n, L: classes, K: k, S, nwgx: gx }), workgroups: [gx, gy],
  });
}

// x:(N,S) y:(N·K,S) with y[n·K + k] = x[n]
const RepeatU = uniformDecl({ n: 'u32', S: 'u32', K: 'u32', nwgx: 'u32' }, 'repeatRows');
const repeatProgram = defineProgram('camRepeatRows', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${RepeatU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
// x:(N,S) y:(N·K,S)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.n) { return; }
  let row = i / u.S;
  Y[i] = X[(row / u.K) * u.S + i % u.S];
}`,
}));

/**
 * Each image (row of the leading axis) repeated K times in place: (N,…) → (N·K,…).
 * @example
 *   const x3 = repeatRows(x, 3);   // (2,224,224,3) → (6,224,224,3): image 0 three times, then 1
 */
// x:(N,…) y:(N·K,…)
export function repeatRows(x: Tensor, k: number): Tensor {
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`repeatRows: k = ${k} must be a positive integer`);
  const N = x.shape[0] ?? 1;
  const S = N ? x.size / N : 0;
  const n = x.size * k;
  const [gx, gy] = grid1d(Math.ceil(n / WG), x.runtime);
  return launch({
    program: repeatProgram, inputs: [x], outShape: [N * k, ...x.shape.slice(1)],
    uniforms: RepeatU.pack({ n, S, K: k, nwgx: gx }), workgroups: [gx, gy],
  });
}
