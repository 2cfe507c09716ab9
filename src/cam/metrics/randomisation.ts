// The model-parameter randomisation test (Adebayo et al., "Sanity Checks for Saliency Maps",
// NeurIPS 2018, §3.1): an explanation that survives re-initialising the weights it should depend
// on does not explain the model. Re-initialise layers from the output down, re-explain, compare.
import type { StoredLayer } from '../../nn/layers/layer.ts';
import type { Model } from '../../nn/model.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { checkMap, minMaxNormalise, resizeMap, type MapLike } from './maps.ts';
import { reinitLayerWeights } from './reinit.ts';
import { spearman, ssim, type SsimOptions } from './stats.ts';

/** Any explanation method: a map for one image (N = 1) under the model's current weights. */
export type Explainer = (model: Model, x: Tensor) => Promise<MapLike>;

export interface RandomisationOptions {
  /**
   * 'cascading' (default): layers are re-initialised one after another, cumulatively, from the
   * output down (§3.1 "cascading randomization"). 'independent': one layer at a time, the others
   * keeping their trained weights (§3.1 "independent randomization").
   */
  mode?: 'cascading' | 'independent';
  /** Layers to re-initialise, in order (default: every layer with weights, output first). */
  layers?: string[];
  /** Seed of the random weights; a layer gets the same weights in either mode (default 1). */
  seed?: number;
  /** Also re-initialise batch-norm moving statistics (default false: they are not learnt parameters). */
  nonTrainable?: boolean;
  /** SSIM window choice (see ssim). */
  ssim?: SsimOptions;
  /** Keep every randomised map in the result (default false). */
  keepMaps?: boolean;
}

export interface MapSimilarity {
  /** Spearman's rank correlation of the two maps (NaN when one is constant, e.g. all zeros). */
  spearman: number;
  /** SSIM of the maps scaled to [0, 1] by min and max (L = 1). */
  ssim: number;
}

export interface RandomisationStep extends MapSimilarity {
  /** The layer re-initialised at this step. */
  layer: string;
  /** Every layer holding random weights when the map was made (cascading: all so far). */
  randomised: string[];
  map?: MapLike;
}

export interface RandomisationResult {
  mode: 'cascading' | 'independent';
  original: MapLike;
  steps: RandomisationStep[];
  warnings: string[];
}

/**
 * Similarity of two maps as the sanity checks report it: both up-sampled (bilinear, half-pixel
 * centres) to the larger height and width of the two, scaled to [0, 1] by min and max, then
 * Spearman's ρ and SSIM (C1 = 0.01², C2 = 0.03², L = 1; window as `ssimOpts`, by default an
 * 11×11 Gaussian of σ 1.5 for maps of 11×11 or more, else a uniform 7×7 window or smaller).
 * @example
 *   const { spearman, ssim } = compareMaps(before, after);
 */
export function compareMaps(a: MapLike, b: MapLike, ssimOpts: SsimOptions = {}): MapSimilarity {
  checkMap(a, 'compareMaps');
  checkMap(b, 'compareMaps');
  const h = Math.max(a.height, b.height), w = Math.max(a.width, b.width);
  const va = minMaxNormalise(resizeMap(a, h, w).values), vb = minMaxNormalise(resizeMap(b, h, w).values);
  return {
    spearman: spearman(va, vb),
    ssim: ssim({ height: h, width: w, values: va }, { height: h, width: w, values: vb }, ssimOpts),
  };
}

/** The shape of the CAM API's cam(): one result per image (N = 1 here), each with its target and map. */
export type CamFunction<O> = (model: Model, x: Tensor, opts?: O) => Promise<{ images: { target: number; map: MapLike }[] }>;

/**
 * An Explainer from a cam()-like function that keeps the class fixed: the first call (the trained
 * model) resolves the options' target ('top1' or whatever they say) and later calls ask for that
 * class index, so randomised models are explained for the same class (Adebayo et al. §3 keep
 * the explained class fixed; a randomised model's top-1 is arbitrary).
 * @example
 *   const explain = fixedTargetExplainer(cam, { method: 'gradcam', layer: 'auto' });
 *   const r = await randomisationTest(model, x, { explain });
 */
