// Element-wise arithmetic with NumPy/TensorFlow broadcasting, scalar ops and stand-alone
// activations. These are memory-bound: one invocation per 4 outputs keeps lanes busy without
// the index arithmetic dominating.
import { ShapeError } from '../gpu/errors.ts';
import type { Tensor } from '../tensor/tensor.ts';
import {
  activationWgsl, checkActivation, defineProgram, grid1d, indexedFields, indexedValues, launch, storageDecls, uniformDecl,
  type Activation,
} from './program.ts';

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min';
const BINARY: Record<BinaryOp, string> = {
  add: 'a + b', sub: 'a - b', mul: 'a * b', div: 'a / b', max: 'max(a, b)', min: 'min(a, b)',
};
const MAX_RANK = 6;
const PER_THREAD = 4;
const WG = 64;

/** Broadcast output shape of two shapes (TensorFlow rules, aligned from the right). */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[a.length - r + i] ?? 1;
    const db = b[b.length - r + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`shapes [${a.join(', ')}] and [${b.join(', ')}] do not broadcast (axis ${i}: ${da} vs ${db})`);
    }
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** Element strides of `shape` seen through broadcasting to `out` (0 on broadcast axes), padded to MAX_RANK. */
function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const strides = new Array<number>(MAX_RANK).fill(0);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const oi = MAX_RANK - (shape.length - i);
    strides[oi] = shape[i] === 1 && out[out.length - (shape.length - i)] !== 1 ? 0 : s;
    s *= shape[i]!;
  }
  return strides;
}

function padShape(shape: readonly number[]): number[] {
  return [...new Array<number>(MAX_RANK - shape.length).fill(1), ...shape];
}

/** Output dims d_a and each operand's broadcast strides sa_a, sb_a (0 on broadcast axes). */
const BinaryU = uniformDecl({
  n: 'u32', nwgx: 'u32', ...indexedFields('d', MAX_RANK), ...indexedFields('sa', MAX_RANK), ...indexedFields('sb', MAX_RANK),
}, 'binary');

// a:(broadcast to out) b:(broadcast to out) out:(d0..d5) — rank padded to 6 on the left.
const binaryProgram = (op: BinaryOp) => defineProgram(`binary.${op}`, { op }, ({ op }) => ({
  inputs: 2,
  outputs: 1,
  code: () => `
${BinaryU.wgsl}
${storageDecls([['A', 'f32'], ['B', 'f32']], [['Y', 'f32']])}
fn f(a: f32, b: f32) -> f32 { return ${BINARY[op]}; }
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    // Unravel i over (d0..d5) and dot with each operand's broadcast strides.
    var r = i;
    let c5 = r % u.d5; r = r / u.d5;
    let c4 = r % u.d4; r = r / u.d4;
    let c3 = r % u.d3; r = r / u.d3;
    let c2 = r % u.d2; r = r / u.d2;
    let c1 = r % u.d1; let c0 = r / u.d1;
    let ia = c0 * u.sa0 + c1 * u.sa1 + c2 * u.sa2 + c3 * u.sa3 + c4 * u.sa4 + c5 * u.sa5;
    let ib = c0 * u.sb0 + c1 * u.sb1 + c2 * u.sb2 + c3 * u.sb3 + c4 * u.sb4 + c5 * u.sb5;
    Y[i] = f(A[ia], B[ib]);
  }
}`,
}));

/**
 * Element-wise `a op b` with broadcasting.
 * @example
 *   const y = binary('add', x, bias);   // x:(N,H,W,C) + bias:(C)
 */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  if (!(op in BINARY)) throw new ShapeError(`unknown binary op '${op}'; use one of ${Object.keys(BINARY).join(', ')}`);
  const out = broadcastShape(a.shape, b.shape);
  if (out.length > MAX_RANK) throw new ShapeError(`binary.${op}: rank ${out.length} exceeds ${MAX_RANK}`);
  const n = out.reduce((x, y) => x * y, 1);
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), a.runtime);
  const u = BinaryU.pack({
    n, nwgx: gx, ...indexedValues('d', padShape(out)),
    ...indexedValues('sa', broadcastStrides(a.shape, out)), ...indexedValues('sb', broadcastStrides(b.shape, out)),
  });
  return launch({ program: binaryProgram(op), inputs: [a, b], outShape: out, uniforms: u, workgroups: [gx, gy] });
}

