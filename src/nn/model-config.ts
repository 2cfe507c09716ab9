// Reads a Keras model topology (TensorFlow.js's `modelTopology`, an .h5 file's `model_config`,
// Keras 2 and Keras 3 forms) into one neutral description: layers, the tensors each node
// consumes, and the model's inputs and outputs. Writing back produces the Keras 2 form tfjs reads.
import { declaredInputShape } from './layers/core.ts';
import { LayerConfigError } from './layers/config.ts';
import type { LayerConfig, Shape } from './layers/layer.ts';

/** One tensor of the graph: output `tensor` of call `node` of layer `layer` (Keras's keras_history). */
export interface TensorRef {
  layer: string;
  node: number;
  tensor: number;
}

export interface LayerEntry {
  className: string;
  config: LayerConfig;
  /** One list of input tensors per call of the layer (InputLayer: none). */
  inbound: TensorRef[][];
}

export interface GraphSpec {
  name: string;
  kind: 'sequential' | 'functional';
  layers: LayerEntry[];
  inputs: TensorRef[];
  outputs: TensorRef[];
  /** Sequential models whose input layer is implied by the first layer's batch_input_shape. */
  implicitInput: string | null;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

function fail(msg: string): never {
  throw new LayerConfigError(`model config: ${msg}`);
}

/** Peels `{modelTopology}`, `{model_config}` (object or JSON string) and `{config: …}` wrappers off. */
function unwrap(t: unknown): Obj {
  let v = typeof t === 'string' ? JSON.parse(t) : t;
  for (let i = 0; i < 4; i++) {
    if (isObj(v) && 'modelTopology' in v) v = v.modelTopology;
    else if (isObj(v) && 'model_config' in v) v = typeof v.model_config === 'string' ? JSON.parse(v.model_config) : v.model_config;
    else break;
  }
  if (!isObj(v) || typeof v.class_name !== 'string') {
    fail("expected {class_name: 'Sequential' | 'Functional' | 'Model', config: {...}} (the modelTopology of a model.json or an .h5 model_config)");
  }
  return v;
}

function layerEntry(l: unknown, i: number): { className: string; config: LayerConfig; raw: Obj } {
  if (!isObj(l) || typeof l.class_name !== 'string') fail(`layer #${i} has no class_name`);
  const cfg = isObj(l.config) ? { ...l.config } : {};
  const name = typeof cfg.name === 'string' ? cfg.name : typeof l.name === 'string' ? l.name : fail(`layer #${i} (${l.class_name}) has no name`);
  cfg.name = name;
  return { className: l.class_name, config: cfg as LayerConfig, raw: l };
}

/** A Keras 2 ref [name, node, tensor, kwargs?] or a Keras 3 keras tensor {config: {keras_history}}. */
function refOf(v: unknown): TensorRef | null {
  if (Array.isArray(v) && typeof v[0] === 'string' && typeof v[1] === 'number') {
    return { layer: v[0], node: v[1], tensor: typeof v[2] === 'number' ? v[2] : 0 };
  }
  if (isObj(v) && isObj(v.config) && Array.isArray(v.config.keras_history)) return refOf(v.config.keras_history);
  return null;
}

/** Every tensor ref inside a Keras 3 `args` structure (nested lists for merge layers). */
function collectRefs(v: unknown, out: TensorRef[]): void {
  const r = refOf(v);
  if (r && !Array.isArray(v)) out.push(r);
  else if (Array.isArray(v)) for (const x of v) collectRefs(x, out);
}

function parseInbound(nodes: unknown, layer: string): TensorRef[][] {
  if (nodes === undefined || nodes === null) return [];
  if (!Array.isArray(nodes)) fail(`layer '${layer}': inbound_nodes must be a list`);
  return nodes.map((n) => {
    if (isObj(n) && 'args' in n) {
      const refs: TensorRef[] = [];
      collectRefs(n.args, refs);
      return refs;
    }
    if (Array.isArray(n)) {
      return n.map((r) => refOf(r) ?? fail(`layer '${layer}': cannot read inbound tensor ${JSON.stringify(r)}`));
    }
    return fail(`layer '${layer}': cannot read inbound node ${JSON.stringify(n)}`);
  });
}

/** input_layers / output_layers: [[name, node, tensor], …] or, in Keras 3 with one tensor, [name, node, tensor]. */
function parseEnds(v: unknown, what: string): TensorRef[] {
  if (!Array.isArray(v) || v.length === 0) fail(`'${what}' is missing or empty`);
  const single = refOf(v);
  if (single && typeof v[0] === 'string') return [single];
  return v.map((r) => refOf(r) ?? fail(`cannot read ${what} entry ${JSON.stringify(r)}`));
}

/**
 * Parses any supported Keras topology into a GraphSpec.
 * @example
 *   const spec = parseTopology(modelJson.modelTopology);
 */
export function parseTopology(topology: unknown): GraphSpec {
  const t = unwrap(topology);
  const cls = t.class_name as string;
  const cfg = t.config;
  if (cls === 'Sequential') {
    const list = Array.isArray(cfg) ? cfg : isObj(cfg) && Array.isArray(cfg.layers) ? cfg.layers : fail("Sequential config has no 'layers' list");
    const name = isObj(cfg) && typeof cfg.name === 'string' ? cfg.name : 'sequential';
    const entries = list.map(layerEntry);
    if (!entries.length) fail('Sequential model has no layers');
    const layers: LayerEntry[] = [];
    let implicitInput: string | null = null;
    let prev: TensorRef;
    const first = entries[0]!;
    if (first.className === 'InputLayer') {
      layers.push({ className: 'InputLayer', config: first.config, inbound: [] });
      entries.shift();
    } else {
      const shape = declaredInputShape(first.config) ?? (isObj(cfg) ? declaredInputShape({ batch_input_shape: cfg.build_input_shape }) : null);
      if (!shape) fail(`Sequential model: the first layer '${first.config.name}' declares no input shape (batch_input_shape) and there is no InputLayer`);
      implicitInput = `${first.config.name}_input`;
      layers.push({ className: 'InputLayer', config: { name: implicitInput, batch_input_shape: shape }, inbound: [] });
    }
    prev = { layer: layers[0]!.config.name, node: 0, tensor: 0 };
    for (const e of entries) {
      layers.push({ className: e.className, config: e.config, inbound: [[prev]] });
      prev = { layer: e.config.name, node: 0, tensor: 0 };
    }
    return { name, kind: 'sequential', layers, inputs: [{ layer: layers[0]!.config.name, node: 0, tensor: 0 }], outputs: [prev], implicitInput };
  }
  if (cls === 'Functional' || cls === 'Model') {
    if (!isObj(cfg) || !Array.isArray(cfg.layers)) fail(`${cls} config has no 'layers' list`);
    const layers = cfg.layers.map((l, i) => {
      const e = layerEntry(l, i);
      return { className: e.className, config: e.config, inbound: parseInbound(e.raw.inbound_nodes, e.config.name) };
    });
    return {
      name: typeof cfg.name === 'string' ? cfg.name : 'model',
      kind: 'functional',
      layers,
      inputs: parseEnds(cfg.input_layers, 'input_layers'),
      outputs: parseEnds(cfg.output_layers, 'output_layers'),
      implicitInput: null,
    };
  }
  return fail(`model class '${cls}' is not supported; camlight reads Sequential, Functional and Model topologies`);
}

/** A layer config in the Keras 2 form TensorFlow.js reads (Keras 3 dtype policies and batch_shape rewritten). */
export function tfjsLayerConfig(className: string, config: LayerConfig): LayerConfig {
  const out: LayerConfig = { ...config };
  if (isObj(out.dtype)) out.dtype = 'float32';
  if (className === 'InputLayer' && !('batch_input_shape' in out)) {
    const s = declaredInputShape(out);
    delete out.batch_shape;
    delete out.shape;
    delete out.input_shape;
    out.batch_input_shape = s;
  }
  return out;
}

/** Keras 2 inbound ref. */
export const refJson = (r: TensorRef) => [r.layer, r.node, r.tensor, {}];

export type { Shape };
