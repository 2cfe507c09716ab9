// Concatenation along any axis (Inception's mixed blocks join 4 branches on channels). Up to
// MAX_GROUP inputs are copied by one kernel into a column range of the output, so a 4-branch
// block is one pass; longer lists take ceil(n / MAX_GROUP) passes into the same output.
// Its backward sits here too: concatGrad (the same column split, run in reverse) and slice.
import { ShapeError } from '../gpu/errors.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import {
  defineProgram, grid1d, indexedFields, indexedValues, shapeStr, storageDecls, uniformDecl, type UniformDecl,
} from './program.ts';

const WG = 64;
const PER_THREAD = 4;
/** Inputs one pass reads; also bounded by the adapter's storage-buffer limit (one is the output). */
const MAX_GROUP = 8;

const passDecls = new Map<number, UniformDecl<Record<string, 'u32'>>>();
/** The pass's uniforms for k inputs (shared by concat and concatGrad): widths w_i, offsets off_i. */
function passU(k: number): UniformDecl<Record<string, 'u32'>> {
  let d = passDecls.get(k);
  if (!d) {
    d = uniformDecl({
      n: 'u32', nwgx: 'u32', rowLen: 'u32', colStart: 'u32', width: 'u32', ...indexedFields('w', k), ...indexedFields('off', k),
    }, `concat/concatGrad (${k} inputs)`);
    passDecls.set(k, d);
  }
  return d;
}

// Every input is viewed as (outer, w_k) with outer = Π shape[:axis] and w_k = Π shape[axis:];
// the output is (outer, rowLen) with rowLen = Σ w_k. One pass copies inputs k = 0..K-1 into
// output columns [colStart, colStart + width), input k owning [off_k, off_k + w_k) of that range.
// x_k:(outer, w_k) y:(outer, rowLen)
const concatProgram = (k: number) => defineProgram('concat', { k }, ({ k }) => {
  const xs = Array.from({ length: k }, (_, i) => i);
  // Branch on the column: input i owns [off_i, off_{i+1}); off_0 = 0 and off_K = width.
  const pick = xs
    .map((i) => {
      const cond = i === k - 1 ? '' : `if (col < u.off${i + 1}) `;
      const src = `X${i}[row * u.w${i} + col${i === 0 ? '' : ` - u.off${i}`}]`;
      return `${cond}{ v = ${src}; }`;
    })
    .join(' else ');
  return {
    inputs: k,
    outputs: 1,
    code: () => `
${passU(k).wgsl}
${storageDecls(xs.map((i) => [`X${i}`, 'f32'] as [string, string]), [['Y', 'f32']])}
// x_k:(outer, w_k) y:(outer, rowLen); n = outer * width elements written by this pass.
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Consecutive lanes take consecutive elements (coalesced on GPUs, one vector on lavapipe).
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = base + j * ${WG}u;
    if (i >= u.n) { return; }
    let row = i / u.width;
    let col = i - row * u.width;
    var v = 0.0;
    ${pick}
    Y[row * u.rowLen + u.colStart + col] = v;
  }
}`,
  };
});

function normAxis(axis: number, rank: number, what: string): number {
  if (!Number.isInteger(axis) || axis < -rank || axis >= rank) {
    throw new ShapeError(`${what}: axis ${axis} is out of range for rank ${rank}; use -${rank}..${rank - 1}`);
  }
  return axis < 0 ? axis + rank : axis;
}

/**
 * Joins tensors along `axis` (default the last, channels in NHWC); all other axes must agree.
 * @example
 *   const y = concat([b1, b2, b3, b4]);   // (N,H,W,64)+(N,H,W,64)+(N,H,W,96)+(N,H,W,32) → (N,H,W,256)
 */
