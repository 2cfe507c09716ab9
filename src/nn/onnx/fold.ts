// Constant folding at load: ONNX nodes whose inputs are all constants (initializers, Constant
// nodes, the static Shape of a graph tensor) are evaluated on the host, so that the dynamic
// flattening chains exporters write (Shape -> Gather -> Unsqueeze -> Concat -> Reshape) reach the
// translator as plain target shapes. Integer tensors are exact in Float64Array up to 2^53.
import type { AttrValue, HostTensor, OnnxNode } from './decode.ts';

/** Op types this file can evaluate when every input is constant. */
export const FOLDABLE = new Set([
  'Constant', 'Identity', 'Cast', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Reshape', 'Slice',
  'Add', 'Sub', 'Mul', 'Div', 'ConstantOfShape', 'Shape', 'Flatten',
]);

const size = (d: number[]) => d.reduce((a, b) => a * b, 1);
const norm = (a: number, r: number) => (a < 0 ? a + r : a);
const ints = (t: HostTensor | undefined) => (t ? Array.from(t.data) : []);
const like = (t: HostTensor, n: number) => (t.data instanceof Float32Array ? new Float32Array(n) : new Float64Array(n));

/** A Constant node's value (value, value_float(s), value_int(s)). */
export function constantValue(n: OnnxNode): HostTensor | null {
  const a = n.attrs;
  const v = a.get('value');
  if (v && typeof v === 'object' && !Array.isArray(v)) return v;
  const f = a.get('value_float'), fs = a.get('value_floats'), i = a.get('value_int'), is = a.get('value_ints');
  if (typeof f === 'number') return { dims: [], data: Float32Array.of(f) };
  if (Array.isArray(fs)) return { dims: [fs.length], data: Float32Array.from(fs as number[]) };
  if (typeof i === 'number') return { dims: [], data: Float64Array.of(i) };
  if (Array.isArray(is)) return { dims: [is.length], data: Float64Array.from(is as number[]) };
  return null;
}

/** Unsqueeze/Squeeze/ReduceMean axes: the attribute (older opsets) or the second input. */
export function axesOf(n: OnnxNode, ins: (HostTensor | undefined)[]): number[] | null {
  const a = n.attrs.get('axes') as AttrValue | undefined;
  if (Array.isArray(a)) return a as number[];
  return ins[1] ? ints(ins[1]) : null;
}

function gather(data: HostTensor, idx: HostTensor, axis: number): HostTensor {
  const r = data.dims.length, ax = norm(axis, r);
  const outer = size(data.dims.slice(0, ax)), inner = size(data.dims.slice(ax + 1)), n = data.dims[ax]!;
  const ids = ints(idx).map((i) => norm(i, n));
  const out = like(data, outer * ids.length * inner);
  for (let o = 0; o < outer; o++) ids.forEach((i, j) => out.set(data.data.subarray((o * n + i) * inner, (o * n + i + 1) * inner), (o * ids.length + j) * inner));
  return { dims: [...data.dims.slice(0, ax), ...idx.dims, ...data.dims.slice(ax + 1)], data: out };
}

function concat(ts: HostTensor[], axis: number): HostTensor {
  const r = ts[0]!.dims.length, ax = norm(axis, r);
  const outer = size(ts[0]!.dims.slice(0, ax));
  const rows = ts.map((t) => size(t.dims.slice(ax)));
  const total = rows.reduce((a, b) => a + b, 0);
  const out = ts.some((t) => t.data instanceof Float32Array) ? new Float32Array(outer * total) : new Float64Array(outer * total);
  for (let o = 0; o < outer; o++) {
    let off = o * total;
    ts.forEach((t, k) => {
      out.set(t.data.subarray(o * rows[k]!, (o + 1) * rows[k]!), off);
      off += rows[k]!;
    });
  }
  const dims = [...ts[0]!.dims];
  dims[ax] = ts.reduce((a, t) => a + t.dims[ax]!, 0);
  return { dims, data: out };
}

