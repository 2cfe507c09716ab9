// Turns a decoded ONNX graph into a Keras functional topology on camlight's layers plus weights
// by canonical name, so that an ONNX model runs, explains (every CAM method, layer 'auto') and
// trains through the same Model as a Keras one. Walks nodes in their (topological) order,
// folding constants, tracking each graph tensor's NCHW shape and the camlight layer producing it
// in NHWC; every problem is collected and reported at once.
import { KerasGraph } from '../zoo/keras-graph.ts';
import { createLayer } from '../layers/registry.ts';
import type { Shape } from '../layers/layer.ts';
import type { WeightValue } from '../model.ts';
import { OnnxLoadError, type HostTensor, type OnnxGraph, type OnnxNode } from './decode.ts';
import { FOLDABLE, foldNode } from './fold.ts';
import { OP_HANDLERS } from './op-map.ts';

/** A graph tensor produced by a camlight layer. `shape` is ONNX's (NCHW for images), batch included. */
export interface Dyn {
  kind: 'dyn';
  layer: string;
  shape: number[];
  /** Set after flattening a C×H×W map with H·W > 1: NHWC order differs from NCHW, so a following Gemm permutes its rows. */
  flatFrom?: [number, number, number];
  /** ShuffleNet's channel shuffle in progress: (N,C,H,W) viewed as (N,g,C/g,H,W), maybe transposed. */
  grouped?: { groups: number; transposed: boolean };
}
export interface Const {
  kind: 'const';
  t: HostTensor;
}
export type Value = Dyn | Const;

/** What an op handler works with. */
export class Translation {
  readonly graph: KerasGraph;
  readonly weights = new Map<string, WeightValue>();
  readonly values = new Map<string, Value>();
  readonly problems: string[] = [];
  private readonly used = new Set<string>();
  private readonly nhwc = new Map<string, Shape>();

  constructor(readonly onnx: OnnxGraph, readonly batch: number) {
    this.graph = new KerasGraph(onnx.name.replace(/[^A-Za-z0-9_.-]/g, '_') || 'onnx_model');
  }

  /** A Keras-legal unique layer name from an ONNX node name ('/layer4/layer4.1/relu/Relu' → 'layer4.layer4.1.relu.Relu'). */
  layerName(base: string): string {
    const clean = base.replace(/^\/+/, '').replace(/[/:]/g, '.').replace(/[^A-Za-z0-9_.-]/g, '_') || 'node';
    let n = clean;
    for (let i = 1; this.used.has(n); i++) n = `${clean}_${i}`;
    this.used.add(n);
    return n;
  }

  /** Declares the model input: ONNX (N,C,H,W) → camlight InputLayer (None,H,W,C). */
  input(name: string, dims: number[]): Dyn {
    const layer = this.layerName(name);
    const shape: Shape = dims.length === 4 ? [null, dims[2]!, dims[3]!, dims[1]!] : [null, ...dims.slice(1)];
    this.graph.input(shape.slice(1) as Shape, layer);
    this.nhwc.set(layer, shape);
    return { kind: 'dyn', layer, shape: dims };
  }

  /**
   * Adds a camlight layer reading `inputs` and returns the tensor it makes; its ONNX shape is its
   * camlight shape with the batch filled in and NHWC turned back to NCHW.
   */
  layer(className: string, config: Record<string, unknown>, inputs: Dyn[], name: string, weights: Record<string, WeightValue> = {}): Dyn {
    const layer = this.layerName(name);
    const inShapes = inputs.map((i) => this.nhwc.get(i.layer)!);
    const out = createLayer(className, { name: layer, ...config }).outputShape(inShapes);
    this.graph.add(className, config, inputs.map((i) => i.layer), layer);
    this.nhwc.set(layer, out);
    for (const [k, v] of Object.entries(weights)) this.weights.set(`${layer}/${k}`, v);
    const dims = out.map((d, i) => (i === 0 ? this.batch : d ?? -1));
    return { kind: 'dyn', layer, shape: dims.length === 4 ? [dims[0]!, dims[3]!, dims[1]!, dims[2]!] : dims };
  }
}

const describe = (n: OnnxNode) => `${n.opType} '${n.name}'`;

/**
 * Translates the graph; throws one OnnxLoadError listing every unsupported op type with its node
 * names, or every unsupported use of a supported op.
 * @example
 *   const { topology, weights } = translate(await decodeOnnx(bytes, 'm.onnx'), 'm.onnx');
 *   const model = Model.fromKerasConfig(topology); model.setWeights(weights);
 */
