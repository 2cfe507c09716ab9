// The triage's causal check, which needs no CAM: the model's true-class probability on the image
// as it is, with the object removed, with the cue removed, and with both removed (the blank
// control). "Removed" = filled with the image's background, as an occlusion test (Zeiler & Fergus,
// "Visualizing and understanding convolutional networks", ECCV 2014, §4.2) with a neutral fill.
import { scoreHead } from '../cam/targets.ts';
import { regionMask, type Region } from '../cam/metrics/index.ts';
import { ShapeError } from '../gpu/errors.ts';
import type { Model } from '../nn/model.ts';
import { scope, upload } from '../tensor/tensor.ts';

/** An image's true-class probabilities under occlusion (null where that region is unknown). */
export interface OcclusionProbe {
  /** p(true class) on the image as given. */
  pFull: number;
  /** p(true class) with the object filled with the background (null: no object region). */
  pNoObject: number | null;
  /** Whether the true class is still top-1 with the object removed (null: no object region). */
  top1NoObject: boolean | null;
  /** p(true class) with the cue filled with the background (null: no cue region). */
  pNoCue: number | null;
  /** p(true class) with object and cue both filled: the blank control (null: no object region). */
  pBlank: number | null;
  /** Whether the true class is top-1 on the blank image (null: no object region). */
  top1Blank: boolean | null;
  /** The fill, per channel: the median of the pixels outside object and cue. */
  background: number[];
}

/** Per-channel median of the pixels outside `exclude` (all pixels when none is outside; 0 for none). */
export function backgroundOf(image: ArrayLike<number>, hw: number, channels: number, exclude: Uint8Array | null): number[] {
  const out: number[] = [];
  for (let k = 0; k < channels; k++) {
    const v: number[] = [];
    for (let i = 0; i < hw; i++) if (!exclude || !exclude[i]) v.push(image[i * channels + k]!);
    if (!v.length) for (let i = 0; i < hw; i++) v.push(image[i * channels + k]!);
    v.sort((a, b) => a - b);
    out.push(v.length ? v[Math.floor(v.length / 2)]! : 0);
  }
  return out;
}

function maskAt(region: Region | null, h: number, w: number, what: string): Uint8Array | null {
  if (!region) return null;
  if (region.height !== h || region.width !== w) {
    throw new ShapeError(`occlusion: the ${what} region is ${region.height}×${region.width} but the image is ${h}×${w}; give regions in the input's frame`);
  }
  return regionMask(region);
}

/**
 * Class probabilities of N images (N,H,W,C) on the host, in inference mode, from the model's score
 * head (a softmax output as is; other outputs through a softmax): (N·K) row-major.
 * @example
 *   const p = await classProbs(model, pixels, [n, 28, 28, 1]);   // p[i * 10 + k]
 */
export async function classProbs(model: Model, images: Float32Array, shape: readonly [number, number, number, number], batchSize = 256): Promise<Float32Array> {
  const [n, h, w, c] = shape;
  const per = h * w * c;
  const head = scoreHead(model);
  let out: Float32Array | null = null;
  for (let r0 = 0; r0 < n; r0 += batchSize) {
    const r1 = Math.min(n, r0 + batchSize);
    const p = scope(() => {
      const x = upload(images.subarray(r0 * per, r1 * per), [r1 - r0, h, w, c]);
      const { output, taps } = model.run(x, { taps: head.tap ? [head.tap] : [] });
      return head.probs(output, head.logits(output, taps));
    });
    const v = await p.data();
    p.dispose();
    out ??= new Float32Array(n * (v.length / (r1 - r0)));
    out.set(v, r0 * (v.length / (r1 - r0)));
  }
  return out ?? new Float32Array(0);
}

/** The image with the pixels of `mask` set to `fill` (a copy). */
function filled(image: Float32Array, mask: Uint8Array, channels: number, fill: number[]): Float32Array {
  const out = image.slice();
  for (let i = 0; i < mask.length; i++) if (mask[i]) for (let k = 0; k < channels; k++) out[i * channels + k] = fill[k]!;
  return out;
}

/**
 * The occlusion probes of N images (N,H,W,C) on the host: up to four variants per image, run in
 * batches of `batchSize` images, probabilities from the model's score head (as cam() reads them).
 * @example
 *   const probes = await occlusionProbes(model, pixels, [8, 28, 28, 1], trueClasses, objectRegions, cueRegions);
 *   probes[0].pNoCue;   // 0.03: the model falls without the frame
 */
export async function occlusionProbes(
  model: Model, images: Float32Array, shape: readonly [number, number, number, number], trueClasses: number[],
  objects: (Region | null)[], cues: (Region | null)[] = [], batchSize = 64,
): Promise<OcclusionProbe[]> {
  const [n, h, w, c] = shape;
  const per = h * w * c;
  if (images.length !== n * per) throw new ShapeError(`occlusion: ${images.length} values for (${shape.join(', ')})`);
  if (trueClasses.length !== n || objects.length !== n) throw new RangeError(`occlusion: ${n} images but ${trueClasses.length} classes and ${objects.length} object regions`);
  // Variant v of image i at row i*4+v: 0 as given, 1 no object, 2 no cue, 3 blank. Missing ones repeat the image.
  const variants = new Float32Array(n * 4 * per);
  const fills: number[][] = [];
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * per, (i + 1) * per);
    const obj = maskAt(objects[i] ?? null, h, w, 'object'), cue = maskAt(cues[i] ?? null, h, w, 'cue');
    const both = obj || cue ? Uint8Array.from({ length: h * w }, (_, j) => ((obj?.[j] ?? 0) | (cue?.[j] ?? 0))) : null;
    const bg = backgroundOf(img, h * w, c, both);
    fills.push(bg);
    variants.set(img, (i * 4) * per);
    variants.set(obj ? filled(img, obj, c, bg) : img, (i * 4 + 1) * per);
    variants.set(cue ? filled(img, cue, c, bg) : img, (i * 4 + 2) * per);
    variants.set(both ? filled(img, both, c, bg) : img, (i * 4 + 3) * per);
  }
  const rows = n * 4;
  const probs = await classProbs(model, variants, [rows, h, w, c], batchSize * 4);
  const classes = probs.length / Math.max(1, rows);
  const at = (row: number, cls: number) => probs[row * classes + cls]!;
  const isTop1 = (row: number, cls: number) => {
    for (let j = 0; j < classes; j++) if (at(row, j) > at(row, cls)) return false;
    return true;
  };
  return trueClasses.map((t, i) => {
    if (!(Number.isInteger(t) && t >= 0 && t < classes)) throw new RangeError(`occlusion: image ${i}'s true class ${t} is not one of the model's ${classes} classes`);
    const hasObj = !!objects[i], hasCue = !!cues[i];
    return {
      pFull: at(i * 4, t),
      pNoObject: hasObj ? at(i * 4 + 1, t) : null,
      top1NoObject: hasObj ? isTop1(i * 4 + 1, t) : null,
      pNoCue: hasCue ? at(i * 4 + 2, t) : null,
      pBlank: hasObj ? at(i * 4 + 3, t) : null,
      top1Blank: hasObj ? isTop1(i * 4 + 3, t) : null,
      background: fills[i]!,
    };
  });
}