export function fixedTargetExplainer<O extends { target?: unknown }>(camFn: CamFunction<O>, opts: NoInfer<O>): Explainer {
  let target: number | undefined;
  return async (model, x) => {
    const r = await camFn(model, x, target === undefined ? opts : { ...opts, target });
    const first = r.images[0];
    if (!first) throw new Error('fixedTargetExplainer: the CAM function returned no images; pass one image (N = 1)');
    target ??= first.target;
    return first.map;
  };
}

/** Layers with weights, output first (the model's layer list is topological). */
function layersTopDown(model: Model): string[] {
  const seen = new Set<string>();
  for (const e of model.weightList()) seen.add(e.layer.name);
  return model.layers.map((l) => l.name).filter((n) => seen.has(n)).reverse();
}

/**
 * Runs the model-parameter randomisation test for one image: explains it with the trained
 * weights, then re-initialises layers (each from its own Keras initialisers, see
 * reinitLayerWeights) from the output down, re-explaining after each step and comparing with
 * the original map (compareMaps). The original weights are restored afterwards, also when the
 * explainer throws. Keep the explainer's target fixed (a class index, not 'top1': the top class
 * of a randomised model is arbitrary); fixedTargetExplainer does so for cam().
 * A method that passes shows correlations falling towards 0 as layers are randomised; Guided
 * Backprop and Guided Grad-CAM famously keep high similarity (they fail the test).
 * @example
 *   const r = await randomisationTest(model, x, { explain: fixedTargetExplainer(cam, { method: 'gradcam' }) });
 *   r.steps.map((s) => [s.layer, s.spearman, s.ssim]);
 */
export async function randomisationTest(
  model: Model, x: Tensor, opts: RandomisationOptions & { explain: Explainer },
): Promise<RandomisationResult> {
  const mode = opts.mode ?? 'cascading';
  if (mode !== 'cascading' && mode !== 'independent') throw new RangeError(`randomisationTest: mode '${String(mode)}' is not 'cascading' or 'independent'`);
  const order = opts.layers ?? layersTopDown(model);
  const index = new Map(model.layers.map((l, i) => [l.name, i]));
  for (const n of order) model.getLayer(n); // a wrong name throws with the closest names
  const seed = opts.seed ?? 1;
  const warnings: string[] = [];
  // Host copies of exactly the weights this run changes, restored bit for bit at the end.
  const touched = new Set(order);
  const saved = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const e of model.weightList()) {
    if (touched.has(e.layer.name)) saved.set(e.name, { data: await (e.layer as StoredLayer).readWeight(e.weight), shape: e.shape });
  }
  const original = await opts.explain(model, x);
  checkMap(original, 'randomisationTest (original map)');
  const steps: RandomisationStep[] = [];
  try {
    const randomised: string[] = [];
    for (const layer of order) {
      if (mode === 'independent') {
        model.setWeights(saved, { allowMissing: true });
        randomised.length = 0;
      }
      const layerSeed = (seed * 1000003 + (index.get(layer) ?? 0) * 7919) >>> 0;
      const r = reinitLayerWeights(model, layer, layerSeed, { nonTrainable: opts.nonTrainable });
      warnings.push(...r.warnings);
      model.setWeights(r.values, { allowMissing: true });
      randomised.push(layer);
      const map = await opts.explain(model, x);
      checkMap(map, `randomisationTest (map after re-initialising '${layer}')`);
      steps.push({ layer, randomised: [...randomised], ...compareMaps(original, map, opts.ssim), ...(opts.keepMaps ? { map } : {}) });
    }
  } finally {
    model.setWeights(saved, { allowMissing: true });
  }
  return { mode, original, steps, warnings };
}
