// Backward kernels of pool.ts: routing an upstream gradient back through max and average
// pooling windows and the global poolings (VGG's max-pool routing, GAP heads' 1/(H·W)).
// Every dx element gathers from the few windows that contain it, so no atomics are needed.
import { ShapeError } from '../gpu/errors.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { poolGeometry, type PoolGeometry, type PoolOptions } from './pool.ts';
import { defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;
/** Marks "no maximum" in an argmax map (a window whose values are all ≤ -FLT_MAX or NaN). */
const NO_MAX = 0xffffffff;

/** Per-call values of the windowed backwards (as pool.ts's forward); C counts vec4s when vectorised. */
const PoolGradU = uniformDecl({
  total: 'u32', nwgx: 'u32', H: 'u32', W: 'u32', C: 'u32', OH: 'u32', OW: 'u32',
  kh: 'u32', kw: 'u32', sh: 'u32', sw: 'u32', pt: 'u32', pl: 'u32',
}, 'pool gradient');
const geometryValues = (H: number, W: number, cv: number, g: PoolGeometry) =>
  ({ H, W, C: cv, OH: g.oh, OW: g.ow, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw, pt: g.pt, pl: g.pl });

// x:(N,H,W,C) argmax:(N,OH,OW,C) as u32 window positions dh·kw + dw; one invocation per output.
// Tie rule of tfjs-backend-cpu's maxPoolPositions (and TensorFlow's CPU kernel): the window is
// scanned row-major over its in-bounds positions and a value replaces the best only when it is
// strictly greater, so the FIRST maximum in row-major window order wins.
const argmaxProgram = (vec: boolean) => defineProgram('pool.max-argmax', { vec }, ({ vec }) => {
  const T = vec ? 'vec4<f32>' : 'f32';
  const I = vec ? 'vec4<u32>' : 'u32';
  return {
    inputs: 1,
    outputs: 1,
    code: () => `
${PoolGradU.wgsl}
${storageDecls([['X', T]], [['A', I]])}
// x:(N,H,W,C) argmax:(N,OH,OW,C), C counted in ${vec ? 'vec4s' : 'floats'}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let c = i % u.C;
  var r = i / u.C;
  let ow = r % u.OW; r = r / u.OW;
  let oh = r % u.OH;
  let n = r / u.OH;
  let h0 = oh * u.sh;
  let w0 = ow * u.sw;
  var best = ${T}(-3.402823e38);
  var arg = ${I}(${NO_MAX}u);
  for (var dh = 0u; dh < u.kh; dh++) {
    let hp = h0 + dh;
    if (hp < u.pt || hp - u.pt >= u.H) { continue; }
    let row = (n * u.H + hp - u.pt) * u.W;
    for (var dw = 0u; dw < u.kw; dw++) {
      let wp = w0 + dw;
      if (wp < u.pl || wp - u.pl >= u.W) { continue; }
      let v = X[(row + wp - u.pl) * u.C + c];
      let better = v > best;   // strict: an equal value later in the window never wins
      best = select(best, v, better);
      arg = select(arg, ${I}(dh * u.kw + dw), better);
    }
  }
  A[i] = arg;
}`,
  };
});

// dy:(N,OH,OW,C) [argmax:(N,OH,OW,C)] dx:(N,H,W,C); one invocation per dx element, summing
// over the windows (oh,ow) that contain it: oh·sh ≤ h+pt < oh·sh + kh, likewise for w.
//   max: dx += dy[oh,ow] where the window's argmax is this position
//   avg: dx += dy[oh,ow] / (in-bounds count of window (oh,ow)), padding excluded as the forward does
const gatherProgram = (kind: 'max' | 'avg', vec: boolean) => defineProgram(`pool.${kind}-grad`, { kind, vec }, ({ kind, vec }) => {
  const T = vec ? 'vec4<f32>' : 'f32';
  const I = vec ? 'vec4<u32>' : 'u32';
  const ins: [string, string][] = kind === 'max' ? [['DY', T], ['A', I]] : [['DY', T]];
  const term = kind === 'max'
    ? `acc += select(${T}(0.0), DY[j], A[j] == ${I}((hp - oh * u.sh) * u.kw + wp - ow * u.sw));`
    : `let cnt = (min(oh * u.sh + u.kh, u.pt + u.H) - max(oh * u.sh, u.pt)) *
                  (min(ow * u.sw + u.kw, u.pl + u.W) - max(ow * u.sw, u.pl));
        acc += DY[j] / f32(max(cnt, 1u));`;
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${PoolGradU.wgsl}
${storageDecls(ins, [['DX', T]])}
// dy:(N,OH,OW,C) dx:(N,H,W,C), C counted in ${vec ? 'vec4s' : 'floats'}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let c = i % u.C;
  var r = i / u.C;
  let w = r % u.W; r = r / u.W;
  let h = r % u.H;
  let n = r / u.H;
  let hp = h + u.pt;   // padded coordinates
  let wp = w + u.pl;
  // First window reaching hp: ceil((hp + 1 - kh) / sh), or 0 when hp < kh (u32 wrap discarded).
  let oh0 = select(0u, (hp + u.sh - u.kh) / u.sh, hp >= u.kh);
  let oh1 = min(hp / u.sh + 1u, u.OH);
  let ow0 = select(0u, (wp + u.sw - u.kw) / u.sw, wp >= u.kw);
  let ow1 = min(wp / u.sw + 1u, u.OW);
  var acc = ${T}(0.0);
  for (var oh = oh0; oh < oh1; oh++) {
    for (var ow = ow0; ow < ow1; ow++) {
      let j = ((n * u.OH + oh) * u.OW + ow) * u.C + c;
      ${term}
    }
  }
  DX[i] = acc;
}`,
  };
});

function checkDy(op: string, dy: Tensor, x: readonly number[], g: PoolGeometry): void {
  const [N, , , C] = x as [number, number, number, number];
  const want = [N, g.oh, g.ow, C];
  if (dy.rank !== 4 || dy.shape.some((d, i) => d !== want[i])) {
    throw new ShapeError(
      `${op} (${shapeStr('dy', dy.shape)} ${shapeStr('x', x)}): dy must have the forward output's shape (${want.join(',')}); ` +
        'pass the same window, strides and padding as the forward pooling',
    );
  }
}

