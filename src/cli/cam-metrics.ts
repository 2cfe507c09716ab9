// `camlight cam --metrics`: per image and method, the deletion/insertion AUCs, the cascading
// model-randomisation figure and the fragility figures (random ±ε copies and, where the tape can
// differentiate the map, the iterative attack), in the shape cams.json stores them.
import { cam } from '../cam/base.ts';
import { prepareImage, type PreprocessName } from '../cam/prepare.ts';
import { scoreHead } from '../cam/targets.ts';
import type { CamMap, CamMethodName } from '../cam/types.ts';
import { deletionCurve, insertionCurve } from '../cam/metrics/deletion-insertion.ts';
import { ATTACKABLE_METHODS, gradCamTopKAttack } from '../cam/metrics/fragility-attack.ts';
import { finiteMean, fragilityFigures, randomSignPerturbation, type FragilityFigures, type InputBox } from '../cam/metrics/fragility.ts';
import { fixedTargetExplainer, randomisationTest } from '../cam/metrics/randomisation.ts';
import type { Model } from '../nn/model.ts';
import type { EntryMetrics, FragilitySummary } from '../report/gallery.ts';
import { upload } from '../tensor/tensor.ts';

export interface MetricsSettings {
  /** Random ±ε copies that keep the predicted class (default 8); up to 4× as many are tried. */
  copies: number;
  /** ε in 8-bit pixel steps (default 8, i.e. 8/255 of the range). */
  epsSteps: number;
  /** Attack steps (default 10), each of ε/4. */
  attackSteps: number;
}

export const DEFAULT_METRICS: MetricsSettings = { copies: 8, epsSteps: 8, attackSteps: 10 };

/**
 * ε and the valid range per channel in the model's input units: what the preset makes of the
 * pixel values 0, epsSteps and 255 (every preset is affine per channel, so this is exact).
 * @example
 *   inputBox('unit', 1, 8);   // { eps: [8/255], lo: [0], hi: [1] }
 */
export function inputBox(preprocess: PreprocessName, channels: 1 | 3, epsSteps: number): InputBox {
  const at = (v: number) => prepareImage({ width: 1, height: 1, data: new Uint8ClampedArray([v, v, v, 255]) }, { size: [1, 1], channels, preprocess });
  const lo = at(0), hi = at(255), e = at(epsSteps);
  return { eps: Array.from(e, (v, c) => v - lo[c]!), lo: Array.from(lo), hi: Array.from(hi) };
}

function summarise(figs: FragilityFigures[], tried: number): FragilitySummary {
  const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);
  return {
    n: figs.length,
    tried,
    topK: round(finiteMean(figs.map((f) => f.topK))),
    spearman: round(finiteMean(figs.map((f) => f.spearman))),
    centreShift: round(finiteMean(figs.map((f) => f.centreShift))),
  };
}

/** Why the attack does not run for a method (see ATTACKABLE_METHODS; the page's legend says more). */
function attackSkipped(method: string): string {
  return `${method}: its map is not differentiable through the tape`;
}

export interface MetricsJob {
  model: Model;
  method: CamMethodName;
  /** The --layer option as given (cam() resolves it), and the single layer name cam() reported. */
  layerOption: string;
  layerName: string;
  /** One preprocessed image (H,W,C) and its shape. */
  x: Float32Array;
  hwc: [number, number, number];
  /** The explained class and the model's top-1 class for the image. */
  target: number;
  predicted: number;
  /** The map cam() made for (image, target). */
  map: CamMap;
  box: InputBox;
  settings: MetricsSettings;
  /** Seed of the random copies (per image, so reruns agree). */
  seed: number;
}

/**
 * Every --metrics figure of one (image, method). Perturbed copies whose top-1 class differs from
 * the original's are discarded, as Ghorbani et al. keep only perturbations that keep the label.
 * @example
 *   const m = await imageMetrics({ model, method: 'gradcam', layerOption: 'auto', layerName: 'conv3', x, hwc: [28, 28, 1], target: 1, predicted: 1, map, box, settings: DEFAULT_METRICS, seed: 1 });
 */
export async function imageMetrics(j: MetricsJob): Promise<EntryMetrics> {
  const [H, W, C] = j.hwc;
  const shape = [1, H, W, C];
  const image = { data: j.x, shape };
  const softmax = scoreHead(j.model).tap === null; // a model without a final softmax outputs logits
  const del = await deletionCurve(j.model, image, j.map, { target: j.target, softmax });
  const ins = await insertionCurve(j.model, image, j.map, { target: j.target, softmax });
  const camOpts = { method: j.method, layer: j.layerOption, upsample: false } as const;
  const xt = upload(j.x, shape);
  let randomisation: EntryMetrics['randomisation'] = null;
  try {
    const r = await randomisationTest(j.model, xt, { explain: fixedTargetExplainer(cam, { ...camOpts, target: j.target }) });
    const last = r.steps[r.steps.length - 1];
    const num = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e4) / 1e4 : null);
    randomisation = last ? { spearman: num(last.spearman), ssim: num(last.ssim), layers: last.randomised } : null;
  } finally {
    xt.dispose();
  }

  // Random sign copies, N per pass; copies that change the top-1 class are dropped.
  const figs: FragilityFigures[] = [];
  const want = j.settings.copies;
  let tried = 0;
  for (let pass = 0; figs.length < want && tried < 4 * want; pass++) {
    const n = want - figs.length;
    const batch = new Float32Array(n * j.x.length);
    for (let i = 0; i < n; i++) batch.set(randomSignPerturbation(j.x, C, j.box, j.seed * 7919 + tried + i), i * j.x.length);
    tried += n;
    const xb = upload(batch, [n, H, W, C]);
    try {
      const r = await cam(j.model, xb, { ...camOpts, target: new Array<number>(n).fill(j.target), topk: 1 });
      for (const res of r.images) if (res.topk[0]!.index === j.predicted) figs.push(fragilityFigures(j.map, res.map, { size: [H, W] }));
    } finally {
      xb.dispose();
    }
  }
  let attack: FragilitySummary | { skipped: string };
  if (!ATTACKABLE_METHODS.includes(j.method)) attack = { skipped: attackSkipped(j.method) };
  else if (j.layerName.includes('+')) attack = { skipped: 'the map averages several layers; give one --layer' };
  else if (j.target !== j.predicted) attack = { skipped: 'the explained class is not the predicted one (the attack keeps the prediction)' };
  else {
    const a = await gradCamTopKAttack(j.model, j.x, j.hwc, { layer: j.layerName, target: j.target, box: j.box, steps: j.settings.attackSteps });
    const xa = upload(a.x, shape);
    try {
      const r = await cam(j.model, xa, { ...camOpts, target: j.target, topk: 1 });
      attack = summarise([fragilityFigures(j.map, r.images[0]!.map, { size: [H, W] })], j.settings.attackSteps);
      attack.n = a.steps;
    } finally {
      xa.dispose();
    }
  }
  const auc = (v: number) => (Number.isFinite(v) ? Math.round(v * 1e5) / 1e5 : null);
  return { deletionAuc: auc(del.auc), insertionAuc: auc(ins.auc), randomisation, fragility: { random: figs.length ? summarise(figs, tried) : null, attack } };
}
