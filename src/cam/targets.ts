// Which class each map explains (top-1, top-K, an index, a name through labels, one per image)
// and how the score is read from the model: the logit before a final softmax or sigmoid, as
// pytorch-grad-cam and keras-vis use, found by looking through the activation whether it is
// fused into the last Dense or a layer of its own.
import { ShapeError } from '../gpu/errors.ts';
import { Activation, Softmax } from '../nn/layers/core.ts';
import { Dense } from '../nn/layers/dense.ts';
import type { Model } from '../nn/model.ts';
import type { GraphNode } from '../nn/model-fold.ts';
import * as ops from '../nn/ops.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { CamTarget } from './types.ts';

/** Targets as the pipeline uses them: chosen on the device from the prediction, or fixed per image. */
export type TargetPlan = { kind: 'top'; k: number } | { kind: 'fixed'; classes: number[]; perImage: number };

/**
 * Checks a target option against the batch and the class count and turns it into a plan.
 * @example
 *   planTargets('cat', 2, 1000, labels);   // { kind: 'fixed', classes: [281, 281] }
 */
export function planTargets(target: CamTarget | undefined, n: number, classes: number, labels?: string[]): TargetPlan {
  const t = target ?? 'top1';
  const checkIndex = (i: number, what: string) => {
    if (!Number.isInteger(i) || i < 0 || i >= classes) throw new ShapeError(`target ${what} ${i} is not a class index of this model (0…${classes - 1})`);
    return i;
  };
  if (t === 'top1') return { kind: 'top', k: 1 };
  if (typeof t === 'number') return { kind: 'fixed', classes: new Array<number>(n).fill(checkIndex(t, 'index')), perImage: 1 };
  if (Array.isArray(t)) {
    if (t.length !== n) throw new ShapeError(`target: ${t.length} class indices given for a batch of ${n} images; give one per image`);
    return { kind: 'fixed', classes: t.map((i, k) => checkIndex(i, `of image ${k}:`)), perImage: 1 };
  }
  if (typeof t === 'string') {
    const m = /^top(\d+)$/.exec(t);
    if (m) return planTargets({ topK: Number(m[1]) }, n, classes, labels);
    if (!labels) throw new Error(`target '${t}' is a class name but no labels were given; pass labels (CLI: --labels FILE) or a class index`);
    let i = labels.indexOf(t);
    if (i < 0) i = labels.findIndex((l) => l.toLowerCase() === t.toLowerCase());
    if (i < 0) {
      const close = labels.filter((l) => l.toLowerCase().includes(t.toLowerCase())).slice(0, 5);
      throw new Error(`target '${t}' is not among the ${labels.length} labels${close.length ? `; did you mean ${close.map((c) => `'${c}'`).join(', ')}?` : ''}`);
    }
    return { kind: 'fixed', classes: new Array<number>(n).fill(checkIndex(i, 'index')), perImage: 1 };
  }
  const k = t.topK;
  if (!Number.isInteger(k) || k < 1 || k > classes) throw new ShapeError(`target { topK: ${k} }: K must be an integer in 1…${classes}`);
  return { kind: 'top', k };
}

/** Maps per image for a plan (top-K gives K). */
export const rowsPerImage = (p: TargetPlan) => (p.kind === 'top' ? p.k : p.perImage);

/** How to get logits and probabilities from a run of the model. */
export interface Head {
  /** A layer to tap whose output feeds the final softmax (null: the output is used as is). */
  tap: string | null;
  describe: string;
  logits(output: Tensor, taps: Map<string, Tensor>): Tensor;
  probs(output: Tensor, logits: Tensor): Tensor;
}

/** The node producing the model's output: the last node no other node consumes. */
function outputNode(model: Model): GraphNode {
  const used = new Set(model.nodes.flatMap((n) => n.inputs));
  const ends = model.nodes.filter((n) => !used.has(n.key));
  return ends[ends.length - 1]!;
}

/** Σ_i x[:, K_i]·W_i + b, the Dense layer's pre-activation (its kernel may be held in row chunks). */
function denseLinear(x: Tensor, layer: Dense): Tensor {
  const parts = layer.weightParts('kernel');
  const bias = layer.useBias ? layer.weight('bias') : undefined;
  if (parts.length === 1) return ops.dense(x, parts[0]!, bias, 'linear');
  const k = x.shape[x.rank - 1]!;
  const x2 = ops.reshape(x, [x.size / k, k]);
  let y: Tensor | null = null;
  let k0 = 0;
  for (const [i, w] of parts.entries()) {
    const yi = ops.matmul(ops.slice(x2, [0, k0], [-1, w.shape[0]!]), w, i === 0 && bias ? { bias } : {});
    y = y ? ops.add(y, yi) : yi;
    k0 += w.shape[0]!;
  }
  return ops.reshape(y!, [...x.shape.slice(0, -1), layer.units]);
}

/**
 * The model's score head: the class score a CAM explains is the pre-activation logit z.
 * A final Dense with softmax or sigmoid: z recomputed from the Dense's input without the
 * activation (one small matmul); a final Softmax layer or Activation('softmax' | 'sigmoid'): its
 * input. The probabilities reported in topk are the model's own output. A sigmoid head is
 * multi-label: each class's z is explained on its own (top-K gives the K most probable labels,
 * each with its own map), and z rather than σ(z) keeps σ's saturation (σ'(z) → 0) from rescaling
 * Grad-CAM++'s α and flattening Score-CAM's channel softmax. Any other output is taken as the
 * logits (probabilities then by a softmax).
 * @example
 *   const head = scoreHead(model);   // vgg19: logits from 'fc2' through 'predictions' kernel
 */
export function scoreHead(model: Model): Head {
  const out = outputNode(model);
  const l = out.layer;
  const act = l instanceof Dense || l instanceof Activation ? l.activation : l instanceof Softmax ? 'softmax' : null;
  const src = out.inputs.length === 1 ? model.nodes.find((n) => n.key === out.inputs[0]) : undefined;
  if (out.outputShape.length !== 2) {
    throw new ShapeError(`model '${model.name}' outputs (${out.outputShape.map((d) => d ?? 'None').join(', ')}); a CAM needs class scores (N, classes)`);
  }
  if ((act === 'softmax' || act === 'sigmoid') && src && src.index === 0) {
    const tap = src.layer.name;
    const dense = l instanceof Dense ? l : null;
    return {
      tap,
      describe: dense ? `logits of '${l.name}' before its ${act}` : `input of '${l.name}' (${act})`,
      logits: (_o, taps) => (dense ? denseLinear(taps.get(tap)!, dense) : taps.get(tap)!),
      probs: (o) => o,
    };
  }
  return {
    tap: null,
    describe: 'output (taken as logits)',
    logits: (o) => o,
    probs: (o) => ops.softmax(o),
  };
}