function poolGrad(kind: 'max' | 'avg', dy: Tensor, x: Tensor | null, xShape: readonly number[], opts: PoolOptions): Tensor {
  const op = `${kind}Pool2dGrad`;
  const g = poolGeometry(op, xShape, opts);
  checkDy(op, dy, xShape, g);
  const [N, H, W, C] = xShape as [number, number, number, number];
  const vec = C % 4 === 0;
  const cv = vec ? C / 4 : C;
  const nx = N * H * W * cv;
  const ny = N * g.oh * g.ow * cv;
  if (nx === 0) return empty(xShape, dy.runtime);
  const shapes = `${shapeStr('dy', dy.shape)} ${shapeStr('x', xShape)} window:${g.kh}x${g.kw} strides:${g.sh}x${g.sw}`;
  const geo = geometryValues(H, W, cv, g);
  let argmax: Tensor | null = null;
  if (x) {
    const [ax, ay] = grid1d(Math.ceil(ny / WG), x.runtime);
    argmax = launch({
      program: argmaxProgram(vec), inputs: [x], outShape: dy.shape, uniforms: PoolGradU.pack({ total: ny, nwgx: ax, ...geo }),
      workgroups: [ax, ay], shapes, cost: (x.size + dy.size) * 4,
    });
  }
  try {
    const [gx, gy] = grid1d(Math.ceil(nx / WG), dy.runtime);
    return launch({
      program: gatherProgram(kind, vec), inputs: argmax ? [dy, argmax] : [dy], outShape: xShape,
      uniforms: PoolGradU.pack({ total: nx, nwgx: gx, ...geo }), workgroups: [gx, gy], shapes,
      cost: (N * H * W * C + dy.size * (argmax ? 2 : 1)) * 4,
    });
  } finally {
    argmax?.dispose();
  }
}