export function translate(g: OnnxGraph, where: string): { topology: unknown; weights: Map<string, WeightValue> } {
  const unsupported = new Map<string, string[]>();
  for (const n of g.nodes) {
    if ((n.domain && n.domain !== 'ai.onnx') || !(n.opType in OP_HANDLERS || FOLDABLE.has(n.opType))) {
      const k = n.domain && n.domain !== 'ai.onnx' ? `${n.domain}.${n.opType}` : n.opType;
      unsupported.set(k, [...(unsupported.get(k) ?? []), n.name]);
    }
  }
  if (unsupported.size) {
    const list = [...unsupported].map(([op, names]) => `${op} (${names.slice(0, 3).join(', ')}${names.length > 3 ? `, … ${names.length} nodes` : ''})`);
    throw new OnnxLoadError(
      `${where}: unsupported ONNX op${unsupported.size > 1 ? 's' : ''}: ${list.join('; ')}. ` +
        'camlight runs the convolutional classifiers of torchvision (see README, "Your PyTorch model"); vision transformers are not supported yet',
    );
  }
  if (g.inputs.length !== 1) throw new OnnxLoadError(`${where}: the graph has ${g.inputs.length} inputs; camlight runs single-input image models`);
  if (g.outputs.length !== 1) throw new OnnxLoadError(`${where}: the graph has ${g.outputs.length} outputs; camlight runs single-output classifiers`);
  const inDims = g.inputs[0]!.dims;
  if (inDims.length !== 4 || inDims.slice(1).some((d) => d === null)) {
    throw new OnnxLoadError(`${where}: input '${g.inputs[0]!.name}' has shape (${inDims.map((d) => d ?? '?').join(', ')}); camlight needs (N, C, H, W) with fixed C, H, W — export with a fixed image size`);
  }
  const batch = inDims[0] ?? 1;
  const tr = new Translation(g, batch);
  for (const [k, t] of g.initializers) tr.values.set(k, { kind: 'const', t });
  tr.values.set(g.inputs[0]!.name, tr.input(g.inputs[0]!.name, [batch, ...(inDims.slice(1) as number[])]));
  const broken = new Set<string>();
  for (const n of g.nodes) {
    const ins = n.inputs.map((k) => (k ? tr.values.get(k) : undefined));
    if (n.inputs.some((k) => broken.has(k))) {
      n.outputs.forEach((o) => broken.add(o));
      continue;
    }
    const missing = n.inputs.filter((k, i) => k && !ins[i]);
    if (missing.length) {
      tr.problems.push(`${describe(n)} reads '${missing[0]}', which no earlier node produces`);
      n.outputs.forEach((o) => broken.add(o));
      continue;
    }
    // Fold when every input is constant (or when only the static shape of a tensor is asked).
    const consts = ins.map((v) => (v?.kind === 'const' ? v.t : undefined));
    const allConst = ins.every((v, i) => !n.inputs[i] || v?.kind === 'const');
    const folded = n.opType === 'Shape' && ins[0]?.kind === 'dyn'
      ? [{ dims: [ins[0].shape.length], data: Float64Array.from(ins[0].shape) }]
      : allConst ? foldNode(n, consts) : null;
    if (folded) {
      folded.forEach((t, i) => n.outputs[i] && tr.values.set(n.outputs[i]!, { kind: 'const', t }));
      continue;
    }
    const handler = OP_HANDLERS[n.opType];
    try {
      if (!handler) throw new Error(`${n.opType} is only supported on constant inputs here`);
      const outs = handler(tr, n, ins as (Value | undefined)[]);
      outs.forEach((v, i) => n.outputs[i] && tr.values.set(n.outputs[i]!, v));
    } catch (e) {
      tr.problems.push(`${describe(n)}: ${(e as Error).message}`);
      n.outputs.forEach((o) => broken.add(o));
    }
  }
  const out = tr.values.get(g.outputs[0]!.name);
  if (!tr.problems.length && (!out || out.kind !== 'dyn' || out.grouped)) tr.problems.push(`output '${g.outputs[0]!.name}' is not computed from the input image`);
  if (tr.problems.length) {
    throw new OnnxLoadError(`${where}: ${tr.problems.length} node(s) cannot be translated: ${tr.problems.slice(0, 6).join('; ')}${tr.problems.length > 6 ? '; …' : ''}`);
  }
  return { topology: tr.graph.topology((out as Dyn).layer), weights: tr.weights };
}
