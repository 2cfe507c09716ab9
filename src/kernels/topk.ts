// Top-k over the last axis, for reporting the best classes and choosing CAM targets: on the
// device (values and float-encoded indices stay on the GPU) and on the host for read-back scores.
// Order as tf.topk: values descending, equal values by lower index first.
import { ShapeError } from '../gpu/errors.ts';
import { empty, type Tensor } from '../tensor/tensor.ts';
import { defineProgram, grid1d, shapeStr, storageDecls, uniformDecl } from './program.ts';

const WG = 64;

// One invocation per row, k selection passes over it. Pass p finds the best element that ranks
// after the (p−1)-th pick in the total order (value desc, index asc), so the picks come out
// sorted with no per-row scratch memory: O(k·L) work, fine for the small k a CAM needs. Rows
// containing NaN have no defined order (as in TensorFlow).
// x:(rows, L) values:(rows, k) indices:(rows, k)
const TopkU = uniformDecl({ rows: 'u32', L: 'u32', k: 'u32', nwgx: 'u32' }, 'topk');
const topkProgram = defineProgram('topk', {}, () => ({
  inputs: 1,
  outputs: 2,
  code: () => `
${TopkU.wgsl}
${storageDecls([['X', 'f32']], [['V', 'f32'], ['I', 'f32']])}
// x:(rows, L) values:(rows, k) indices:(rows, k) — indices as f32, exact below 2^24.
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let row = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  if (row >= u.rows) { return; }
  let o = row * u.L;
  // The previous pick; before the first pass every element ranks after it.
  var prevV = 0.0;
  var prevI = 0u;
  for (var p = 0u; p < u.k; p++) {
    var have = false;
    var bv = 0.0;
    var bi = 0u;
    for (var j = 0u; j < u.L; j++) {
      let v = X[o + j];
      let after = p == 0u || v < prevV || (v == prevV && j > prevI);
      let better = !have || v > bv || (v == bv && j < bi);
      if (after && better) { bv = v; bi = j; have = true; }
    }
    V[row * u.k + p] = bv;
    I[row * u.k + p] = f32(bi);
    prevV = bv;
    prevI = bi;
  }
}`,
}));

function check(name: string, shape: readonly number[], k: number): [rows: number, L: number] {
  if (shape.length === 0) throw new ShapeError(`${name}: x is a scalar; it needs a last axis to rank`);
  const L = shape[shape.length - 1]!;
  if (!Number.isInteger(k) || k < 0 || k > L) {
    throw new ShapeError(`${name}: k = ${k} must be an integer in 0..${L} (the last axis of ${shapeStr('x', shape)})`);
  }
  if (L >= 2 ** 24) throw new ShapeError(`${name}: rows of ${L} values exceed 2^24; float-encoded indices would not be exact`);
  return [L === 0 ? 0 : shape.reduce((a, d) => a * d, 1) / L, L];
}

/**
 * The k largest entries of each row (last axis), sorted descending, ties by lower index; the
 * indices come back as float32 values (exact below 2^24).
 * @example
 *   const { values, indices } = topk(probs, 5);   // probs:(N,1000) → (N,5), (N,5)
 */
// x:(…, L) values:(…, k) indices:(…, k)
export function topk(x: Tensor, k: number): { values: Tensor; indices: Tensor } {
  const [rows, L] = check('topk', x.shape, k);
  const outShape = [...x.shape.slice(0, -1), k];
  const rt = x.runtime;
  const values = empty(outShape, rt, 'topk.values');
  const indices = empty(outShape, rt, 'topk.indices');
  if (rows * k === 0) return { values, indices };
  const [gx, gy] = grid1d(Math.ceil(rows / WG), rt);
  try {
    rt.dispatch({
      program: topkProgram,
      inputs: [{ buffer: x.buffer }],
      outputs: [{ buffer: values.buffer }, { buffer: indices.buffer }],
      uniforms: TopkU.pack({ rows, L, k, nwgx: gx }),
      workgroups: [gx, gy],
      shapes: `${shapeStr('x', x.shape)} k:${k}`,
      cost: 4 * rows * L * k,
    });
  } catch (e) {
    values.dispose();
    indices.dispose();
    throw e;
  }
  return { values, indices };
}

/**
 * Host top-k over rows of `rowLength` values: per row, sorted descending, ties by lower index
 * (as tf.topk); NaN ranks below every number.
 * @example
 *   const { values, indices } = topkHost(await probs.data(), 1000, 5);   // 5 per row
 */
// data:(rows, L) values:(rows, k) indices:(rows, k)
export function topkHost(data: Float32Array, rowLength: number, k: number): { values: Float32Array; indices: Int32Array } {
  if (!Number.isInteger(rowLength) || rowLength < 1 || data.length % rowLength !== 0) {
    throw new ShapeError(`topkHost: ${data.length} values do not split into rows of ${rowLength}`);
  }
  check('topkHost', [data.length / rowLength, rowLength], k);
  const rows = data.length / rowLength;
  const values = new Float32Array(rows * k);
  const indices = new Int32Array(rows * k);
  // NaN compares as -Infinity minus a hair: below everything, ties among NaNs by index.
  const key = (v: number) => (Number.isNaN(v) ? -Infinity : v);
  const ranksBefore = (va: number, ia: number, vb: number, ib: number) => {
    const a = key(va), b = key(vb);
    if (a !== b) return a > b;
    const na = Number.isNaN(va), nb = Number.isNaN(vb);
    if (na !== nb) return nb;
    return ia < ib;
  };
  // Keep the row's best k in a sorted buffer; a later element enters only if it ranks before
  // the current last (linear insertion: O(L·k) worst case, ~O(L) for typical scores).
  const bv = new Float64Array(k);
  const bi = new Int32Array(k);
  for (let r = 0; r < rows; r++) {
    const o = r * rowLength;
    let len = 0;
    for (let j = 0; j < rowLength && k > 0; j++) {
      const v = data[o + j]!;
      if (len === k && !ranksBefore(v, j, bv[k - 1]!, bi[k - 1]!)) continue;
      let p = len < k ? len++ : k - 1;
      while (p > 0 && ranksBefore(v, j, bv[p - 1]!, bi[p - 1]!)) {
        bv[p] = bv[p - 1]!;
        bi[p] = bi[p - 1]!;
        p--;
      }
      bv[p] = v;
      bi[p] = j;
    }
    values.set(bv.subarray(0, k), r * k);
    indices.set(bi.subarray(0, k), r * k);
  }
  return { values, indices };
}