// x_i:(N,H,W,C_i) y:(N,H,W,ΣC_i)
export function concat(xs: Tensor[], axis = -1): Tensor {
  const first = xs[0];
  if (!first) throw new ShapeError('concat: needs at least one tensor');
  const rank = first.rank;
  const all = xs.map((t, i) => shapeStr(`x${i}`, t.shape)).join(' ');
  if (rank === 0) throw new ShapeError(`concat: scalars cannot be concatenated (${all}); reshape them to [1] first`);
  const ax = normAxis(axis, rank, `concat(${all})`);
  const rt: Runtime = first.runtime;
  for (const [i, t] of xs.entries()) {
    if (t.runtime !== rt) throw new ShapeError(`concat: x${i} lives on a different device from x0`);
    const same = t.rank === rank && t.shape.every((d, a) => a === ax || d === first.shape[a]);
    if (!same) {
      throw new ShapeError(
        `concat along axis ${ax}: x${i} has shape [${t.shape.join(', ')}] but x0 has [${first.shape.join(', ')}]; ` +
          `inputs must have rank ${rank} and agree on every axis except ${ax} (${all})`,
      );
    }
  }
  const outShape = [...first.shape];
  outShape[ax] = xs.reduce((a, t) => a + t.shape[ax]!, 0);
  const outer = first.shape.slice(0, ax).reduce((a, d) => a * d, 1);
  const inner = (t: Tensor) => t.shape.slice(ax).reduce((a, d) => a * d, 1);
  const rowLen = outShape.slice(ax).reduce((a, d) => a * d, 1);
  const out = empty(outShape, rt, 'concat');
  if (out.size === 0) return out;

  // Empty inputs contribute nothing; the rest go in groups, each group one pass.
  const parts = xs.filter((t) => t.size > 0);
  const group = Math.max(1, Math.min(MAX_GROUP, rt.limits.maxStorageBuffersPerShaderStage - 1));
  const shapes = `${all} axis:${ax} ${shapeStr('out', outShape)}`;
  let colStart = 0;
  try {
    for (let g = 0; g < parts.length; g += group) {
      const grp = parts.slice(g, g + group);
      const ws = grp.map(inner);
      const offs = ws.map((_, i) => ws.slice(0, i).reduce((a, w) => a + w, 0));
      const width = ws.reduce((a, w) => a + w, 0);
      const n = outer * width;
      const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), rt);
      const u = passU(grp.length).pack({ n, nwgx: gx, rowLen, colStart, width, ...indexedValues('w', ws), ...indexedValues('off', offs) });
      rt.dispatch({
        program: concatProgram(grp.length),
        inputs: grp.map((t) => ({ buffer: t.buffer })),
        outputs: [{ buffer: out.buffer }],
        uniforms: u,
        workgroups: [gx, gy],
        shapes,
        cost: 8 * n,
      });
      colStart += width;
    }
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Backward: y = concat(xs, axis)  ⇒  dx_k = dy[..., off_k : off_k + d_k, ...] (one slice per input).

// The mirror of concatProgram: dy:(outer, rowLen) is read over the column range
// [colStart, colStart + width) and each column goes to the output that owns it.
// dy:(outer, rowLen) dx_k:(outer, w_k)
const concatGradProgram = (k: number) => defineProgram('concatGrad', { k }, ({ k }) => {
  const xs = Array.from({ length: k }, (_, i) => i);
  const put = xs
    .map((i) => {
      const cond = i === k - 1 ? '' : `if (col < u.off${i + 1}) `;
      return `${cond}{ DX${i}[row * u.w${i} + col${i === 0 ? '' : ` - u.off${i}`}] = v; }`;
    })
    .join(' else ');
  return {
    inputs: 1,
    outputs: k,
    code: () => `
${passU(k).wgsl}
${storageDecls([['DY', 'f32']], xs.map((i) => [`DX${i}`, 'f32'] as [string, string]))}
// dy:(outer, rowLen) dx_k:(outer, w_k); n = outer * width elements moved by this pass.
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let base = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = base + j * ${WG}u;
    if (i >= u.n) { return; }
    let row = i / u.width;
    let col = i - row * u.width;
    let v = DY[row * u.rowLen + u.colStart + col];
    ${put}
  }
}`,
  };
});

/**
 * Backward of `y = concat(xs, axis)`: splits dy back into one gradient per input, in one pass
 * for up to 8 inputs (more take one pass per 8). `shapes` are the forward inputs' shapes.
 * @example
 *   const [d1, d2, d3, d4] = concatGrad(dy, [x1.shape, x2.shape, x3.shape, x4.shape]);   // dy:(N,H,W,ΣC_i)
 */
