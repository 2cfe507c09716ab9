// A Keras model graph on camlight's layers: built from a Keras topology (Sequential or functional
// DAG), run in topological order with each intermediate freed as soon as its last consumer ran,
// any layer's output tapped by name, weights set and read by their canonical tfjs names.
import { ShapeError } from '../gpu/errors.ts';
import { rng } from './model-init.ts';
import { fmtShape } from './layers/config.ts';
import type { CallContext, Layer, Shape, StoredLayer } from './layers/layer.ts';
import { createLayer } from './layers/registry.ts';
import { parseTopology, refJson, tfjsLayerConfig, type GraphSpec, type TensorRef } from './model-config.ts';
import { FoldCache, planSteps, type GraphNode } from './model-fold.ts';
import { runSegment, segmentNodes, type SegmentOptions } from './model-segments.ts';
import { countParameters, summarize } from './model-summary.ts';
import * as ops from './ops.ts';
import { isRecording, isTracked, watch } from './tape.ts';
import { scope, type Tensor } from '../tensor/tensor.ts';

const keyOf = (r: TensorRef) => `${r.layer}:${r.node}:${r.tensor}`;

export interface RunOptions {
  /** Training mode: dropout active, batch norms use and update batch statistics. */
  training?: boolean;
  /** Layers whose outputs are returned too (and, under a tape, watched for their gradients). */
  taps?: string[];
  /** Random source for dropout in training mode (default Math.random). */
  random?: () => number;
  /** Fold batch norms into the convolutions before them at inference (default true). */
  fold?: boolean;
}

export interface WeightEntry {
  /** Canonical tfjs name `${layer}/${weight}`. */
  name: string;
  layer: Layer;
  weight: string;
  shape: number[];
  trainable: boolean;
}

export type WeightValue = Float32Array | { data: Float32Array; shape: number[] };

export class Model {
  readonly name: string;
  /** Keras's model.layers in the config's order (a Sequential's implied input layer left out). */
  readonly layers: StoredLayer[];
  readonly inputShape: Shape;
  readonly kind: 'sequential' | 'functional';
  /** Every layer call, in topological order. */
  readonly nodes: GraphNode[];
  private readonly inputKeys: string[];
  private readonly outputKey: string;
  private readonly byName = new Map<string, StoredLayer>();
  private readonly spec: GraphSpec;
  private readonly folds = new FoldCache();
  private version = 0;

  private constructor(spec: GraphSpec) {
    this.spec = spec;
    this.name = spec.name;
    this.kind = spec.kind;
    if (spec.outputs.length !== 1) {
      throw new ShapeError(`model '${spec.name}' has ${spec.outputs.length} outputs; camlight runs single-output models`);
    }
    const all: StoredLayer[] = [];
    for (const e of spec.layers) {
      if (this.byName.has(e.config.name)) throw new ShapeError(`model '${spec.name}': two layers are named '${e.config.name}'`);
      const l = createLayer(e.className, e.config);
      this.byName.set(l.name, l);
      all.push(l);
    }
    this.nodes = topoSort(spec, this.byName);
    this.inputKeys = spec.inputs.map(keyOf);
    this.outputKey = keyOf(spec.outputs[0]!);
    const produced = new Set(this.nodes.map((n) => n.key));
    for (const k of [...this.inputKeys, this.outputKey]) {
      if (!produced.has(k)) throw new ShapeError(`model '${spec.name}': input/output tensor ${k} is not produced by any layer`);
    }
    const inputNode = this.nodes.find((n) => n.key === this.inputKeys[0]);
    this.inputShape = inputNode!.outputShape;
    // The config's order: Keras writes model.layers there, sorted by depth (so topological).
    this.layers = all.filter((l) => l.name !== spec.implicitInput);
  }

  /**
   * Builds a model from a Keras topology: TensorFlow.js's `modelTopology`, `{model_config}`
   * wrappers, an .h5 file's `model_config` (object or JSON string), Keras 2 or Keras 3 forms.
   * Weights are not allocated: call setWeights() or initWeights().
   * @example
   *   const model = Model.fromKerasConfig(modelJson.modelTopology);
   */
  static fromKerasConfig(topology: unknown): Model {
    return new Model(parseTopology(topology));
  }

  /** The output shape of the model (batch as null). */
  get outputShape(): Shape {
    return this.nodes.find((n) => n.key === this.outputKey)!.outputShape;
  }