export const add = (a: Tensor, b: Tensor) => binary('add', a, b);
export const sub = (a: Tensor, b: Tensor) => binary('sub', a, b);
export const mul = (a: Tensor, b: Tensor) => binary('mul', a, b);
export const div = (a: Tensor, b: Tensor) => binary('div', a, b);
export const maximum = (a: Tensor, b: Tensor) => binary('max', a, b);
export const minimum = (a: Tensor, b: Tensor) => binary('min', a, b);

/** y = act(x * scale + shift): scalar ops and activations in one memory pass. */
// x:(any) y:(same as x); scale and shift are the caller's scalars, any float (as x + Infinity in TF).
const AffineU = uniformDecl({ n: 'u32', nwgx: 'u32', scale: 'f32', shift: 'f32' }, 'affine', { nonFinite: ['scale', 'shift'] });
const affineProgram = (act: Activation) => defineProgram(`unary.${act}`, { act }, ({ act }) => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${AffineU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
${activationWgsl(act)}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    Y[i] = act(X[i] * u.scale + u.shift);
  }
}`,
}));

/**
 * act(x * scale + shift), element-wise.
 * @example
 *   const y = affine(x, 1 / 127.5, -1);       // [0,255] → [-1,1]
 */
export function affine(x: Tensor, scale: number, shift: number, act: Activation = 'linear'): Tensor {
  checkActivation(act);
  const [gx, gy] = grid1d(Math.ceil(x.size / (WG * PER_THREAD)), x.runtime);
  const u = AffineU.pack({ n: x.size, nwgx: gx, scale, shift });
  return launch({ program: affineProgram(act), inputs: [x], outShape: x.shape, uniforms: u, workgroups: [gx, gy] });
}

/** Stand-alone activation: relu, relu6, sigmoid, tanh or linear (a copy). */
export const activation = (x: Tensor, act: Activation) => affine(x, 1, 0, act);
export const addScalar = (x: Tensor, s: number) => affine(x, 1, s);
export const mulScalar = (x: Tensor, s: number) => affine(x, s, 0);
export const relu = (x: Tensor) => affine(x, 1, 0, 'relu');
export const sigmoid = (x: Tensor) => affine(x, 1, 0, 'sigmoid');

// The derivative of each activation written in terms of its output y = act(x), so that the
// backward pass needs only the saved output (as TensorFlow's ReluGrad, SigmoidGrad, TanhGrad).
const ACT_GRAD: Record<Activation, string> = {
  linear: 'dy',
  relu: 'select(0.0, dy, y > 0.0)',
  relu6: 'select(0.0, dy, y > 0.0 && y < 6.0)',
  sigmoid: 'dy * y * (1.0 - y)',
  tanh: 'dy * (1.0 - y * y)',
};

// backward of y = act(x * scale + shift):  dx = act'(·) · dy · scale
// dy:(any) y:(same) dx:(same)
const ActGradU = uniformDecl({ n: 'u32', nwgx: 'u32', scale: 'f32' }, 'activationGrad');
const activationGradProgram = (act: Activation) => defineProgram(`unary.${act}.grad`, { act }, ({ act }) => ({
  inputs: 2,
  outputs: 1,
  code: () => `
${ActGradU.wgsl}
${storageDecls([['DY', 'f32'], ['Yv', 'f32']], [['DX', 'f32']])}
fn g(dy: f32, y: f32) -> f32 { return ${ACT_GRAD[act]}; }
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.n) { return; }
    DX[i] = g(DY[i], Yv[i]) * u.scale;
  }
}`,
}));

/**
 * Gradient through a (fused or stand-alone) activation, from the forward's output y.
 * @example
 *   const dPre = activationGrad(dy, y, 'relu');   // dy ⊙ [y > 0]
 */
export function activationGrad(dy: Tensor, y: Tensor, act: Activation, scale = 1): Tensor {
  checkActivation(act);
  if (dy.size !== y.size) {
    throw new ShapeError(`activationGrad: dy [${dy.shape.join(', ')}] and y [${y.shape.join(', ')}] differ in size`);
  }
  const [gx, gy] = grid1d(Math.ceil(y.size / (WG * PER_THREAD)), y.runtime);
  const u = ActGradU.pack({ n: y.size, nwgx: gx, scale });
  return launch({ program: activationGradProgram(act), inputs: [dy, y], outShape: y.shape, uniforms: u, workgroups: [gx, gy] });
}
