// Sums over axes: the gradient of every broadcast (bias, batch-norm scale, element-wise ops)
// is the upstream gradient summed over the broadcast axes. Done in two passes when the
// reduction is long and the output small (a bias gradient sums N·H·W values into C outputs),
// so that every core gets a share of the reduction instead of C lanes doing it all.
import { ShapeError } from '../gpu/errors.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, indexedFields, indexedValues, launch, storageDecls, uniformDecl } from './program.ts';

const MAX_RANK = 6;
const WG = 64;
/** Aim for at least this many partial sums in flight before splitting stops paying. */
const TARGET_LANES = 8192;
const PER_THREAD = 4;

/** Kept axes' dims od_a and x-strides os_a, reduced axes' rd_a and rs_a (padded to 6). */
const SumU = uniformDecl({
  nOut: 'u32', nRed: 'u32', splits: 'u32', chunk: 'u32', nwgx: 'u32',
  ...indexedFields('od', MAX_RANK), ...indexedFields('os', MAX_RANK), ...indexedFields('rd', MAX_RANK), ...indexedFields('rs', MAX_RANK),
}, 'sum');

// x:(d0..d5) (rank padded to 6) y:(kept axes) — y[o] = Σ_r x[base(o) + offset(r)] over the
// reduced index r in [rStart, rEnd) of split s: partial[s, o].
const sumProgram = defineProgram('reduce.sum', { rank: MAX_RANK }, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${SumU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
// Offset in X of the idx-th element of a 6-D index space with sizes d and X-strides s.
fn offsetOf(idx: u32, d0: u32, d1: u32, d2: u32, d3: u32, d4: u32, d5: u32,
            s0: u32, s1: u32, s2: u32, s3: u32, s4: u32, s5: u32) -> u32 {
  var r = idx;
  let c5 = r % d5; r = r / d5;
  let c4 = r % d4; r = r / d4;
  let c3 = r % d3; r = r / d3;
  let c2 = r % d2; r = r / d2;
  let c1 = r % d1; let c0 = r / d1;
  return c0 * s0 + c1 * s1 + c2 * s2 + c3 * s3 + c4 * s4 + c5 * s5;
}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (t >= u.nOut * u.splits) { return; }
  let o = t % u.nOut;
  let sp = t / u.nOut;
  let base = offsetOf(o, u.od0, u.od1, u.od2, u.od3, u.od4, u.od5, u.os0, u.os1, u.os2, u.os3, u.os4, u.os5);
  let r0 = sp * u.chunk;
  let r1 = min(r0 + u.chunk, u.nRed);
  var acc = 0.0;
  for (var r = r0; r < r1; r++) {
    acc += X[base + offsetOf(r, u.rd0, u.rd1, u.rd2, u.rd3, u.rd4, u.rd5, u.rs0, u.rs1, u.rs2, u.rs3, u.rs4, u.rs5)];
  }
  Y[t] = acc;
}`,
}));

function pad6(v: number[], fill: number): number[] {
  return [...new Array<number>(MAX_RANK - v.length).fill(fill), ...v];
}

/** One pass of Σ over `axes` of x with `splits` partial sums per output: y:(splits, kept…). */
function sumPass(x: Tensor, axes: Set<number>, splits: number): Tensor {
  const shape = x.shape;
  const strides: number[] = [];
  let st = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = st;
    st *= shape[i]!;
  }
  const od: number[] = [], os: number[] = [], rd: number[] = [], rs: number[] = [];
  shape.forEach((d, i) => {
    if (axes.has(i)) {
      rd.push(d);
      rs.push(strides[i]!);
    } else {
      od.push(d);
      os.push(strides[i]!);
    }
  });
  const nOut = od.reduce((a, b) => a * b, 1);
  const nRed = rd.reduce((a, b) => a * b, 1);
  const chunk = Math.ceil(nRed / splits);
  const [gx, gy] = grid1d(Math.ceil((nOut * splits) / WG), x.runtime);
  const u = SumU.pack({
    nOut, nRed, splits, chunk, nwgx: gx,
    ...indexedValues('od', pad6(od, 1)), ...indexedValues('os', pad6(os, 0)),
    ...indexedValues('rd', pad6(rd, 1)), ...indexedValues('rs', pad6(rs, 0)),
  });
  return launch({
    program: sumProgram,
    inputs: [x],
    outShape: splits > 1 ? [splits, ...od] : od,
    uniforms: u,
    workgroups: [gx, gy],
    cost: x.byteLength,
  });
}

/**
 * Σ of x over `axes` (negative axes count from the end); the reduced axes are dropped, or kept
 * as size 1 with keepDims.
 * @example
 *   const dBias = sum(dy, [0, 1, 2]);   // dy:(N,H,W,C) → (C)
 */
export function sum(x: Tensor, axes: number[], keepDims = false): Tensor {
  if (x.rank > MAX_RANK) throw new ShapeError(`sum: rank ${x.rank} exceeds ${MAX_RANK}`);
  const set = new Set(axes.map((a) => (a < 0 ? a + x.rank : a)));
  for (const a of set) {
    if (a < 0 || a >= x.rank) throw new ShapeError(`sum: axis ${a} out of range for shape [${x.shape.join(', ')}]`);
  }
  const outShape = x.shape.map((d, i) => (set.has(i) ? 1 : d));
  const finalShape = keepDims ? outShape : x.shape.filter((_, i) => !set.has(i));
  if (set.size === 0) return x.reshape(finalShape);
  const nOut = outShape.reduce((a, b) => a * b, 1);
  const nRed = x.size / Math.max(nOut, 1);
  // Split long reductions so that at least TARGET_LANES partial sums run in parallel, with no
  // split shorter than 64 terms; the partials are then summed by a second (short) pass.
  const splits = Math.max(1, Math.min(Math.floor(nRed / 64), Math.ceil(TARGET_LANES / Math.max(nOut, 1))));
  if (splits === 1 || nOut === 0) {
    const y = sumPass(x, set, 1);
    const r = y.reshape(finalShape);
    y.dispose();
    return r;
  }
  const partial = sumPass(x, set, splits);
  const y = sumPass(partial, new Set([0]), 1);
  partial.dispose();
  const r = y.reshape(finalShape);
  y.dispose();
  return r;
}

/**
 * Sums a broadcast result back to the shape of one operand: the gradient rule of every
 * broadcasting op. `shape` must broadcast to dy's shape.
 * @example
 *   const dB = sumToShape(dY, [1, 1, 1, 64]);
 */
export function sumToShape(dy: Tensor, shape: readonly number[]): Tensor {
  const r = dy.rank;
  if (shape.length > r) throw new ShapeError(`sumToShape: [${shape.join(', ')}] has more axes than [${dy.shape.join(', ')}]`);
  const axes: number[] = [];
  for (let i = 0; i < r; i++) {
    const t = shape[i - (r - shape.length)];
    if (t === undefined || (t === 1 && dy.shape[i] !== 1)) axes.push(i);
    else if (t !== dy.shape[i]) {
      throw new ShapeError(`sumToShape: [${shape.join(', ')}] does not broadcast to [${dy.shape.join(', ')}]`);
    }
  }
  const s = sum(dy, axes, true);
  const out = s.reshape(shape);
  s.dispose();
  return out;
}

/** Copies a tensor (a fresh buffer with the same data): for outputs that must not alias. */
export function copy(x: Tensor): Tensor {
  const y = empty(x.shape, x.runtime);
  x.runtime.copy(x.buffer, y.buffer, x.byteLength);
  return y;
}

const BroadcastU = uniformDecl({ n: 'u32', nwgx: 'u32', ...indexedFields('d', MAX_RANK), ...indexedFields('s', MAX_RANK) }, 'broadcastTo');

// x:(broadcastable to y) y:(d0..d5) — y[i] = x[Σ c_k · s_k] with stride 0 on broadcast axes.
const broadcastProgram = defineProgram('broadcastTo', { rank: MAX_RANK }, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${BroadcastU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    var r = i;
    let c5 = r % u.d5; r = r / u.d5;
    let c4 = r % u.d4; r = r / u.d4;
    let c3 = r % u.d3; r = r / u.d3;
    let c2 = r % u.d2; r = r / u.d2;
    let c1 = r % u.d1; let c0 = r / u.d1;
    Y[i] = X[c0 * u.s0 + c1 * u.s1 + c2 * u.s2 + c3 * u.s3 + c4 * u.s4 + c5 * u.s5];
  }
}`,
}));

