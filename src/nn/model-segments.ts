// Running part of a model's graph, behind Model.runUpTo / runFrom / canRunFrom: from the input up
// to a layer (to cache a frozen base's features), or from a layer's cached output onwards (to train
// only the head). Model.run runs the whole graph; this walks the same nodes, calling each layer.
import { ShapeError } from '../gpu/errors.ts';
import type { CallContext } from './layers/layer.ts';
import type { GraphNode } from './model-fold.ts';
import * as ops from './ops.ts';
import { scope, type Tensor } from '../tensor/tensor.ts';

export interface SegmentOptions {
  /** Training mode (dropout active, trainable batch norms on batch statistics). */
  training?: boolean;
  random?: () => number;
}

/** What a segment needs of its model: a name for errors and the nodes in topological order. */
export interface SegmentGraph {
  readonly name: string;
  readonly nodes: GraphNode[];
}

/**
 * The nodes needed to compute `targets` (node keys) when the tensors in `given` are known, in
 * topological order; null if the graph reaches an input that is not given (a path around them).
 */
export function segmentNodes(graph: SegmentGraph, given: Set<string>, targets: string[]): GraphNode[] | null {
  const byKey = new Map(graph.nodes.map((n) => [n.key, n]));
  const need = new Set<string>();
  const stack = [...targets];
  while (stack.length) {
    const k = stack.pop()!;
    if (given.has(k) || need.has(k)) continue;
    const n = byKey.get(k)!;
    if (!n.inputs.length) return null; // an input layer that is not given
    need.add(k);
    stack.push(...n.inputs);
  }
  return graph.nodes.filter((n) => need.has(n.key));
}

/**
 * Runs the nodes between known tensors (`given`, by node key) and `targets` (layer name → node
 * key), freeing each intermediate after its last use. Returns the targets' outputs by layer name.
 */
export function runSegment(graph: SegmentGraph, given: Map<string, Tensor>, targets: Map<string, string>, o: SegmentOptions = {}): Map<string, Tensor> {
  const targetKeys = [...targets.values()];
  const nodes = segmentNodes(graph, new Set(given.keys()), targetKeys);
  if (!nodes) {
    throw new ShapeError(
      `model '${graph.name}': ${[...targets.keys()].join(', ')} cannot be computed from ${[...given.keys()].join(', ')} alone ` +
        '(another path leads around it to the input); choose a layer that every path passes through',
    );
  }
  const ctx: CallContext = { training: !!o.training, random: o.random };
  const keepKeys = new Set(targetKeys);
  return scope(() => {
    const values = new Map<string, Tensor>();
    // Views, so that freeing an intermediate here never frees the caller's tensor.
    for (const [k, t] of given) values.set(k, ops.reshape(t, t.shape));
    const left = new Map<string, number>();
    for (const n of nodes) for (const k of n.inputs) left.set(k, (left.get(k) ?? 0) + 1);
    for (const n of nodes) {
      const ins = n.inputs.map((k) => values.get(k)!);
      let y = scope(() => n.layer.call(ins, ctx));
      if (ins.includes(y)) y = ops.reshape(y, y.shape);
      values.set(n.key, y);
      for (const k of n.inputs) {
        const c = left.get(k)! - 1;
        left.set(k, c);
        if (c === 0 && !keepKeys.has(k)) values.get(k)!.dispose();
      }
    }
    return new Map([...targets].map(([name, key]) => [name, values.get(key)!]));
  });
}