// dy:(N,H,W,ΣC_i) dx_i:(N,H,W,C_i)
export function concatGrad(dy: Tensor, shapes: (readonly number[])[], axis = -1): Tensor[] {
  const all = shapes.map((sh, i) => shapeStr(`x${i}`, sh)).join(' ');
  const what = `concatGrad ${shapeStr('dy', dy.shape)} from ${all || 'no inputs'}`;
  if (shapes.length === 0) throw new ShapeError(`${what}: needs the shape of at least one forward input`);
  const rank = dy.rank;
  if (rank === 0) throw new ShapeError(`${what}: dy is a scalar, but concat outputs have at least one axis`);
  const ax = normAxis(axis, rank, what);
  let total = 0;
  for (const [i, sh] of shapes.entries()) {
    const same = sh.length === rank && sh.every((d, a) => a === ax || d === dy.shape[a]);
    if (!same || !sh.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new ShapeError(
        `${what}: x${i} must have rank ${rank} and match dy on every axis except ${ax}; ` +
          'pass the shapes of the tensors given to concat, in order',
      );
    }
    total += sh[ax]!;
  }
  if (total !== dy.shape[ax]) {
    throw new ShapeError(`${what}: the inputs' sizes on axis ${ax} sum to ${total} but dy has ${dy.shape[ax]}`);
  }
  const rt = dy.runtime;
  const outs = shapes.map((sh, i) => empty(sh, rt, `concatGrad.dx${i}`));
  const outer = dy.shape.slice(0, ax).reduce((a, d) => a * d, 1);
  const rowLen = dy.shape.slice(ax).reduce((a, d) => a * d, 1);
  const inner = (sh: readonly number[]) => sh.slice(ax).reduce((a, d) => a * d, 1);
  const group = Math.max(1, Math.min(MAX_GROUP, rt.limits.maxStorageBuffersPerShaderStage - 1));
  const parts = shapes.map((sh, i) => ({ i, w: inner(sh), col: 0 }));
  let col = 0;
  for (const p of parts) {
    p.col = col;
    col += p.w;
  }
  // Empty inputs get an empty gradient and no binding.
  const live = parts.filter((p) => p.w > 0 && outer > 0);
  try {
    for (let g = 0; g < live.length; g += group) {
      const grp = live.slice(g, g + group);
      const colStart = grp[0]!.col;
      const ws = grp.map((p) => p.w);
      const offs = grp.map((p) => p.col - colStart);
      const width = ws.reduce((a, w) => a + w, 0);
      const n = outer * width;
      const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), rt);
      const u = passU(grp.length).pack({ n, nwgx: gx, rowLen, colStart, width, ...indexedValues('w', ws), ...indexedValues('off', offs) });
      rt.dispatch({
        program: concatGradProgram(grp.length),
        inputs: [{ buffer: dy.buffer }],
        outputs: grp.map((p) => ({ buffer: outs[p.i]!.buffer })),
        uniforms: u,
        workgroups: [gx, gy],
        shapes: `${what} axis:${ax}`,
        cost: 8 * n,
      });
    }
  } catch (e) {
    for (const o of outs) o.dispose();
    throw e;
  }
  return outs;
}

const SLICE_RANK = 6;
// y[c_0..c_5] = x[base + Σ c_a · s_a]: a gather through x's strides, after the host has dropped
// and merged axes (rank padded to 6 on the left with d = 1, s = 0).
// x:(any, strides s) y:(d0..d5)
const SliceU = uniformDecl({
  n: 'u32', nwgx: 'u32', base: 'u32', ...indexedFields('d', SLICE_RANK), ...indexedFields('s', SLICE_RANK),
}, 'slice');
const sliceProgram = defineProgram('slice', { rank: SLICE_RANK }, () => ({
  inputs: 1,
  outputs: 1,
  code: () => `
${SliceU.wgsl}
${storageDecls([['X', 'f32']], [['Y', 'f32']])}
// x:(strides s0..s5 from base) y:(d0..d5)
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let first = (wg.y * u.nwgx + wg.x) * ${WG * PER_THREAD}u + lid.x;
  for (var j = 0u; j < ${PER_THREAD}u; j++) {
    let i = first + j * ${WG}u;
    if (i >= u.n) { return; }
    var r = i;
    let c5 = r % u.d5; r = r / u.d5;
    let c4 = r % u.d4; r = r / u.d4;
    let c3 = r % u.d3; r = r / u.d3;
    let c2 = r % u.d2; r = r / u.d2;
    let c1 = r % u.d1; let c0 = r / u.d1;
    Y[i] = X[u.base + c0 * u.s0 + c1 * u.s1 + c2 * u.s2 + c3 * u.s3 + c4 * u.s4 + c5 * u.s5];
  }
}`,
}));

