// Writes small ONNX models in tests with protobufjs and the official schema: seeded He-scaled
// float initializers, int64 constants and nodes, encoded as a ModelProto (opset 14).
import protobuf from 'protobufjs';
import { ONNX_PROTO } from '../../src/nn/onnx/onnx-proto.ts';
import { randn } from '../helpers.ts';

type Obj = Record<string, unknown>;
let seed = 900;
/** A small graph under construction: float initializers (He-scaled), int64 constants, nodes. */
export class Builder {
  nodes: Obj[] = [];
  inits: Obj[] = [];
  private n = 0;
  weight(dims: number[], scale?: number): string {
    const name = `w${this.n++}`;
    const fan = dims.slice(1).reduce((a, b) => a * b, 1) || 1;
    const d = randn(dims.reduce((a, b) => a * b, 1), seed++, -1, 1).map((v) => v * (scale ?? Math.sqrt(6 / fan)));
    this.inits.push({ name, dims, data_type: 1, raw_data: new Uint8Array(d.buffer) });
    return name;
  }
  positive(dims: number[]): string {
    const name = `p${this.n++}`;
    const d = randn(dims.reduce((a, b) => a * b, 1), seed++, 0.5, 1.5);
    this.inits.push({ name, dims, data_type: 1, raw_data: new Uint8Array(d.buffer) });
    return name;
  }
  ints(values: number[]): string {
    const name = `i${this.n++}`;
    this.inits.push({ name, dims: [values.length], data_type: 7, raw_data: new Uint8Array(BigInt64Array.from(values.map(BigInt)).buffer) });
    return name;
  }
  intScalar(v: number): string {
    const name = `i${this.n++}`;
    this.inits.push({ name, dims: [], data_type: 7, raw_data: new Uint8Array(BigInt64Array.of(BigInt(v)).buffer) });
    return name;
  }
  node(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}, outputs = 1): string[] {
    const name = `/blk${this.n++}/${op}`;
    const outs = Array.from({ length: outputs }, (_, i) => `${name}_out${i}`);
    const attribute = Object.entries(attrs).map(([k, v]) => (Array.isArray(v) ? { name: k, type: 7, ints: v } : Number.isInteger(v) && k !== 'alpha' && k !== 'beta' && k !== 'epsilon' ? { name: k, type: 2, i: v } : { name: k, type: 1, f: v }));
    this.nodes.push({ name, op_type: op, input: inputs, output: outs, attribute });
    return outs;
  }
  one(op: string, inputs: string[], attrs: Record<string, number | number[]> = {}): string {
    return this.node(op, inputs, attrs)[0]!;
  }
  conv(x: string, cin: number, cout: number, k: number, attrs: Record<string, number | number[]> = {}): string {
    const group = (attrs.group as number | undefined) ?? 1;
    return this.one('Conv', [x, this.weight([cout, cin / group, k, k]), this.weight([cout], 0.1)], { kernel_shape: [k, k], ...attrs });
  }
  bn(x: string, c: number): string {
    return this.one('BatchNormalization', [x, this.positive([c]), this.weight([c], 0.2), this.weight([c], 0.1), this.positive([c])], { epsilon: 1e-5 });
  }
  bytes(input: number[], output: string, outDims: number[]): Uint8Array {
    const T = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
    const vi = (name: string, dims: number[]) => ({ name, type: { tensor_type: { elem_type: 1, shape: { dim: dims.map((d) => ({ dim_value: d })) } } } });
    const m = T.fromObject({
      ir_version: 8, producer_name: 'camlight-test', opset_import: [{ domain: '', version: 14 }],
      graph: { name: 'g', node: this.nodes, initializer: this.inits, input: [vi('input', input)], output: [vi(output, outDims)] },
    });
    return T.encode(m).finish();
  }
}

/** A float scalar initializer. */
export function addScalar(b: Builder, v: number): string {
  const name = `s${v}`.replace('.', '_');
  b.inits.push({ name, dims: [], data_type: 1, raw_data: new Uint8Array(Float32Array.of(v).buffer) });
  return name;
}

