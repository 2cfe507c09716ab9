// Causal metrics of a saliency map (Petsiuk et al., "RISE", BMVC 2018, §4.1): delete the pixels the
// map ranks highest (or insert them into a blurred canvas) step by step, score every step's image
// with batched forward passes on the GPU, and report the curve and its area.
import { ShapeError } from '../../gpu/errors.ts';
import type { Model } from '../../nn/model.ts';
import { Tensor, upload } from '../../tensor/tensor.ts';
import { gaussianBlur, type BlurOptions } from './blur.ts';
import { checkMap, resizeMap, type MapLike } from './maps.ts';

/** A preprocessed image (N = 1, NHWC): a tensor or host data with its shape. */
export type ImageInput = Tensor | { data: Float32Array; shape: readonly number[] };

export interface CurveOptions {
  /** Class whose score is tracked (default: the model's top-1 on the unperturbed image). */
  target?: number;
  /** Number of steps; step k has round(k·H·W/steps) pixels deleted or inserted (default 50). */
  steps?: number;
  /**
   * What replaces deleted pixels, or the insertion canvas: 'zeros' (deletion's default, RISE's
   * black image; in preprocessed units), 'mean' (each channel's mean over the image), 'blur'
   * (insertion's default: a Gaussian blur of the image, see `blur`) or a constant.
   */
  baseline?: 'zeros' | 'mean' | 'blur' | number;
  /** Blur for the 'blur' baseline (default σ = 5 px, 11 taps, RISE's settings). */
  blur?: BlurOptions;
  /** Images per forward pass (default 16). */
  batch?: number;
  /**
   * Softmax the model's outputs before reading the target (default false: the output is read as
   * is, a probability for a Keras classifier ending in softmax; set it for a logit head).
   */
  softmax?: boolean;
}

export interface Curve {
  kind: 'deletion' | 'insertion';
  target: number;
  /** Fraction of the pixels deleted or inserted at each step, 0 … 1 (steps + 1 entries). */
  fractions: Float64Array;
  /** The target's score at each step. */
  scores: Float64Array;
  /** Trapezoidal area under scores over fractions (in [0, 1] for probabilities). */
  auc: number;
}

/**
 * Σ (s_i + s_{i+1})/2 · (f_{i+1} − f_i): the area under a curve sampled at increasing f.
 * @example
 *   trapezoidAuc([0, 0.5, 1], [1, 0.5, 0]);   // 0.5
 */
export function trapezoidAuc(fractions: ArrayLike<number>, scores: ArrayLike<number>): number {
  let a = 0;
  for (let i = 0; i + 1 < fractions.length; i++) a += ((scores[i]! + scores[i + 1]!) / 2) * (fractions[i + 1]! - fractions[i]!);
  return a;
}

async function hostImage(x: ImageInput, what: string): Promise<{ data: Float32Array; h: number; w: number; c: number }> {
  const shape = x.shape;
  if (shape.length !== 4 || shape[0] !== 1) {
    throw new ShapeError(`${what}: image must be (1, H, W, C), got (${shape.join(', ')}); run the metric once per image`);
  }
  const data = x instanceof Tensor ? await x.data() : x.data;
  const [, h, w, c] = shape as [number, number, number, number];
  if (data.length !== h * w * c) throw new ShapeError(`${what}: image data holds ${data.length} values, shape (${shape.join(', ')}) needs ${h * w * c}`);
  return { data, h, w, c };
}

function baselineImage(img: { data: Float32Array; h: number; w: number; c: number }, b: CurveOptions['baseline'], blur?: BlurOptions): Float32Array {
  const { data, h, w, c } = img;
  if (b === 'blur') return gaussianBlur(data, h, w, c, blur);
  if (b === 'zeros') return new Float32Array(data.length);
  if (typeof b === 'number') return new Float32Array(data.length).fill(b);
  if (b === 'mean') {
    const mean = new Float64Array(c);
    for (let i = 0; i < data.length; i++) mean[i % c] = mean[i % c]! + data[i]!;
    const out = new Float32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = mean[i % c]! / (h * w);
    return out;
  }
  throw new RangeError(`deletion/insertion: unknown baseline '${String(b)}'; use 'zeros', 'mean', 'blur' or a number`);
}

