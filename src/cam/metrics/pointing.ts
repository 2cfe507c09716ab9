// Localisation metrics for a CAM against an annotated object: the pointing game (Zhang et al.
// 2016/2018) and the energy-based pointing game (Wang et al. 2020, Score-CAM §4.2), on the host.
import { ShapeError } from '../../gpu/errors.ts';
import { checkMap, resizeMap, type MapLike } from './maps.ts';

/**
 * A box in input pixel coordinates (x right, y down). Pixel (x, y) is inside when its centre
 * (x + ½, y + ½) lies in [x0, x1) × [y0, y1): for whole numbers, columns x0 … x1 − 1 and rows
 * y0 … y1 − 1 (a COCO box [x, y, w, h] is { x0: x, y0: y, x1: x + w, y1: y + h }).
 */
export interface Box { x0: number; y0: number; x1: number; y1: number }

/**
 * The object: a box, or a mask of height·width values (row-major, inside where ≥ 0.5, so 0/1 and
 * 0/255 masks, Uint8Array or Float32Array, both work), in the input's frame of height × width.
 */
export type Region =
  | { box: Box; height: number; width: number }
  | { mask: ArrayLike<number>; height: number; width: number };

/**
 * The region as a 0/1 mask of its frame.
 * @example
 *   const inside = regionMask({ box: { x0: 2, y0: 2, x1: 6, y1: 5 }, height: 8, width: 8 });   // 12 ones
 */
export function regionMask(region: Region): Uint8Array {
  const { height: h, width: w } = region;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new ShapeError(`pointing game: region frame ${h}×${w} is not two positive integers; give the input's height and width`);
  }
  const inside = new Uint8Array(h * w);
  if ('mask' in region) {
    if (region.mask.length !== h * w) throw new ShapeError(`pointing game: mask holds ${region.mask.length} values, frame ${h}×${w} needs ${h * w}`);
    for (let i = 0; i < h * w; i++) inside[i] = region.mask[i]! >= 0.5 ? 1 : 0;
    return inside;
  }
  const { x0, y0, x1, y1 } = region.box;
  if (![x0, y0, x1, y1].every(Number.isFinite) || x1 < x0 || y1 < y0) {
    throw new ShapeError(`pointing game: box {x0: ${x0}, y0: ${y0}, x1: ${x1}, y1: ${y1}} is not a box (need x0 ≤ x1, y0 ≤ y1)`);
  }
  for (let y = 0; y < h; y++) {
    if (!(y + 0.5 >= y0 && y + 0.5 < y1)) continue;
    for (let x = 0; x < w; x++) if (x + 0.5 >= x0 && x + 0.5 < x1) inside[y * w + x] = 1;
  }
  return inside;
}

export interface PointingResult {
  /** The map's maximum lies in the region (or within `tolerance` pixels of it). */
  hit: boolean;
  /** Where the up-sampled map peaks (first in row-major order among equal maxima); null for a constant map. */
  peak: { x: number; y: number } | null;
  /** How many pixels share the maximum value. */
  ties: number;
}

/**
 * The pointing game (Zhang et al., "Top-down Neural Attention by Excitation Backprop", ECCV 2016,
 * §5.1): a hit when the map's maximum falls on the object, with a tolerance radius (the paper
 * uses 15 pixels: a hit when some object pixel lies within that Euclidean distance of the peak).
 * The map is up-sampled bilinearly (half-pixel centres) to the region's frame first. A constant
 * map (e.g. an all-zero CAM) points nowhere and counts as a miss. Accuracy over a data set is
 * hits / (hits + misses) (pointingAccuracy).
 * @example
 *   const { hit } = pointingGame(result.images[0].map, { box: { x0: 40, y0: 30, x1: 120, y1: 200 }, height: 224, width: 224 }, { tolerance: 15 });
 */
export function pointingGame(map: MapLike, region: Region, opts: { tolerance?: number } = {}): PointingResult {
  checkMap(map, 'pointingGame');
  const r = opts.tolerance ?? 0;
  if (!(r >= 0)) throw new RangeError(`pointingGame: tolerance ${r} must be a non-negative number of pixels`);
  const inside = regionMask(region);
  const { height: h, width: w } = region;
  const v = resizeMap(map, h, w).values;
  let best = 0, ties = 0, lo = Infinity;
  for (let i = 0; i < v.length; i++) {
    if (v[i]! > v[best]!) { best = i; ties = 1; } else if (v[i] === v[best]) ties++;
    lo = Math.min(lo, v[i]!);
  }
  if (!(v[best]! > lo)) return { hit: false, peak: null, ties };
  const px = best % w, py = Math.floor(best / w);
  let hit = inside[best] === 1;
  const k = Math.floor(r);
  for (let dy = -k; dy <= k && !hit; dy++) {
    const y = py + dy;
    if (y < 0 || y >= h) continue;
    for (let dx = -k; dx <= k; dx++) {
      const x = px + dx;
      if (x >= 0 && x < w && dx * dx + dy * dy <= r * r && inside[y * w + x] === 1) { hit = true; break; }
    }
  }
  return { hit, peak: { x: px, y: py }, ties };
}

/**
 * The energy-based pointing game (Wang et al., "Score-CAM", CVPR-W 2020, §4.2): the share of the
 * map's mass inside the object, Σ_inside L / Σ L, on the map up-sampled bilinearly (half-pixel
 * centres) to the region's frame, negative values clipped to 0 (CAMs are post-ReLU). In [0, 1];
 * 0 for an all-zero map.
 * @example
 *   const proportion = energyPointingGame(map, { mask, height: 224, width: 224 });
 */
export function energyPointingGame(map: MapLike, region: Region): number {
  checkMap(map, 'energyPointingGame');
  const inside = regionMask(region);
  const v = resizeMap(map, region.height, region.width).values;
  let inMass = 0, total = 0;
  for (let i = 0; i < v.length; i++) {
    const e = Math.max(0, v[i]!);
    total += e;
    if (inside[i]) inMass += e;
  }
  return total > 0 ? inMass / total : 0;
}

/**
 * Pointing-game accuracy over a data set: hits / (hits + misses).
 * @example
 *   pointingAccuracy(images.map((im) => pointingGame(im.map, im.region, { tolerance: 15 })));
 */
export function pointingAccuracy(results: { hit: boolean }[]): number {
  if (!results.length) return NaN;
  return results.filter((r) => r.hit).length / results.length;
}
