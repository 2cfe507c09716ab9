// The inference plan: the model's nodes as steps, where a convolution whose only consumer is a
// batch norm (and that batch norm's only consumer a plain activation) runs as one conv kernel
// with the batch norm folded into its weights and the activation in its epilogue. The folded
// weights are cached per model and rebuilt when the weights change; training keeps the
// unfolded path (batch statistics, moving-average updates, weight gradients).
import { foldBatchNormTensor } from '../kernels/batchnorm.ts';
import { Conv2D, DepthwiseConv2D } from './layers/conv.ts';
import { fusable, type LayerActivation } from './layers/config.ts';
import { Activation, ReLU } from './layers/core.ts';
import type { CallContext, Shape, StoredLayer } from './layers/layer.ts';
import { BatchNormalization } from './layers/normalization.ts';
import { isTracked } from './tape.ts';
import { keep, type Tensor } from '../tensor/tensor.ts';

/** One call of a layer in the graph. */
export interface GraphNode {
  layer: StoredLayer;
  /** Which call of the layer (Keras's node index). */
  index: number;
  /** Keys of the tensors it consumes. */
  inputs: string[];
  /** Key of the tensor it produces: `${layer}:${index}:0`. */
  key: string;
  inputShapes: Shape[];
  outputShape: Shape;
}

/** What run() executes: one node, or a conv + batch norm (+ activation) group. */
export interface Step {
  inputs: string[];
  output: string;
  nodes: GraphNode[];
  exec(inputs: Tensor[], ctx: CallContext): Tensor;
}

interface Folded {
  kernel: Tensor;
  bias: Tensor;
  version: number;
  sources: Tensor[];
}

/** Folded conv weights per conv layer name, valid for one weights version. */
export class FoldCache {
  private entries = new Map<string, Folded>();

  get(conv: Conv2D | DepthwiseConv2D, bn: BatchNormalization, version: number): { kernel: Tensor; bias: Tensor } {
    const kName = conv instanceof Conv2D ? 'kernel' : 'depthwise_kernel';
    const kernel = conv.weight(kName);
    const bias = conv.useBias ? conv.weight('bias') : undefined;
    const p = bn.params();
    const sources = [kernel, bias, p.mean, p.variance, p.gamma, p.beta].filter((t): t is Tensor => !!t);
    const hit = this.entries.get(conv.name);
    if (hit && hit.version === version && hit.sources.length === sources.length && hit.sources.every((t, i) => t === sources[i])) return hit;
    this.drop(conv.name);
    // A depthwise kernel (KH,KW,C,M) scales output channel c·M+m: view it as (KH·KW, C·M).
    const w = conv instanceof DepthwiseConv2D ? kernel.reshape([kernel.shape[0]! * kernel.shape[1]!, kernel.size / (kernel.shape[0]! * kernel.shape[1]!)]) : kernel;
    const f = foldBatchNormTensor(w, bias, p);
    if (w !== kernel) w.dispose();
    const k = conv instanceof DepthwiseConv2D ? f.w.reshape(kernel.shape) : f.w;
    if (k !== f.w) f.w.dispose();
    const entry = { kernel: keep(k), bias: keep(f.bias), version, sources };
    this.entries.set(conv.name, entry);
    return entry;
  }

  drop(name: string): void {
    const e = this.entries.get(name);
    if (!e) return;
    e.kernel.dispose();
    e.bias.dispose();
    this.entries.delete(name);
  }

  clear(): void {
    for (const n of [...this.entries.keys()]) this.drop(n);
  }

  get size(): number {
    return this.entries.size;
  }
}

const single = (l: StoredLayer, count: Map<StoredLayer, number>) => (count.get(l) ?? 0) === 1;

/** The activation a plain activation layer applies, if it can ride in a conv epilogue. */
function epilogue(layer: StoredLayer): LayerActivation | null {
  if (layer instanceof ReLU) return layer.activation;
  if (layer instanceof Activation && fusable(layer.activation)) return layer.activation;
  return null;
}

/**
 * Steps in topological order. With `fold`, conv → BN (→ activation) chains become one step
 * wherever no intermediate is kept (tapped or an output) and no weight is being differentiated.
 */
export function planSteps(
  nodes: GraphNode[], keepKeys: Set<string>, fold: boolean, cache: FoldCache, version: () => number,
): Step[] {
  const consumers = new Map<string, GraphNode[]>();
  const calls = new Map<StoredLayer, number>();
  for (const n of nodes) {
    calls.set(n.layer, (calls.get(n.layer) ?? 0) + 1);
    for (const k of n.inputs) {
      const list = consumers.get(k) ?? [];
      list.push(n);
      consumers.set(k, list);
    }
  }
  const onlyConsumer = (key: string) => {
    const c = consumers.get(key);
    return c && c.length === 1 && !keepKeys.has(key) ? c[0]! : null;
  };
  const absorbed = new Set<GraphNode>();
  const steps: Step[] = [];
  for (const node of nodes) {
    if (absorbed.has(node) || node.layer.className === 'InputLayer') continue;
    const conv = node.layer;
    const bnNode = fold && (conv instanceof Conv2D || conv instanceof DepthwiseConv2D) && conv.activation === 'linear' && single(conv, calls)
      ? onlyConsumer(node.key) : null;
    const bn = bnNode?.layer;
    if (bnNode && bn instanceof BatchNormalization && single(bn, calls) && !weightsTracked(conv, bn)) {
      const c = conv as Conv2D | DepthwiseConv2D;
      const actNode = onlyConsumer(bnNode.key);
      const act = actNode ? epilogue(actNode.layer) : null;
      const group = act && actNode ? [node, bnNode, actNode] : [node, bnNode];
      for (const g of group) absorbed.add(g);
      steps.push({
        inputs: node.inputs,
        output: group[group.length - 1]!.key,
        nodes: group,
        exec: ([x]) => {
          const f = cache.get(c, bn, version());
          return c.forward(x!, f.kernel, f.bias, act ?? 'linear');
        },
      });
      continue;
    }
    steps.push({ inputs: node.inputs, output: node.key, nodes: [node], exec: (ins, ctx) => node.layer.call(ins, ctx) });
  }
  return steps;
}

/** True while a tape differentiates any weight of the group (then the weights must stay separate). */
function weightsTracked(...layers: StoredLayer[]): boolean {
  return layers.some((l) => [...l.weights.values()].some((t) => isTracked(t)));
}