/** Same-shape or scalar-broadcast arithmetic (all that shape computations need). */
function binary(op: string, a: HostTensor, b: HostTensor): HostTensor | null {
  const na = a.data.length, nb = b.data.length;
  if (na !== nb && na !== 1 && nb !== 1) return null;
  const big = na >= nb ? a : b;
  const isInt = !(a.data instanceof Float32Array) && !(b.data instanceof Float32Array);
  const out = isInt ? new Float64Array(big.data.length) : new Float32Array(big.data.length);
  for (let i = 0; i < out.length; i++) {
    const x = a.data[na === 1 ? 0 : i]!, y = b.data[nb === 1 ? 0 : i]!;
    const v = op === 'Add' ? x + y : op === 'Sub' ? x - y : op === 'Mul' ? x * y : x / y;
    out[i] = isInt && op === 'Div' ? Math.trunc(v) : v;
  }
  return { dims: big.dims, data: out };
}

function reshapeDims(from: number[], target: number[]): number[] {
  const t = target.map((d, i) => (d === 0 ? from[i]! : d));
  const free = t.indexOf(-1);
  if (free >= 0) t[free] = size(from) / size(t.filter((d) => d !== -1));
  return t;
}

/**
 * Evaluates one node on constant inputs; null when the op or this use of it is not foldable.
 * @example
 *   foldNode(unsqueezeNode, [{ dims: [], data: Float64Array.of(1) }]);   // dims [1]
 */
export function foldNode(n: OnnxNode, ins: (HostTensor | undefined)[]): HostTensor[] | null {
  const x = ins[0];
  const attr = (k: string, d: number) => (typeof n.attrs.get(k) === 'number' ? (n.attrs.get(k) as number) : d);
  switch (n.opType) {
    case 'Constant': {
      const c = constantValue(n);
      return c ? [c] : null;
    }
    case 'Identity': return x ? [x] : null;
    case 'Shape': return x ? [{ dims: [x.dims.length], data: Float64Array.from(x.dims) }] : null;
    case 'Cast': {
      if (!x) return null;
      const to = attr('to', 1);
      return [{ dims: x.dims, data: to === 1 || to === 10 || to === 11 ? Float32Array.from(x.data) : Float64Array.from(x.data, Math.trunc) }];
    }
    case 'Gather': return x && ins[1] ? [gather(x, ins[1], attr('axis', 0))] : null;
    case 'Unsqueeze': {
      const axes = axesOf(n, ins);
      if (!x || !axes) return null;
      const r = x.dims.length + axes.length;
      const set = new Set(axes.map((a) => norm(a, r)));
      const dims: number[] = [];
      for (let i = 0, j = 0; i < r; i++) dims.push(set.has(i) ? 1 : x.dims[j++]!);
      return [{ dims, data: x.data }];
    }
    case 'Squeeze': {
      if (!x) return null;
      const axes = axesOf(n, ins);
      const set = new Set((axes ?? x.dims.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => norm(a, x.dims.length)));
      return [{ dims: x.dims.filter((_, i) => !set.has(i)), data: x.data }];
    }
    case 'Concat': return ins.every((t) => t) ? [concat(ins as HostTensor[], attr('axis', 0))] : null;
    case 'Reshape': return x && ins[1] ? [{ dims: reshapeDims(x.dims, ints(ins[1])), data: x.data }] : null;
    case 'Flatten': {
      if (!x) return null;
      const ax = norm(attr('axis', 1), x.dims.length);
      return [{ dims: [size(x.dims.slice(0, ax)), size(x.dims.slice(ax))], data: x.data }];
    }
    case 'Slice': {
      if (!x || x.dims.length !== 1 || !ins[1] || !ins[2]) return null;
      const n0 = x.dims[0]!;
      const clamp = (v: number) => Math.max(0, Math.min(n0, v < 0 ? v + n0 : v));
      const step = ins[4] ? ints(ins[4])[0]! : 1;
      if (step !== 1) return null;
      const s = clamp(ints(ins[1])[0]!), e = clamp(ints(ins[2])[0]!);
      const data = x.data.slice(s, Math.max(s, e));
      return [{ dims: [data.length], data }];
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      if (!x || !ins[1]) return null;
      const r = binary(n.opType, x, ins[1]);
      return r ? [r] : null;
    }
    case 'ConstantOfShape': {
      if (!x) return null;
      const dims = ints(x);
      const v = n.attrs.get('value') as HostTensor | undefined;
      const data = v ? like(v, size(dims)).fill(v.data[0]!) : new Float32Array(size(dims));
      return [{ dims, data }];
    }
    default: return null;
  }
}