/**
 * Backward of `y = maxPool2d(x, opts)`: dx[argmax of each window] += dy. Ties go to the first
 * maximum in row-major window order, as tfjs-backend-cpu's maxPoolGrad routes them.
 * dy:(N,OH,OW,C) x:(N,H,W,C) dx:(N,H,W,C)
 * @example
 *   const dx = maxPool2dGrad(dy, x, { window: 2 });   // same opts as the forward maxPool2d
 */
export function maxPool2dGrad(dy: Tensor, x: Tensor, opts: PoolOptions): Tensor {
  return poolGrad('max', dy, x, x.shape, opts);
}

/**
 * Backward of `y = avgPool2d(x, opts)`: each window spreads dy evenly over its in-bounds
 * positions (padding is excluded from the count exactly as the forward excludes it).
 * dy:(N,OH,OW,C) dx:(N,H,W,C) with xShape = (N,H,W,C)
 * @example
 *   const dx = avgPool2dGrad(dy, [1, 35, 35, 192], { window: 3, strides: 1, padding: 'same' });
 */
export function avgPool2dGrad(dy: Tensor, xShape: readonly number[], opts: PoolOptions): Tensor {
  return poolGrad('avg', dy, null, xShape, opts);
}

// --- global poolings ---------------------------------------------------------------------

// x:(N,H,W,C) stats:(3,N,C) = [max, first position p = h·W + w of the max, number of ties];
// one invocation per (n, c), scanning p in order with a strict comparison.
const GlobalStatsU = uniformDecl({ total: 'u32', nwgx: 'u32', HW: 'u32', C: 'u32' }, 'globalMaxPoolGrad stats');
const globalStatsProgram = defineProgram('pool.global-max-stats', {}, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${GlobalStatsU.wgsl}
${storageDecls([['X', 'f32']], [['S', 'f32']])}
// x:(N,H,W,C) stats:(3,N,C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let base = (i / u.C) * u.HW * u.C + i % u.C;
  var best = X[base];
  var first = 0u;
  var ties = 1u;
  for (var p = 1u; p < u.HW; p++) {
    let v = X[base + p * u.C];
    if (v > best) { best = v; first = p; ties = 1u; } else if (v == best) { ties++; }
  }
  S[i] = best;
  S[u.total + i] = f32(first);
  S[2u * u.total + i] = f32(ties);
}`,
}));

export type GlobalMaxTies = 'all' | 'first' | 'split';

const GlobalGradU = uniformDecl({ total: 'u32', nwgx: 'u32', HW: 'u32', C: 'u32', NC: 'u32', invHW: 'f32' }, 'global pool gradient');

// dy:(N,C) [x:(N,H,W,C) stats:(3,N,C)] dx:(N,H,W,C); one invocation per dx element.
const globalGradProgram = (kind: 'avg' | GlobalMaxTies) => defineProgram('pool.global-grad', { kind }, ({ kind }) => {
  const body: Record<typeof kind, string> = {
    avg: 'DX[i] = DY[nc] * u.invHW;',
    all: 'DX[i] = select(0.0, DY[nc], X[i] == S[nc]);',
    first: 'DX[i] = select(0.0, DY[nc], f32(p) == S[u.NC + nc]);',
    split: 'DX[i] = select(0.0, DY[nc] / S[2u * u.NC + nc], X[i] == S[nc]);',
  };
  const ins: [string, string][] = kind === 'avg' ? [['DY', 'f32']] : [['DY', 'f32'], ['X', 'f32'], ['S', 'f32']];
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${GlobalGradU.wgsl}
${storageDecls(ins, [['DX', 'f32']])}
// dy:(N,C) dx:(N,H,W,C)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let i = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (i >= u.total) { return; }
  let c = i % u.C;
  let r = i / u.C;
  let p = r % u.HW;
  let nc = (r / u.HW) * u.C + c;
  ${body[kind]}
}`,
  };
});

