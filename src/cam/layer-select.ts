// Which layer a CAM reads: the 'auto' rule (the penultimate-layer rule of keras-vis, made
// precise), names, indices and lists, each checked to have a 4-D output, and the shape reported
// with every result.
import { ShapeError } from '../gpu/errors.ts';
import type { Model } from '../nn/model.ts';
import type { GraphNode } from '../nn/model-fold.ts';
import type { CamLayerInfo } from './types.ts';

const spatial = (n: GraphNode) => (n.outputShape[1] ?? Infinity) * (n.outputShape[2] ?? Infinity);
const is4d = (n: GraphNode) => n.outputShape.length === 4 && n.layer.className !== 'InputLayer';

/**
 * True when every path from the inputs to the output passes through `cut`: the whole decision
 * flows through its activations (a layer inside one branch of an Inception block does not).
 */
function dominatesOutput(model: Model, cut: GraphNode): boolean {
  const consumers = new Map<string, GraphNode[]>();
  for (const n of model.nodes) for (const k of n.inputs) consumers.set(k, [...(consumers.get(k) ?? []), n]);
  const used = new Set(model.nodes.flatMap((n) => n.inputs));
  const outputs = new Set(model.nodes.filter((n) => !used.has(n.key)).map((n) => n.key));
  const seen = new Set<string>();
  const stack = model.nodes.filter((n) => n.inputs.length === 0 && n !== cut);
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n.key)) continue;
    seen.add(n.key);
    if (outputs.has(n.key)) return false;
    for (const c of consumers.get(n.key) ?? []) if (c !== cut) stack.push(c);
  }
  return true;
}

/** The 'auto' layer and what the caller should know about the choice. */
export interface LayerChoice {
  name: string;
  warnings: string[];
}

/**
 * The 'auto' layer: the last layer, in topological order, whose output is 4-D (N,H,W,C) with
 * more than one spatial position and through which every path to the output passes. That is
 * the nearest layer before the classifier head that keeps spatial extent: a convolution, pooling,
 * merge or activation (keras-vis's "penultimate layer", extended to merges so that Inception's
 * concatenations and ResNet's additions count, and never a layer inside one branch of a block).
 * VGG-19 at 224×224 gives block5_pool (7×7), InceptionV3 at 299×299 gives mixed10 (8×8); at their
 * smallest inputs, where those are 1×1, VGG-19 (32×32) gives block5_conv4 (2×2) and InceptionV3
 * (75×75) mixed7 (3×3). A layer without spatial extent (1×1) is never chosen: a map of one
 * position says nothing about where. Warns (with the layer and why) when
 * - the model has several inputs: no single layer may carry all of them; the choice is the last
 *   spatial layer every path passes through, or failing that the last spatial layer, whose map
 *   shows only what flows through it;
 * - the head is multi-scale: layers with spatial extent after the choice reach the output through
 *   separate branches (pooled and merged after losing their extent), so their evidence is seen
 *   only through the earlier, shallower layer chosen; several layers can be averaged instead.
 * @example
 *   autoLayerChoice(vgg19());   // { name: 'block5_pool', warnings: [] }
 */
