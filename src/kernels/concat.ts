// Concatenation along any axis (Inception's mixed blocks join 4 branches on channels). Up to
// MAX_GROUP inputs are copied by one kernel into a column range of the output, so a 4-branch
// block is one pass; longer lists take ceil(n / MAX_GROUP) passes into the same output.
import { ShapeError } from '../gpu/errors.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { empty, type Tensor } from '../nn/tensor.ts';
import { grid1d, shapeStr, storageDecls, uniformStruct, Uniforms } from './program.ts';

const WG = 64;
const PER_THREAD = 4;
/** Inputs one pass reads; also bounded by the adapter's storage-buffer limit (one is the output). */
const MAX_GROUP = 8;

// Every input is viewed as (outer, w_k) with outer = Π shape[:axis] and w_k = Π shape[axis:];
// the output is (outer, rowLen) with rowLen = Σ w_k. One pass copies inputs k = 0..K-1 into
// output columns [colStart, colStart + width), input k owning [off_k, off_k + w_k) of that range.
// x_k:(outer, w_k) y:(outer, rowLen)
function concatProgram(k: number) {
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
    name: 'concat',
    key: `k${k}`,
    inputs: k,
    outputs: 1,
    code: () => `
${uniformStruct([
  ['n', 'u32'], ['nwgx', 'u32'], ['rowLen', 'u32'], ['colStart', 'u32'], ['width', 'u32'],
  ...xs.map((i) => [`w${i}`, 'u32'] as [string, 'u32']),
  ...xs.map((i) => [`off${i}`, 'u32'] as [string, 'u32']),
])}
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
}

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
      const u = new Uniforms().u32(n, gx, rowLen, colStart, width).u32(...ws).u32(...offs);
      rt.dispatch({
        program: concatProgram(grp.length),
        inputs: grp.map((t) => ({ buffer: t.buffer })),
        outputs: [{ buffer: out.buffer }],
        uniforms: u.buffer(),
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
