// The fragility figures of Ghorbani, Abid and Zou, "Interpretation of Neural Networks is Fragile"
// (AAAI 2019, §3 "Metrics"): how much a map changes when the image is perturbed imperceptibly
// (L∞ ≤ ε) while the predicted class stays the same. Host-side and platform-neutral.
import { ShapeError } from '../../gpu/errors.ts';
import { rng } from '../../nn/model-init.ts';
import { checkMap, resizeMap, type MapLike } from './maps.ts';
import { spearman } from './stats.ts';

/** The three figures for one pair of maps (the original image's and a perturbed copy's). */
export interface FragilityFigures {
  /** |top-k(a) ∩ top-k(b)| / k: 1 when the k most important pixels are the same. */
  topK: number;
  /** Spearman's rank correlation of all pixels (NaN when one map is constant). */
  spearman: number;
  /** Euclidean distance between the maps' centres of mass, in pixels of the compared grid (NaN when one map sums to 0). */
  centreShift: number;
}

/**
 * Indices of the k largest values, ties broken by the lower index (so identical maps give identical sets).
 * @example
 *   topKIndices([0.1, 0.9, 0.5], 2);   // [1, 2]
 */
export function topKIndices(values: ArrayLike<number>, k: number): number[] {
  if (!Number.isInteger(k) || k < 1 || k > values.length) throw new RangeError(`topKIndices: k = ${k} must be an integer in 1…${values.length}`);
  const idx = Array.from({ length: values.length }, (_, i) => i);
  idx.sort((i, j) => values[j]! - values[i]! || i - j);
  return idx.slice(0, k);
}

/**
 * Ghorbani et al.'s top-k intersection: the fraction of the k most important pixels of `a` that
 * are also among the k most important of `b` (same-sized maps).
 * @example
 *   topKIntersection([3, 2, 1, 0], [0, 2, 1, 3], 2);   // 0.5 (pixel 1 shared)
 */
export function topKIntersection(a: ArrayLike<number>, b: ArrayLike<number>, k: number): number {
  if (a.length !== b.length) throw new ShapeError(`topKIntersection: maps of ${a.length} and ${b.length} values; compare maps of the same size`);
  const sa = new Set(topKIndices(a, k));
  let n = 0;
  for (const i of topKIndices(b, k)) if (sa.has(i)) n++;
  return n / k;
}

/**
 * The centre of mass (row, column) of a non-negative map: Σ m_ij·(i, j) / Σ m_ij, in grid pixels
 * (pixel (0, 0)'s centre is at 0). NaN for a map summing to 0. Negative values are clamped to 0
 * (a CAM after ReLU has none).
 * @example
 *   centreOfMass({ height: 1, width: 3, values: [0, 0, 1] });   // { y: 0, x: 2 }
 */
export function centreOfMass(map: MapLike): { y: number; x: number } {
  checkMap(map, 'centreOfMass');
  let s = 0, sy = 0, sx = 0;
  for (let y = 0; y < map.height; y++) {
    for (let x = 0; x < map.width; x++) {
      const v = Math.max(0, map.values[y * map.width + x]!);
      s += v;
      sy += v * y;
      sx += v * x;
    }
  }
  return s > 0 ? { y: sy / s, x: sx / s } : { y: NaN, x: NaN };
}

/**
 * The three figures for the map of an image (`a`) and of a perturbed copy (`b`), both resized
 * (bilinear, half-pixel centres) to `size` (default: the larger of the two grids). k defaults to
 * 10 % of the grid's pixels (Ghorbani et al. use k = 1000 of ImageNet's 224² ≈ 2 %; maps
 * up-sampled from a coarse layer have plateaus, so a larger share keeps k above a plateau's size).
 * @example
 *   fragilityFigures(camOfImage, camOfNoisyCopy, { size: [28, 28] });   // { topK: 0.8, spearman: 0.9, centreShift: 0.7 }
 */
export function fragilityFigures(a: MapLike, b: MapLike, opts: { size?: readonly [number, number]; k?: number } = {}): FragilityFigures {
  checkMap(a, 'fragilityFigures');
  checkMap(b, 'fragilityFigures');
  const [h, w] = opts.size ?? [Math.max(a.height, b.height), Math.max(a.width, b.width)];
  const ra = resizeMap(a, h, w), rb = resizeMap(b, h, w);
  const k = opts.k ?? Math.max(1, Math.round(0.1 * h * w));
  const ca = centreOfMass(ra), cb = centreOfMass(rb);
  return {
    topK: topKIntersection(ra.values, rb.values, k),
    spearman: spearman(ra.values, rb.values),
    centreShift: Math.hypot(ca.y - cb.y, ca.x - cb.x),
  };
}

/** Per-channel ε and valid range of a preprocessed input (what one 8-bit step and 0…255 map to). */
export interface InputBox {
  /** ε per channel in the model's input units (8/255 of the pixel range → 8·scale for 'unit', 8 for 'caffe', …). */
  eps: readonly number[];
  lo: readonly number[];
  hi: readonly number[];
}

/**
 * A random sign perturbation inside the L∞ ball (Ghorbani et al.'s baseline): every value of the
 * (H,W,C) image moves by +ε or −ε of its channel, with equal chance, then is clamped to the valid
 * range. Seeded: the same seed gives the same signs.
 * @example
 *   const noisy = randomSignPerturbation(x, 1, { eps: [8 / 255], lo: [0], hi: [1] }, 7);
 */
export function randomSignPerturbation(x: Float32Array, channels: number, box: InputBox, seed: number): Float32Array {
  if (x.length % channels) throw new ShapeError(`randomSignPerturbation: ${x.length} values are not a multiple of ${channels} channels`);
  const r = rng(seed);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % channels;
    out[i] = Math.min(box.hi[c]!, Math.max(box.lo[c]!, x[i]! + (r() < 0.5 ? -box.eps[c]! : box.eps[c]!)));
  }
  return out;
}

/**
 * One step of an iterative L∞ attack (projected signed gradient descent, Ghorbani et al.
 * Algorithm 1): x ← clip(x − step·sign(g)) onto the ball ‖x − x0‖∞ ≤ ε and the valid range.
 * Descends on g (pass the gradient of the quantity to decrease).
 * @example
 *   x = projectedSignStep(x, x0, dD, 1, box, 0.25);   // a step of ε/4 per channel
 */
export function projectedSignStep(x: Float32Array, x0: Float32Array, g: ArrayLike<number>, channels: number, box: InputBox, stepFraction: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const c = i % channels, e = box.eps[c]!;
    const v = x[i]! - stepFraction * e * Math.sign(g[i]!);
    out[i] = Math.min(box.hi[c]!, Math.max(box.lo[c]!, Math.min(x0[i]! + e, Math.max(x0[i]! - e, v))));
  }
  return out;
}

/**
 * Mean of the finite values (NaN when none): a copy whose map is constant has ρ = NaN and is left out.
 * @example
 *   finiteMean([1, NaN, 3]);   // 2
 */
export function finiteMean(v: readonly number[]): number {
  const f = v.filter(Number.isFinite);
  return f.length ? f.reduce((s, x) => s + x, 0) / f.length : NaN;
}
