// Random augmentation for training batches: per-image choices drawn on the host from a seeded
// generator (so a run is reproducible), applied on the GPU in one pass (src/kernels/augment.ts).
import { AUG, AUG_PARAMS, augment } from '../kernels/augment.ts';
import { upload, type Tensor } from '../tensor/tensor.ts';

export interface AugmentOptions {
  /** Mirror left–right with probability ½. */
  flipHorizontal?: boolean;
  /** Mirror top–bottom with probability ½. */
  flipVertical?: boolean;
  /** Shift by up to ±translate pixels in each direction, zero fill (a random crop of the image padded by that much). */
  translate?: number;
  /** Add a value uniform in [−brightness, brightness]. */
  brightness?: number;
  /** Scale the deviation from each image's channel mean by a factor uniform in [1 − contrast, 1 + contrast]. */
  contrast?: number;
  /** Zero a size×size square at a uniform position (its centre inside the image; DeVries & Taylor 2017), with a probability (default 1). */
  cutout?: { size: number; probability?: number };
  /** Clamp the result to [lo, hi] (e.g. [0, 1] for unit images). */
  clamp?: [number, number];
}

/**
 * One row of AUG_PARAMS floats per image, drawn from `random` in a fixed order.
 * @example
 *   const p = augmentParams(32, 28, 28, { flipHorizontal: true, translate: 2 }, rng(1));
 */
export function augmentParams(n: number, height: number, width: number, o: AugmentOptions, random: () => number): Float32Array {
  const p = new Float32Array(n * AUG_PARAMS);
  const t = Math.max(0, Math.floor(o.translate ?? 0));
  for (let i = 0; i < n; i++) {
    const r = p.subarray(i * AUG_PARAMS, (i + 1) * AUG_PARAMS);
    r[AUG.flipH] = o.flipHorizontal && random() < 0.5 ? 1 : 0;
    r[AUG.flipV] = o.flipVertical && random() < 0.5 ? 1 : 0;
    r[AUG.dy] = t ? Math.floor(random() * (2 * t + 1)) - t : 0;
    r[AUG.dx] = t ? Math.floor(random() * (2 * t + 1)) - t : 0;
    r[AUG.brightness] = o.brightness ? (2 * random() - 1) * o.brightness : 0;
    r[AUG.contrast] = o.contrast ? 1 + (2 * random() - 1) * o.contrast : 1;
    if (o.cutout && o.cutout.size > 0 && random() < (o.cutout.probability ?? 1)) {
      const s = o.cutout.size;
      const cy = Math.floor(random() * height);
      const cx = Math.floor(random() * width);
      const top = Math.max(0, cy - Math.floor(s / 2));
      const left = Math.max(0, cx - Math.floor(s / 2));
      r[AUG.cutTop] = top;
      r[AUG.cutLeft] = left;
      r[AUG.cutH] = Math.min(height, cy - Math.floor(s / 2) + s) - top;
      r[AUG.cutW] = Math.min(width, cx - Math.floor(s / 2) + s) - left;
    }
  }
  return p;
}

/** True when the options change anything. */
export function augments(o: AugmentOptions | undefined): o is AugmentOptions {
  return !!o && !!(o.flipHorizontal || o.flipVertical || o.translate || o.brightness || o.contrast || (o.cutout && o.cutout.size > 0));
}

/**
 * Augments a batch x:(N,H,W,C) on the GPU with choices drawn from `random`.
 * @example
 *   const xa = augmentBatch(x, { flipHorizontal: true, translate: 3, clamp: [0, 1] }, rng(7));
 */
export function augmentBatch(x: Tensor, o: AugmentOptions, random: () => number): Tensor {
  const [n, h, w] = x.shape as [number, number, number, number];
  const params = upload(augmentParams(n, h, w, o, random), [n, AUG_PARAMS], x.runtime);
  try {
    return augment(x, params, { clamp: o.clamp, contrast: !!o.contrast });
  } finally {
    params.dispose();
  }
}