export function autoLayerChoice(model: Model): LayerChoice {
  const cands = model.nodes.filter(is4d);
  const wide = cands.filter((n) => spatial(n) > 1);
  if (!wide.length) {
    const sizes = cands.length ? `; its 4-D layers are all 1×1 (${cands.slice(-4).map((n) => n.layer.name).join(', ')}): give a larger input` : '';
    throw new ShapeError(
      `model '${model.name}' has no layer with a 4-D (N,H,W,C) output of more than one position${sizes}; a CAM needs a convolutional layer with spatial extent (saliency works on any model: method 'saliency')`,
    );
  }
  const warnings: string[] = [];
  const inputs = model.nodes.filter((n) => n.inputs.length === 0);
  let pick: GraphNode | undefined;
  for (let i = wide.length - 1; i >= 0 && !pick; i--) if (dominatesOutput(model, wide[i]!)) pick = wide[i];
  const shape = (n: GraphNode) => `${n.outputShape[1]}×${n.outputShape[2]}×${n.outputShape[3]}`;
  if (inputs.length > 1) {
    if (!pick) {
      pick = wide[wide.length - 1]!;
      warnings.push(`layer 'auto': model '${model.name}' has ${inputs.length} inputs and no layer with spatial extent carries all of them; chose '${pick.layer.name}' (${shape(pick)}), the last layer with spatial extent: its map shows only the evidence that flows through it; pass layer to choose another`);
    } else {
      warnings.push(`layer 'auto': model '${model.name}' has ${inputs.length} inputs; chose '${pick.layer.name}' (${shape(pick)}), the last layer with spatial extent that every path to the output passes through`);
    }
  }
  if (!pick) pick = wide[wide.length - 1]!;
  // A multi-scale head: two or more layers with spatial extent leave the 4-D part of the graph
  // (pooled or flattened into the head) separately, so no one spatial layer carries all of them.
  const consumers = (n: GraphNode) => model.nodes.filter((c) => c.inputs.includes(n.key));
  const exits = wide.filter((n) => consumers(n).some((c) => c.outputShape.length !== 4));
  if (exits.length > 1) {
    const names = exits.slice(-4).map((n) => `'${n.layer.name}' (${shape(n)})`).join(', ');
    warnings.push(`layer 'auto': the head is multi-scale: ${exits.length} layers with spatial extent (${names}) are pooled into it separately; chose '${pick.layer.name}' (${shape(pick)}), the last spatial layer every path to the output passes through, so their evidence is seen only through it; pass layer: [names] to average several`);
  }
  return { name: pick.layer.name, warnings };
}

/** The 'auto' layer's name (autoLayerChoice without the warnings). */
export function autoLayer(model: Model): string {
  return autoLayerChoice(model).name;
}

/** Names of the layers a CAM can read (4-D outputs), for error messages. */
export function camCandidates(model: Model): string[] {
  return model.nodes.filter(is4d).map((n) => n.layer.name);
}

/**
 * Resolves the `layer` option to layer names: 'auto', a name, an index into model.layers
 * (negative counts from the end, as Python), or a list of names. Every layer must have a 4-D
 * output; the errors name the candidates. What 'auto' warns about is appended to `warnings`.
 * @example
 *   resolveLayers(model, 'auto');   // ['mixed10']
 */
export function resolveLayers(model: Model, spec: 'auto' | string | number | string[] = 'auto', warnings: string[] = []): string[] {
  const list = Array.isArray(spec) ? spec : [spec];
  if (!list.length) throw new Error("layer: an empty list; give 'auto', a layer name or index, or several names");
  const names = list.map((s) => {
    if (s === 'auto') {
      const c = autoLayerChoice(model);
      warnings.push(...c.warnings);
      return c.name;
    }
    if (typeof s === 'number') {
      const i = s < 0 ? model.layers.length + s : s;
      const l = Number.isInteger(s) ? model.layers[i] : undefined;
      if (!l) throw new Error(`layer index ${s} is out of range: model '${model.name}' has ${model.layers.length} layers (0…${model.layers.length - 1}, or negative from the end)`);
      return l.name;
    }
    let node: GraphNode | undefined;
    try {
      const l = model.getLayer(s);
      node = model.nodes.find((n) => n.layer === l);
    } catch (e) {
      const c = camCandidates(model);
      throw new Error(`${(e as Error).message}; layers with a 4-D output a CAM can use: ${c.slice(-8).join(', ')}`);
    }
    return node!.layer.name;
  });
  for (const n of names) layerInfo(model, n);
  return [...new Set(names)];
}

/** The 'auto' layer's name for an error message, or 'none'. */
function autoOrNone(model: Model): string {
  try {
    return autoLayer(model);
  } catch {
    return 'none';
  }
}

/** A layer's name and output size; throws unless the output is 4-D. */
export function layerInfo(model: Model, name: string): CamLayerInfo {
  const s = model.layerOutputShape(name);
  if (s.length !== 4) {
    const c = camCandidates(model);
    throw new ShapeError(
      `layer '${name}' has output (${s.map((d) => d ?? 'None').join(', ')}); a CAM needs a 4-D (N,H,W,C) output, such as ${c.slice(-4).join(', ')} ('auto' picks ${autoOrNone(model)})`,
    );
  }
  return { name, height: s[1] ?? 0, width: s[2] ?? 0, channels: s[3] ?? 0 };
}

/** The model's input layer name (the 'layer' that saliency maps live on). */
export function inputLayerName(model: Model): string {
  const n = model.nodes.find((nd) => nd.inputs.length === 0);
  return n?.layer.name ?? 'input';
}