/** Scores of `target` for a batch of images, read back from one forward pass. */
async function scoreBatch(model: Pick<Model, 'predict'>, images: Float32Array, n: number, h: number, w: number, c: number, target: number | undefined, softmax: boolean): Promise<{ scores: number[]; top: number }> {
  const x = upload(images.subarray(0, n * h * w * c), [n, h, w, c]);
  let y: Tensor | undefined;
  let out: Float32Array;
  try {
    y = model.predict(x);
    out = await y.data();
  } finally {
    x.dispose();
    y?.dispose();
  }
  const k = out.length / n;
  if (target !== undefined && !(Number.isInteger(target) && target >= 0 && target < k)) {
    throw new RangeError(`deletion/insertion: target ${target} is not a class index of the model's ${k} outputs`);
  }
  const scores: number[] = [];
  let top = 0;
  for (let b = 0; b < n; b++) {
    const row = out.subarray(b * k, (b + 1) * k);
    if (b === 0) for (let j = 1; j < k; j++) if (row[j]! > row[top]!) top = j;
    const t = target ?? top;
    if (!softmax) { scores.push(row[t]!); continue; }
    let m = -Infinity, s = 0;
    for (const v of row) m = Math.max(m, v);
    for (const v of row) s += Math.exp(v - m);
    scores.push(Math.exp(row[t]! - m) / s);
  }
  return { scores, top };
}

/**
 * Runs one causal curve: starting from `start`, the pixels ranked by `map` (highest first, ties in
 * row-major order) are copied from `end`, all channels at once. Deletion: start = image, end =
 * baseline; insertion: start = baseline canvas, end = image.
 */
async function runCurve(kind: Curve['kind'], model: Pick<Model, 'predict'>, x: ImageInput, map: MapLike, opts: CurveOptions): Promise<Curve> {
  const what = `${kind}Curve`;
  checkMap(map, what);
  const img = await hostImage(x, what);
  const { h, w, c } = img;
  const steps = opts.steps ?? 50, batch = opts.batch ?? 16, softmax = !!opts.softmax;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`${what}: steps ${steps} must be a positive integer`);
  if (!Number.isInteger(batch) || batch < 1) throw new RangeError(`${what}: batch ${batch} must be a positive integer`);
  const sal = resizeMap(map, h, w).values;
  const order = Array.from({ length: h * w }, (_, i) => i).sort((a, b) => sal[b]! - sal[a]! || a - b);
  const base = baselineImage(img, opts.baseline ?? (kind === 'deletion' ? 'zeros' : 'blur'), opts.blur);
  const [start, end] = kind === 'deletion' ? [img.data, base] : [base, img.data];
  let target = opts.target;
  if (target === undefined) target = (await scoreBatch(model, img.data, 1, h, w, c, undefined, softmax)).top;

  const P = h * w, size = P * c;
  const counts = Array.from({ length: steps + 1 }, (_, k) => Math.round((k * P) / steps));
  const scores = new Float64Array(steps + 1);
  const work = Float32Array.from(start);
  const buf = new Float32Array(Math.min(batch, steps + 1) * size);
  for (let k0 = 0; k0 <= steps; k0 += batch) {
    const n = Math.min(batch, steps + 1 - k0);
    for (let j = 0; j < n; j++) {
      const k = k0 + j;
      for (let r = k > 0 ? counts[k - 1]! : 0; r < counts[k]!; r++) {
        const p = order[r]! * c;
        for (let ch = 0; ch < c; ch++) work[p + ch] = end[p + ch]!;
      }
      buf.set(work, j * size);
    }
    const got = await scoreBatch(model, buf, n, h, w, c, target, softmax);
    got.scores.forEach((s, j) => (scores[k0 + j] = s));
  }
  const fractions = Float64Array.from(counts, (n) => n / P);
  return { kind, target, fractions, scores, auc: trapezoidAuc(fractions, scores) };
}

/**
 * The deletion curve (Petsiuk et al. 2018, §4.1): the target's score as the most important pixels
 * (by `map`, up-sampled bilinearly to the image if smaller) are replaced by a baseline, a fraction
 * 1/steps of the pixels per step. A lower area means the map found the pixels the model relies on.
 * @example
 *   const del = await deletionCurve(model, x, result.images[0].map, { steps: 50 });   // del.auc
 */
export function deletionCurve(model: Pick<Model, 'predict'>, x: ImageInput, map: MapLike, opts: CurveOptions = {}): Promise<Curve> {
  return runCurve('deletion', model, x, map, opts);
}

/**
 * The insertion curve (Petsiuk et al. 2018, §4.1): starting from a blurred copy of the image (by
 * default), the most important pixels are put back first. A higher area is better.
 * @example
 *   const ins = await insertionCurve(model, x, result.images[0].map);   // ins.auc
 */
export function insertionCurve(model: Pick<Model, 'predict'>, x: ImageInput, map: MapLike, opts: CurveOptions = {}): Promise<Curve> {
  return runCurve('insertion', model, x, map, opts);
}