  /** A layer by name; the error lists the closest names. */
  getLayer(name: string): StoredLayer {
    const l = this.byName.get(name);
    if (l) return l;
    const names = [...this.byName.keys()];
    const close = names
      .map((n) => ({ n, d: editDistance(n.toLowerCase(), name.toLowerCase()) - (n.includes(name) ? 100 : 0) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 5)
      .map((x) => x.n);
    throw new Error(`model '${this.name}' has no layer named '${name}'; closest: ${close.join(', ')} (${names.length} layers)`);
  }

  /** The output shape of a layer's first call (batch as null). */
  layerOutputShape(name: string): Shape {
    const l = this.getLayer(name);
    return this.nodes.find((n) => n.layer === l)!.outputShape;
  }

  /**
   * Runs the model. `taps` names layers whose outputs are returned too (kept alive for the
   * caller, who disposes them; a tap may be the output tensor itself). Under a tape the tapped
   * tensors are watch()ed, so valueAndGrad reports their gradients (Grad-CAM's dA).
   * @example
   *   const { output, taps } = model.run(x, { taps: ['block5_conv4'] });
   */
  run(inputs: Tensor | Tensor[], opts: RunOptions = {}): { output: Tensor; taps: Map<string, Tensor> } {
    const xs = Array.isArray(inputs) ? inputs : [inputs];
    this.checkInputs(xs);
    const training = !!opts.training;
    const tapNames = opts.taps ?? [];
    const tapKeys = tapNames.map((n) => this.nodes.find((nd) => nd.layer === this.getLayer(n))!.key);
    const keepKeys = new Set([...tapKeys, this.outputKey]);
    // Training, or a tape differentiating weights, may change weights: folded copies go stale.
    if (training || (isRecording() && this.layers.some((l) => [...l.weights.values()].some((t) => isTracked(t))))) this.invalidateFolds();
    const steps = planSteps(this.nodes, keepKeys, !training && opts.fold !== false, this.folds, () => this.version);
    const ctx: CallContext = { training, random: opts.random };
    const watching = isRecording();
    const tapSet = new Set(tapKeys);
    return scope(() => {
      const values = new Map<string, Tensor>();
      const left = new Map<string, number>();
      for (const s of steps) for (const k of s.inputs) left.set(k, (left.get(k) ?? 0) + 1);
      const put = (key: string, t: Tensor) => {
        values.set(key, watching && tapSet.has(key) ? watch(t) : t);
      };
      // Views of the caller's tensors, so that freeing them here never frees the caller's.
      this.inputKeys.forEach((k, i) => put(k, ops.reshape(xs[i]!, xs[i]!.shape)));
      for (const step of steps) {
        const ins = step.inputs.map((k) => values.get(k)!);
        let y = scope(() => step.exec(ins, ctx));
        if (ins.includes(y)) y = ops.reshape(y, y.shape);
        put(step.output, y);
        for (const k of step.inputs) {
          const n = left.get(k)! - 1;
          left.set(k, n);
          if (n === 0 && !keepKeys.has(k)) values.get(k)!.dispose();
        }
      }
      return { output: values.get(this.outputKey)!, taps: new Map(tapNames.map((n, i) => [n, values.get(tapKeys[i]!)!])) };
    });
  }

  /** The model's output for x (inference). */
  predict(x: Tensor): Tensor {
    return this.run(x).output;
  }

  /**
   * A layer's output for a batch, running only the layers it depends on (batch norms are not
   * folded). The trainer caches a frozen base's features with it.
   * @example
   *   const feats = model.runUpTo(x, 'block5_pool');
   */
  runUpTo(x: Tensor, layer: string, opts: SegmentOptions = {}): Tensor {
    if (this.inputKeys.length !== 1) throw new ShapeError(`model '${this.name}' has ${this.inputKeys.length} inputs; runUpTo runs single-input models`);
    return runSegment(this, new Map([[this.inputKeys[0]!, x]]), new Map([[layer, this.nodeKey(layer)]]), opts).get(layer)!;
  }

  /**
   * Continues the model from a layer's output (cached features) to the outputs of `targets`
   * (caller disposes them); throws if a path around `layer` reaches the input (see canRunFrom).
   * @example
   *   const logitsIn = model.runFrom('flatten', feats, ['dense']).get('dense')!;
   */
  runFrom(layer: string, activations: Tensor, targets: string[], opts: SegmentOptions = {}): Map<string, Tensor> {
    return runSegment(this, new Map([[this.nodeKey(layer), activations]]), new Map(targets.map((t) => [t, this.nodeKey(t)])), opts);
  }

  /** Whether `targets` can be computed from `layer`'s output alone (no path around it to the input). */
  canRunFrom(layer: string, targets: string[]): boolean {
    return segmentNodes(this, new Set([this.nodeKey(layer)]), targets.map((t) => this.nodeKey(t))) !== null;
  }

  /** Whether a layer is one of the model's inputs (nothing before it to run). */
  isInput(layer: string): boolean {
    return this.inputKeys.includes(this.nodeKey(layer));
  }

  /** The node key of a layer's first call. */
  private nodeKey(layer: string): string {
    const l = this.getLayer(layer);
    return this.nodes.find((n) => n.layer === l)!.key;
  }

  private checkInputs(xs: Tensor[]): void {
    if (xs.length !== this.inputKeys.length) {
      throw new ShapeError(`model '${this.name}' takes ${this.inputKeys.length} input(s), got ${xs.length}`);
    }
    xs.forEach((x, i) => {
      const want = this.nodes.find((n) => n.key === this.inputKeys[i])!.outputShape;
      if (x.rank !== want.length || want.some((d, a) => d !== null && d !== x.shape[a])) {
        throw new ShapeError(
          `model '${this.name}' expects input ${i} of shape (${fmtShape(want)}), got (${x.shape.join(', ')}); ` +
            'resize the image or build the model for this input size',
        );
      }
    });
  }

  /** Every weight in Keras order (layer order, then each layer's weight order). */
  weightList(): WeightEntry[] {
    const out: WeightEntry[] = [];
    for (const l of this.layers) {
      const node = this.nodes.find((n) => n.layer === l)!;
      for (const s of l.weightSpecs(node.inputShapes)) {
        out.push({ name: `${l.name}/${s.name}`, layer: l, weight: s.name, shape: s.shape, trainable: s.trainable && l.trainable });
      }
    }
    return out;
  }

  /**
   * Sets weights by canonical name (`${layer}/${weight}`, a trailing ':0' accepted) from host data.
   * Every shape is checked before anything changes; names the model does not have are ignored.
   * @example
   *   model.setWeights(new Map([['fc1/bias', new Float32Array(4096)]]), { allowMissing: true });
   */
  setWeights(values: Map<string, WeightValue>, opts: { allowMissing?: boolean } = {}): void {
    const todo: [WeightEntry, Float32Array][] = [];
    const missing: string[] = [];
    for (const e of this.weightList()) {
      const v = values.get(e.name) ?? values.get(`${e.name}:0`);
      if (!v) {
        missing.push(e.name);
        continue;
      }
      const data = v instanceof Float32Array ? v : v.data;
      const given = v instanceof Float32Array ? null : v.shape;
      const size = e.shape.reduce((a, b) => a * b, 1);
      const what = `layer '${e.layer.name}' (${e.layer.className}) weight '${e.weight}'`;
      if (given && (given.length !== e.shape.length || given.some((d, i) => d !== e.shape[i]))) {
        throw new ShapeError(`${what}: expected shape [${e.shape.join(', ')}], given [${given.join(', ')}]; check that the weights belong to this architecture and input size`);
      }
      if (data.length !== size) {
        throw new ShapeError(`${what}: expected ${size} values (shape [${e.shape.join(', ')}]), given ${data.length}; check that the weights belong to this architecture and input size`);
      }
      todo.push([e, data]);
    }
    if (missing.length && !opts.allowMissing) {
      throw new ShapeError(
        `model '${this.name}': no values for ${missing.length} weight(s): ${missing.slice(0, 8).join(', ')}${missing.length > 8 ? ', …' : ''}; ` +
          'pass them, or { allowMissing: true } to keep the others as they are',
      );
    }
    for (const [e, data] of todo) (e.layer as StoredLayer).setWeight(e.weight, data, e.shape);
    this.invalidateFolds();
  }

  /** Reads every weight back to the host, by canonical name (split weights joined). */
  async readWeights(): Promise<Map<string, { data: Float32Array; shape: number[] }>> {
    const out = new Map<string, { data: Float32Array; shape: number[] }>();
    for (const e of this.weightList()) out.set(e.name, { data: await (e.layer as StoredLayer).readWeight(e.weight), shape: e.shape });
    return out;
  }

  /**
   * Random weights as Keras initialises them: Glorot-uniform kernels, zero biases and β, γ and
   * moving variance 1, moving mean 0. Seeded, so the same seed gives the same model.
   * @example
   *   const m = vgg19({ inputShape: [64, 64, 3] }); m.initWeights(7);
   */
  initWeights(seed = 1): void {
    const r = rng(seed);
    for (const e of this.weightList()) {
      const size = e.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(size);
      if (e.weight.endsWith('kernel')) {
        const receptive = e.shape.length > 2 ? e.shape.slice(0, -2).reduce((a, b) => a * b, 1) : 1;
        const fanIn = receptive * e.shape[e.shape.length - 2]!, fanOut = receptive * e.shape[e.shape.length - 1]!;
        const limit = Math.sqrt(6 / (fanIn + fanOut));
        for (let i = 0; i < size; i++) data[i] = (2 * r() - 1) * limit;
      } else if (e.weight === 'gamma' || e.weight === 'moving_variance' || e.weight === 'variance') data.fill(1); // Normalization's variance: ones, as Keras
      (e.layer as StoredLayer).setWeight(e.weight, data, e.shape);
    }
    this.invalidateFolds();
  }

  /** Drops folded batch-norm weights; call after changing weights in place outside setWeights/training runs. */
  invalidateFolds(): void {
    this.version++;
    this.folds.clear();
  }

  /** A topology (Keras 2 form, as TensorFlow.js writes it) that tfjs-layers and camlight can load. */
  toKerasConfig(): unknown {
    const wrap = (class_name: string, config: unknown) => ({ class_name, config, keras_version: 'tfjs-layers 4.22.0', backend: 'tensor_flow.js' });
    if (this.kind === 'sequential') {
      const layers = this.layers.filter((l) => l.className !== 'InputLayer').map((l) => ({ class_name: l.className, config: tfjsLayerConfig(l.className, l.config) }));
      if (layers[0]) layers[0].config = { ...layers[0].config, batch_input_shape: this.inputShape };
      return wrap('Sequential', { name: this.name, layers });
    }
    const layers = this.spec.layers.map((e) => {
      const l = this.byName.get(e.config.name)!;
      return { name: l.name, class_name: l.className, config: tfjsLayerConfig(l.className, l.config), inbound_nodes: e.inbound.map((node) => node.map(refJson)) };
    });
    const ends = (rs: TensorRef[]) => rs.map((r) => [r.layer, r.node, r.tensor]);
    return wrap('Model', { name: this.name, layers, input_layers: ends(this.spec.inputs), output_layers: ends(this.spec.outputs) });
  }

  /** A Keras-style table: layer (type), output shape, parameter count (and inputs, for functional models). */
  summary(): string {
    return summarize(this);
  }

  /** Trainable and non-trainable parameter counts, from shapes alone (no weights needed). */
  parameterCount(): { trainable: number; nonTrainable: number } {
    return countParameters(this.weightList());
  }

  /** Frees every weight and folded copy. */
  dispose(): void {
    this.folds.clear();
    for (const l of this.layers) l.disposeWeights();
  }

  /** Number of folded conv weight sets held (for tests of the inference plan). */
  get foldedCount(): number {
    return this.folds.size;
  }
}

/** Nodes in topological order (Kahn's algorithm, ties broken by the config's layer order). */
function topoSort(spec: GraphSpec, byName: Map<string, StoredLayer>): GraphNode[] {
  interface Pending { layer: StoredLayer; index: number; refs: TensorRef[] }
  const pending: Pending[] = [];
  spec.layers.forEach((e) => {
    const layer = byName.get(e.config.name)!;
    const calls = e.inbound.length ? e.inbound : [[]];
    calls.forEach((refs, index) => {
      for (const r of refs) {
        if (!byName.has(r.layer)) throw new ShapeError(`model '${spec.name}': layer '${layer.name}' reads from '${r.layer}', which is not in the model`);
        if (r.tensor !== 0) throw new ShapeError(`model '${spec.name}': layer '${layer.name}' reads output ${r.tensor} of '${r.layer}'; camlight layers have one output`);
      }
      if (!refs.length && layer.className !== 'InputLayer') {
        throw new ShapeError(`model '${spec.name}': layer '${layer.name}' (${layer.className}) has no inbound tensors`);
      }
      pending.push({ layer, index, refs });
    });
  });
  const shapes = new Map<string, Shape>();
  const done: GraphNode[] = [];
  let rest = pending;
  while (rest.length) {
    const next: Pending[] = [];
    let progressed = false;
    for (const p of rest) {
      const keys = p.refs.map(keyOf);
      if (!keys.every((k) => shapes.has(k))) {
        next.push(p);
        continue;
      }
      const inputShapes = keys.map((k) => shapes.get(k)!);
      const outputShape = p.layer.outputShape(inputShapes);
      const node: GraphNode = { layer: p.layer, index: p.index, inputs: keys, key: `${p.layer.name}:${p.index}:0`, inputShapes, outputShape };
      node.layer.weightSpecs(inputShapes); // validates weight shapes at build time
      shapes.set(node.key, outputShape);
      done.push(node);
      progressed = true;
    }
    if (!progressed) {
      const names = next.map((p) => p.layer.name).slice(0, 5).join(', ');
      throw new ShapeError(`model '${spec.name}': the graph has a cycle or reads a missing tensor (stuck at ${names})`);
    }
    rest = next;
  }
  return done;
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}
