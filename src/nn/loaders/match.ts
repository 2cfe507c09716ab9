// Pairs the weights a file holds with the weights a model needs: by canonical name for
// model.json manifests, by layer name (or position, as Keras's load_weights does) for .h5 files.
// Shapes are checked later by Model.setWeights.
import { ModelLoadError } from './errors.ts';
import type { H5Contents, H5Layer } from './h5.ts';
import type { HostWeight } from './tfjs-format.ts';

/** What the matcher needs from Model.weightList(). */
export interface WeightRef {
  name: string;
  layer: { name: string; className?: string };
  weight: string;
  shape: number[];
}

/**
 * Maps a manifest's weights onto the model's canonical names (`layer/weight`); names written
 * with a ':0' suffix or under an outer model's prefix ('model/dense/kernel') are accepted.
 * @example
 *   model.setWeights(matchManifest(model.weightList(), decoded, 'model.json'));
 */
export function matchManifest(refs: WeightRef[], decoded: Map<string, HostWeight>, where: string): Map<string, HostWeight> {
  const norm = (n: string) => n.replace(/:\d+$/, '');
  const exact = new Map<string, string>();
  const byTail = new Map<string, string[]>();
  for (const k of decoded.keys()) {
    exact.set(norm(k), k);
    const tail = norm(k).split('/').slice(-2).join('/');
    byTail.set(tail, [...(byTail.get(tail) ?? []), k]);
  }
  const out = new Map<string, HostWeight>();
  const used = new Set<string>();
  const missing: string[] = [];
  for (const r of refs) {
    const tail = byTail.get(r.name);
    const key = exact.get(r.name) ?? (tail?.length === 1 ? tail[0] : undefined);
    if (key === undefined || used.has(key)) {
      missing.push(r.name);
      continue;
    }
    used.add(key);
    out.set(r.name, decoded.get(key)!);
  }
  const extra = [...decoded.keys()].filter((k) => !used.has(k));
  if (missing.length || extra.length) {
    throw new ModelLoadError(
      `${where} does not fit the model it describes: ` +
        (missing.length ? `no weights for ${list(missing)}` : '') +
        (missing.length && extra.length ? '; ' : '') +
        (extra.length ? `weights no layer takes: ${list(extra)}` : '') +
        '. The manifest and the topology must come from the same save; re-convert the model',
    );
  }
  return out;
}

/**
 * Maps an .h5 file's weights onto the model's canonical names. `match: 'name'` pairs layers by
 * name (keras `load_weights(by_name=True)`), `'order'` by position among layers with weights
 * (keras `load_weights` default). Within a layer, weights pair by name when the names agree,
 * else by order (old files name them 'block1_conv1_W_1:0'). `renames` maps a file layer name to the
 * model's where the two differ for the same layer (a file from keras-applications calls ResNet's
 * classifier 'probs', tf.keras's builder 'predictions'); names not in the file are ignored.
 * @example
 *   model.setWeights(matchH5(model.weightList(), await readH5(bytes, 'w.h5'), 'w.h5'));
 */
export function matchH5(
  refs: WeightRef[], file: H5Contents, where: string, match: 'name' | 'order' = 'name', renames: Record<string, string> = {},
): Map<string, HostWeight> {
  const modelLayers = groupByLayer(refs);
  const fileLayers = new Map(file.layers.map((l) => [renames[l.name] ?? l.name, l]));
  for (const [from, to] of Object.entries(renames)) {
    if (file.layers.some((l) => l.name === from) && file.layers.some((l) => l.name === to)) {
      throw new ModelLoadError(`${where}: cannot rename layer '${from}' to '${to}': the file has a layer of each name`);
    }
  }
  const withWeights = file.layers.filter((l) => l.weights.length > 0);
  if (match === 'order' && withWeights.length !== modelLayers.length) {
    throw new ModelLoadError(
      `${where} has ${withWeights.length} layers with weights but the model has ${modelLayers.length}; ` +
        "matching by order needs the same architecture (try { match: 'name' })",
    );
  }
  const out = new Map<string, HostWeight>();
  modelLayers.forEach(([layer, wanted], i) => {
    const fl = match === 'order' ? withWeights[i]! : fileLayers.get(layer.name);
    if (!fl || fl.weights.length === 0) {
      const have = withWeights.map((l) => l.name);
      const close = have.filter((n) => similar(n, layer.name)).slice(0, 5);
      throw new ModelLoadError(
        `${where} has no weights for layer '${layer.name}'${layer.className ? ` (${layer.className})` : ''}, which the model needs; ` +
          `the file has ${have.length} layers with weights${close.length ? ` (close: ${close.join(', ')})` : have.length ? ` (${list(have)})` : ''}. ` +
          'Check that the file is for this architecture (includeTop, classes)' +
          (match === 'name' && have.length === modelLayers.length ? ", or match layers by position with { match: 'order' }" : ''),
      );
    }
    pairLayer(fl, layer.name, wanted, where, out);
  });
  return out;
}

function pairLayer(fl: H5Layer, layer: string, wanted: WeightRef[], where: string, out: Map<string, HostWeight>): void {
  if (fl.weights.length !== wanted.length) {
    throw new ModelLoadError(
      `${where}: layer '${fl.name}' holds ${fl.weights.length} weights (${fl.weights.map((w) => w.short).join(', ')}) ` +
        `but the model's layer '${layer}' needs ${wanted.length} (${wanted.map((w) => w.weight).join(', ')}); ` +
        'the layer configs differ (use_bias, center/scale of batch norm?)',
    );
  }
  const byShort = new Map(fl.weights.map((w) => [w.short, w]));
  const byName = wanted.every((w) => byShort.has(w.weight)) && byShort.size === wanted.length;
  wanted.forEach((w, i) => {
    const src = byName ? byShort.get(w.weight)! : fl.weights[i]!;
    out.set(w.name, { data: src.data, shape: src.shape });
  });
}

function groupByLayer(refs: WeightRef[]): [WeightRef['layer'], WeightRef[]][] {
  const m = new Map<string, [WeightRef['layer'], WeightRef[]]>();
  for (const r of refs) {
    const e = m.get(r.layer.name) ?? [r.layer, []];
    e[1].push(r);
    m.set(r.layer.name, e);
  }
  return [...m.values()];
}

function list(names: string[]): string {
  return names.length > 8 ? `${names.slice(0, 8).join(', ')} … (${names.length} in all)` : names.join(', ');
}

/** Same prefix before a digit/underscore tail, or a short edit distance: 'conv2d_1' vs 'conv2d'. */
function similar(a: string, b: string): boolean {
  const stem = (s: string) => s.replace(/[_\d]+$/, '');
  if (stem(a) === stem(b)) return true;
  return editDistance(a, b) <= Math.max(2, Math.floor(b.length / 4));
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}