/**
 * Repeats x along its size-1 (or missing leading) axes to `shape`: the adjoint of sumToShape,
 * and so the gradient rule of every reduction.
 * @example
 *   const dx = broadcastTo(dSum, [2, 7, 7, 64]);   // dSum:(2,1,1,64)
 */
export function broadcastTo(x: Tensor, shape: readonly number[]): Tensor {
  if (shape.length > MAX_RANK || x.rank > shape.length) {
    throw new ShapeError(`broadcastTo: cannot broadcast [${x.shape.join(', ')}] to [${shape.join(', ')}]`);
  }
  const strides = new Array<number>(MAX_RANK).fill(0);
  let st = 1;
  for (let i = x.rank - 1; i >= 0; i--) {
    const o = shape.length - (x.rank - i);
    const d = x.shape[i]!;
    if (d !== 1 && d !== shape[o]) {
      throw new ShapeError(`broadcastTo: cannot broadcast [${x.shape.join(', ')}] to [${shape.join(', ')}] (axis ${o})`);
    }
    strides[MAX_RANK - (x.rank - i)] = d === 1 ? 0 : st;
    st *= d;
  }
  const n = shape.reduce((a, b) => a * b, 1);
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), x.runtime);
  const u = BroadcastU.pack({ n, nwgx: gx, ...indexedValues('d', pad6([...shape], 1)), ...indexedValues('s', strides) });
  return launch({ program: broadcastProgram, inputs: [x], outShape: shape, uniforms: u, workgroups: [gx, gy] });
}
