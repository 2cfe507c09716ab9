// Decodes an .onnx file (a protobuf ModelProto) with protobufjs and the official schema into a
// plain graph: nodes with typed attributes, and every initializer as host data (raw_data,
// typed fields, half floats, or external-data files the caller reads).
import protobuf from 'protobufjs';
import { ModelLoadError } from '../loaders/errors.ts';
import { halfToFloat32 } from '../loaders/half.ts';
import { ONNX_PROTO } from './onnx-proto.ts';

/** A load-time problem with an ONNX file; the message names the file and what to do. */
export class OnnxLoadError extends ModelLoadError {
  override name = 'OnnxLoadError';
}

/** A constant tensor on the host. Integer tensors (int64 shapes, indices) keep exact values in a Float64Array. */
export interface HostTensor {
  dims: number[];
  data: Float32Array | Float64Array;
}

export type AttrValue = number | string | number[] | string[] | HostTensor;

export interface OnnxNode {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface OnnxValueInfo {
  name: string;
  /** Dimensions; null for a symbolic or missing one. */
  dims: (number | null)[];
}

export interface OnnxGraph {
  name: string;
  producer: string;
  opset: number;
  nodes: OnnxNode[];
  initializers: Map<string, HostTensor>;
  inputs: OnnxValueInfo[];
  outputs: OnnxValueInfo[];
}

/** Reads the bytes of an external-data file named relative to the .onnx file. */
export type ExternalReader = (location: string) => Promise<Uint8Array>;

let modelType: protobuf.Type | null = null;
function schema(): protobuf.Type {
  modelType ??= protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  return modelType;
}

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const num = (v: unknown): number => (typeof v === 'number' ? v : v && typeof v === 'object' && 'toNumber' in v ? (v as { toNumber(): number }).toNumber() : Number(v ?? 0));

// TensorProto.DataType values camlight reads.
const FLOAT = 1, UINT8 = 2, INT8 = 3, INT32 = 6, INT64 = 7, BOOL = 9, FLOAT16 = 10, DOUBLE = 11;
const TYPE_NAMES: Record<number, string> = { 1: 'float', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'double' };

/** Little-endian raw bytes of one data type → host values. */
function fromRaw(raw: Uint8Array, type: number, count: number, what: string): Float32Array | Float64Array {
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const size = { [FLOAT]: 4, [UINT8]: 1, [INT8]: 1, [INT32]: 4, [INT64]: 8, [BOOL]: 1, [FLOAT16]: 2, [DOUBLE]: 8 }[type];
  if (!size) throw new OnnxLoadError(`${what}: data type ${TYPE_NAMES[type] ?? type} is not supported (float, float16, double and integer tensors are)`);
  if (raw.byteLength !== count * size) {
    throw new OnnxLoadError(`${what}: holds ${raw.byteLength} bytes, but its shape needs ${count * size}; the file is truncated or corrupt`);
  }
  if (type === FLOAT) {
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true);
    return out;
  }
  if (type === FLOAT16) {
    const h = new Uint16Array(count);
    for (let i = 0; i < count; i++) h[i] = dv.getUint16(2 * i, true);
    return halfToFloat32(h);
  }
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    out[i] = type === INT64 ? Number(dv.getBigInt64(8 * i, true)) : type === INT32 ? dv.getInt32(4 * i, true)
      : type === DOUBLE ? dv.getFloat64(8 * i, true) : type === INT8 ? dv.getInt8(i) : dv.getUint8(i);
  }
  return out;
}

