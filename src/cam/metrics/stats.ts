// Similarity of two maps, as the sanity checks report it (Adebayo et al. 2018): Spearman's rank
// correlation and SSIM (Wang et al. 2004), on the host in float64 (maps are small).
import { ShapeError } from '../../gpu/errors.ts';
import { checkMap, type MapLike } from './maps.ts';

/**
 * Ranks from 1 to n, ties given the average of the ranks they span (scipy.stats.rankdata's
 * 'average' method, which Spearman's coefficient with ties needs).
 * @example
 *   rank([10, 20, 20, 5]);   // [2, 3.5, 3.5, 1]
 */
export function rank(values: ArrayLike<number>): Float64Array {
  const n = values.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => values[i]! - values[j]!);
  const out = new Float64Array(n);
  for (let s = 0; s < n; ) {
    let e = s + 1;
    while (e < n && values[order[e]!] === values[order[s]!]) e++;
    const r = (s + 1 + e) / 2; // mean of ranks s+1 … e
    for (let k = s; k < e; k++) out[order[k]!] = r;
    s = e;
  }
  return out;
}

/**
 * Pearson's correlation coefficient; NaN when either input is constant (as scipy and NumPy give).
 * @example
 *   pearson([1, 2, 3], [2, 4, 7]);
 */
export function pearson(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ShapeError(`pearson: inputs hold ${a.length} and ${b.length} values; pass equal lengths`);
  const n = a.length;
  if (n === 0) return NaN;
  let ma = 0, mb = 0;
  for (let i = 0; i < n; i++) { ma += a[i]!; mb += b[i]!; }
  ma /= n; mb /= n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma, db = b[i]! - mb;
    sab += da * db; saa += da * da; sbb += db * db;
  }
  if (saa === 0 || sbb === 0) return NaN;
  return Math.max(-1, Math.min(1, sab / Math.sqrt(saa * sbb)));
}

/**
 * Spearman's rank correlation ρ: Pearson's coefficient of the average ranks (so ties are handled
 * as scipy.stats.spearmanr does). NaN when either input is constant, e.g. an all-zero CAM.
 * @example
 *   spearman(camBefore.values, camAfter.values);   // 1 for maps ordering pixels alike
 */
export function spearman(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new ShapeError(`spearman: inputs hold ${a.length} and ${b.length} values; resize the maps to a common size first`);
  return pearson(rank(a), rank(b));
}

export interface SsimOptions {
  /** Dynamic range L of the values (default 1: maps in [0, 1]); C1 = (0.01·L)², C2 = (0.03·L)². */
  dataRange?: number;
  /**
   * 'gaussian': 11×11 window, σ = 1.5 (Wang et al. 2004, §III-C); 'uniform': a k×k box window
   * (k = `size`, default 7, scikit-image's default size). 'auto' (default): gaussian when both
   * sides are at least 11, else a uniform window of min(7, height, width): CAM maps are often
   * 7×7 or 8×8, too small for the Gaussian window.
   */
  window?: 'auto' | 'gaussian' | 'uniform';
  /** Side of the uniform window (default 7, clipped to the map). */
  size?: number;
}

/** The 1-D window weights (summing to 1) that the 2-D window is the outer product of. */
function window1d(h: number, w: number, o: SsimOptions): Float64Array {
  const kind = o.window ?? 'auto';
  const gaussian = kind === 'gaussian' || (kind === 'auto' && h >= 11 && w >= 11);
  if (gaussian) {
    if (h < 11 || w < 11) throw new ShapeError(`ssim: the 11×11 Gaussian window needs maps of at least 11×11, got ${h}×${w}; use window 'uniform' or 'auto'`);
    const g = new Float64Array(11);
    let s = 0;
    for (let i = 0; i < 11; i++) s += g[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
    return g.map((v) => v / s);
  }
  const k = Math.min(o.size ?? 7, h, w);
  if (!Number.isInteger(k) || k < 1) throw new ShapeError(`ssim: window size ${o.size} is not a positive integer`);
  return new Float64Array(k).fill(1 / k);
}

/** Valid-mode separable filtering of a (h,w) image by g⊗g: ((h−k+1),(w−k+1)). */
function filterValid(x: Float64Array, h: number, w: number, g: Float64Array): Float64Array {
  const k = g.length, oh = h - k + 1, ow = w - k + 1;
  const rows = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += g[j]! * x[y * w + xo + j]!;
      rows[y * ow + xo] = s;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let yo = 0; yo < oh; yo++) {
    for (let xo = 0; xo < ow; xo++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += g[i]! * rows[(yo + i) * ow + xo]!;
      out[yo * ow + xo] = s;
    }
  }
  return out;
}

/**
 * Mean structural similarity of two equal-size maps (Wang et al. 2004, eq. 13, with the local
 * statistics of §III-C): for every window position fully inside the maps (no padding, as the
 * paper's reference code's 'valid' filtering), SSIM = (2μaμb + C1)(2σab + C2) / ((μa² + μb² + C1)(σa² + σb² + C2))
 * with window-weighted means, variances and covariance (weights summing to 1), then averaged.
 * 1 for identical maps. Pass maps scaled to [0, dataRange].
 * @example
 *   ssim(original, randomised);   // 11×11 Gaussian window on maps of 11×11 and larger
 */
export function ssim(a: MapLike, b: MapLike, opts: SsimOptions = {}): number {
  checkMap(a, 'ssim');
  checkMap(b, 'ssim');
  if (a.height !== b.height || a.width !== b.width) {
    throw new ShapeError(`ssim: maps are ${a.height}×${a.width} and ${b.height}×${b.width}; resize them to a common size first (resizeMap)`);
  }
  const { height: h, width: w } = a;
  const L = opts.dataRange ?? 1;
  const c1 = (0.01 * L) ** 2, c2 = (0.03 * L) ** 2;
  const g = window1d(h, w, opts);
  const n = h * w;
  const x = Float64Array.from(a.values), y = Float64Array.from(b.values);
  const xx = new Float64Array(n), yy = new Float64Array(n), xy = new Float64Array(n);
  for (let i = 0; i < n; i++) { xx[i] = x[i]! * x[i]!; yy[i] = y[i]! * y[i]!; xy[i] = x[i]! * y[i]!; }
  const [mx, my, mxx, myy, mxy] = [x, y, xx, yy, xy].map((v) => filterValid(v, h, w, g)) as [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  let total = 0;
  for (let i = 0; i < mx.length; i++) {
    const ux = mx[i]!, uy = my[i]!;
    const vx = mxx[i]! - ux * ux, vy = myy[i]! - uy * uy, cxy = mxy[i]! - ux * uy;
    total += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
  }
  return total / mx.length;
}