function globalGrad(op: string, kind: 'avg' | GlobalMaxTies, dy: Tensor, x: Tensor | null, xShape: readonly number[]): Tensor {
  const shapes = `${shapeStr('dy', dy.shape)} ${shapeStr('x', xShape)}`;
  if (xShape.length !== 4) throw new ShapeError(`${op} (${shapes}): x must be NHWC (N,H,W,C)`);
  const [N, H, W, C] = xShape as [number, number, number, number];
  if (dy.rank !== 2 || dy.shape[0] !== N || dy.shape[1] !== C) {
    throw new ShapeError(`${op} (${shapes}): dy must have the forward output's shape (${N},${C})`);
  }
  if (H * W === 0) throw new ShapeError(`${op} (${shapes}): empty spatial extent has no gradient`);
  const total = N * H * W * C;
  if (total === 0) return empty(xShape, dy.runtime);
  let stats: Tensor | null = null;
  if (x) {
    const [sx, sy] = grid1d(Math.ceil((N * C) / WG), x.runtime);
    stats = launch({
      program: globalStatsProgram, inputs: [x], outShape: [3, N, C],
      uniforms: GlobalStatsU.pack({ total: N * C, nwgx: sx, HW: H * W, C }), workgroups: [sx, sy], shapes, cost: (x.size + 3 * N * C) * 4,
    });
  }
  try {
    const [gx, gy] = grid1d(Math.ceil(total / WG), dy.runtime);
    return launch({
      program: globalGradProgram(kind), inputs: x && stats ? [dy, x, stats] : [dy], outShape: xShape,
      uniforms: GlobalGradU.pack({ total, nwgx: gx, HW: H * W, C, NC: N * C, invHW: 1 / (H * W) }), workgroups: [gx, gy], shapes,
      cost: (x ? 2 : 1) * total * 4,
    });
  } finally {
    stats?.dispose();
  }
}

/**
 * Backward of `y = globalAvgPool(x)`: dx[n,h,w,c] = dy[n,c] / (H·W).
 * dy:(N,C) dx:(N,H,W,C) with xShape = (N,H,W,C)
 * @example
 *   const dx = globalAvgPoolGrad(dy, [1, 8, 8, 2048]);
 */
export function globalAvgPoolGrad(dy: Tensor, xShape: readonly number[]): Tensor {
  return globalGrad('globalAvgPoolGrad', 'avg', dy, null, xShape);
}

/**
 * Backward of `y = globalMaxPool(x)`. Where several positions of a (n,c) plane hold the
 * maximum, `ties` decides: 'all' (default) gives each of them the full dy, which is what
 * tfjs-core's gradient of tf.max computes (dy · (x == max)); 'first' routes dy to the first
 * maximum in row-major (h,w) order only; 'split' divides dy evenly among them, as TensorFlow's
 * Python gradient of reduce_max does.
 * dy:(N,C) x:(N,H,W,C) dx:(N,H,W,C)
 * @example
 *   const dx = globalMaxPoolGrad(dy, x);            // tfjs's rule
 *   const dx1 = globalMaxPoolGrad(dy, x, 'first');
 */
export function globalMaxPoolGrad(dy: Tensor, x: Tensor, ties: GlobalMaxTies = 'all'): Tensor {
  if (!['all', 'first', 'split'].includes(ties)) {
    throw new ShapeError(`globalMaxPoolGrad: unknown ties rule '${String(ties)}'; use 'all', 'first' or 'split'`);
  }
  return globalGrad('globalMaxPoolGrad', ties, dy, x, x.shape);
}