/** One TensorProto → host tensor; external data is read through `external`. */
async function tensorOf(t: Obj, what: string, external?: ExternalReader): Promise<HostTensor> {
  const dims: number[] = (t.dims ?? []).map(num);
  const count = dims.reduce((a, d) => a * d, 1);
  const type = num(t.data_type);
  const name = `${what} '${t.name ?? ''}'`;
  if (num(t.data_location) === 1) {
    const ent = new Map<string, string>((t.external_data ?? []).map((e: Obj) => [e.key, e.value]));
    const loc = ent.get('location');
    if (!loc) throw new OnnxLoadError(`${name}: external data without a 'location'`);
    if (!external) throw new OnnxLoadError(`${name}: stored in the external file '${loc}'; load the model from a path or URL so that file can be read next to it`);
    const bytes = await external(loc);
    const offset = Number(ent.get('offset') ?? 0);
    const length = ent.has('length') ? Number(ent.get('length')) : bytes.byteLength - offset;
    if (offset + length > bytes.byteLength) throw new OnnxLoadError(`${name}: external file '${loc}' has ${bytes.byteLength} bytes, fewer than offset ${offset} + length ${length}; it is truncated`);
    return { dims, data: fromRaw(bytes.subarray(offset, offset + length), type, count, name) };
  }
  if (t.raw_data && t.raw_data.length) return { dims, data: fromRaw(t.raw_data, type, count, name) };
  const typed: unknown[] | undefined = type === FLOAT ? t.float_data : type === DOUBLE ? t.double_data
    : type === INT64 ? t.int64_data : type === FLOAT16 ? t.int32_data : t.int32_data;
  const vals = (typed ?? []).map(num);
  if (vals.length !== count) throw new OnnxLoadError(`${name}: holds ${vals.length} values, but its shape [${dims.join(', ')}] needs ${count}`);
  if (type === FLOAT) return { dims, data: Float32Array.from(vals) };
  if (type === FLOAT16) return { dims, data: halfToFloat32(Uint16Array.from(vals)) };
  if (!TYPE_NAMES[type]) throw new OnnxLoadError(`${name}: data type ${type} is not supported`);
  return { dims, data: Float64Array.from(vals) };
}

async function attrOf(a: Obj, node: string, external?: ExternalReader): Promise<AttrValue> {
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  switch (num(a.type)) {
    case 1: return num(a.f);
    case 2: return num(a.i);
    case 3: return dec(a.s);
    case 4: return tensorOf(a.t, `node '${node}' attribute '${a.name}'`, external);
    case 6: return (a.floats ?? []).map(num);
    case 7: return (a.ints ?? []).map(num);
    case 8: return (a.strings ?? []).map(dec);
    default: return `<attribute type ${num(a.type)}>`;
  }
}

const dimsOf = (v: Obj): (number | null)[] =>
  (v.type?.tensor_type?.shape?.dim ?? []).map((d: Obj) => (d.dim_value !== undefined && d.dim_value !== null && num(d.dim_value) > 0 ? num(d.dim_value) : null));

/**
 * Decodes ModelProto bytes. `where` names the file in errors.
 * @example
 *   const g = await decodeOnnx(bytes, 'resnet18.onnx');
 *   g.nodes.length;   // 49
 */
export async function decodeOnnx(bytes: Uint8Array, where: string, external?: ExternalReader): Promise<OnnxGraph> {
  let m: Obj;
  try {
    m = schema().decode(bytes) as unknown as Obj;
  } catch (e) {
    throw new OnnxLoadError(`${where} is not a readable ONNX model (${(e as Error).message}); the file is truncated or not an .onnx file — export it again with torch.onnx.export`);
  }
  const g = m.graph as Obj | undefined;
  if (!g || !(g.node ?? []).length || !num(m.ir_version)) {
    throw new OnnxLoadError(`${where} is not an ONNX model: it has no ir_version or no graph nodes; export it again with torch.onnx.export`);
  }
  const opset = Math.max(0, ...(m.opset_import ?? []).filter((o: Obj) => !o.domain || o.domain === 'ai.onnx').map((o: Obj) => num(o.version)));
  const initializers = new Map<string, HostTensor>();
  for (const t of g.initializer ?? []) initializers.set(t.name, await tensorOf(t, `${where}: initializer`, external));
  const nodes: OnnxNode[] = [];
  for (const [i, n] of (g.node as Obj[]).entries()) {
    const name = n.name || `${n.op_type}_${i}`;
    const attrs = new Map<string, AttrValue>();
    for (const a of n.attribute ?? []) attrs.set(a.name, await attrOf(a, name, external));
    nodes.push({ name, opType: n.op_type, domain: n.domain ?? '', inputs: n.input ?? [], outputs: n.output ?? [], attrs });
  }
  const infos = (vs: Obj[] | undefined) => (vs ?? []).map((v) => ({ name: v.name as string, dims: dimsOf(v) }));
  return {
    name: g.name || 'onnx_model', producer: `${m.producer_name ?? ''} ${m.producer_version ?? ''}`.trim(), opset, nodes, initializers,
    inputs: infos(g.input).filter((v) => !initializers.has(v.name)), outputs: infos(g.output),
  };
}