/**
 * The block of x starting at `begin` with extent `size` on each axis, as tf.slice: a size of -1
 * runs to the end of the axis, and missing trailing entries mean begin 0, size -1. It is the
 * backward of concat (one slice per input) and of pad (the crop).
 * @example
 *   const crop = slice(x, [0, 1, 1, 0], [-1, 5, 5, -1]);   // (N,7,7,C) → (N,5,5,C)
 */
// x:(d_0..d_r) y:(size_0..size_r)
export function slice(x: Tensor, begin: number[], size: number[]): Tensor {
  const r = x.rank;
  const what = `slice ${shapeStr('x', x.shape)} begin [${begin.join(', ')}] size [${size.join(', ')}]`;
  if (begin.length > r || size.length > r) {
    throw new ShapeError(`${what}: begin and size may have at most one entry per axis (${r})`);
  }
  const b = x.shape.map((_, a) => begin[a] ?? 0);
  const sz = x.shape.map((d, a) => {
    const s = size[a] ?? -1;
    return s === -1 ? d - b[a]! : s;
  });
  for (let a = 0; a < r; a++) {
    const d = x.shape[a]!, s = sz[a]!, bg = b[a]!;
    if (!Number.isInteger(bg) || !Number.isInteger(s) || bg < 0 || s < 0 || bg + s > d) {
      throw new ShapeError(
        `${what}: axis ${a} (size ${d}) cannot hold [${bg}, ${bg + s}); need 0 ≤ begin, size ≥ 0 or -1, begin + size ≤ ${d}`,
      );
    }
  }
  const out = empty(sz, x.runtime, 'slice');
  if (out.size === 0) return out;
  // Merge each axis into the group of axes inside it while that group spans its whole input
  // extent (then one stride walks both); a size-1 axis adds only to the base offset.
  const groups: { d: number; s: number; full: boolean }[] = []; // innermost first
  let stride = 1, base = 0;
  for (let a = r - 1; a >= 0; a--) {
    const d = x.shape[a]!, s = sz[a]!;
    base += b[a]! * stride;
    const g = groups[groups.length - 1];
    if (g && g.full) {
      g.d *= s;
      g.full = s === d;
    } else if (!g || s > 1) {
      groups.push({ d: s, s: stride, full: s === d });
    } // else: a size-1 axis outside a partial group only moves the base offset
    stride *= d;
  }
  if (groups.length > SLICE_RANK) {
    out.dispose();
    throw new ShapeError(`${what}: needs ${groups.length} independent axes, more than ${SLICE_RANK}; reshape first`);
  }
  groups.reverse();
  const pad = SLICE_RANK - groups.length;
  const dims = [...new Array<number>(pad).fill(1), ...groups.map((g) => g.d)];
  const strides = [...new Array<number>(pad).fill(0), ...groups.map((g) => g.s)];
  const n = out.size;
  const rt = x.runtime;
  const [gx, gy] = grid1d(Math.ceil(n / (WG * PER_THREAD)), rt);
  const u = SliceU.pack({ n, nwgx: gx, base, ...indexedValues('d', dims), ...indexedValues('s', strides) });
  try {
    rt.dispatch({
      program: sliceProgram,
      inputs: [{ buffer: x.buffer }],
      outputs: [{ buffer: out.buffer }],
      uniforms: u,
      workgroups: [gx, gy],
      shapes: what,
      cost: 8 * n,
    });
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}
