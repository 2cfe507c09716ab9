// Running part of a model's graph: from the input up to a layer (to cache a frozen base's
// features), or from a layer's cached output onwards (to train only the head). Model.run always
// runs the whole graph; this walks the same nodes, calling each layer as Model.run does.
import { ShapeError } from '../gpu/errors.ts';
import type { Model } from '../nn/model.ts';
import type { GraphNode } from '../nn/model-fold.ts';
import * as ops from '../nn/ops.ts';
import { scope, type Tensor } from '../tensor/tensor.ts';

export interface SegmentOptions {
  /** Training mode (dropout active, trainable batch norms on batch statistics). */
  training?: boolean;
  random?: () => number;
}

/** The node of a layer's first call. */
export function nodeOf(model: Model, layer: string): GraphNode {
  const l = model.getLayer(layer);
  return model.nodes.find((n) => n.layer === l)!;
}

/**
 * The nodes needed to compute `targets` when the tensors in `given` are known, in topological
 * order; null if the graph reaches an input that is not given (a path around the given tensors).
 */
export function segmentNodes(model: Model, given: Set<string>, targets: string[]): GraphNode[] | null {
  const byKey = new Map(model.nodes.map((n) => [n.key, n]));
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
  return model.nodes.filter((n) => need.has(n.key));
}

/**
 * Runs the nodes between known tensors (`given`, by node key) and the outputs of `targets`
 * (layer names), freeing each intermediate after its last use. Returns the targets' outputs.
 * @example
 *   const out = runSegment(model, new Map([[nodeOf(model, 'flatten').key, feats]]), ['dense_1']);
 */
export function runSegment(model: Model, given: Map<string, Tensor>, targets: string[], o: SegmentOptions = {}): Map<string, Tensor> {
  const targetKeys = targets.map((t) => nodeOf(model, t).key);
  const nodes = segmentNodes(model, new Set(given.keys()), targetKeys);
  if (!nodes) {
    throw new ShapeError(
      `model '${model.name}': ${targets.join(', ')} cannot be computed from ${[...given.keys()].join(', ')} alone ` +
        '(another path leads around it to the input); choose a layer that every path passes through',
    );
  }
  const ctx = { training: !!o.training, random: o.random };
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
    return new Map(targets.map((t, i) => [t, values.get(targetKeys[i]!)!]));
  });
}

/** The key of the model's (single) input node. */
export function inputKey(model: Model): string {
  const ins = model.nodes.filter((n) => !n.inputs.length);
  if (ins.length !== 1) throw new ShapeError(`model '${model.name}' has ${ins.length} inputs; training runs single-input models`);
  return ins[0]!.key;
}

/**
 * A layer's output for a batch, running only the layers it depends on.
 * @example
 *   const feats = runUpTo(model, x, 'block5_pool');
 */
export function runUpTo(model: Model, x: Tensor, layer: string, o: SegmentOptions = {}): Tensor {
  return runSegment(model, new Map([[inputKey(model), x]]), [layer], o).get(layer)!;
}

/**
 * Continues a model from a layer's output (cached features) to the outputs of `targets`.
 * @example
 *   const logitsIn = runFrom(model, 'flatten', feats, ['dense']).get('dense')!;
 */
export function runFrom(model: Model, layer: string, activations: Tensor, targets: string[], o: SegmentOptions = {}): Map<string, Tensor> {
  return runSegment(model, new Map([[nodeOf(model, layer).key, activations]]), targets, o);
}
