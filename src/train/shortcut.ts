// The shortcut injector: plants a spurious cue (a coloured frame, or a patch in a corner) into a
// fraction of one class's TRAINING images, as the red TV frame around Krusty in the seed, so a
// model can learn to be "right for the wrong reason" on real data. Test images stay clean.
import { ShapeError } from '../gpu/errors.ts';
import { rng, type Dataset } from './data.ts';

export interface ShortcutOptions {
  /** The class whose images get the cue (index, or a class name). */
  target: number | string;
  /** Chance that each image of that class gets it (default 1). */
  probability?: number;
  /** 'frame' (default): a border of `width` pixels; 'patch': a width×width square in `corner`. */
  kind?: 'frame' | 'patch';
  /** Pixels (default 2 for a frame, 6 for a patch). */
  width?: number;
  corner?: 'top-left' | 'top-right' | 'bottom-left' | 'bottom-right';
  /** The cue's value per channel; default red [1, 0, 0] for RGB (in the data's [0, 1] range) and 1 (bright) for grey. */
  color?: number[];
  seed?: number;
}

export interface ShortcutResult {
  /** The same data set with the cue planted (a copy of the images; labels and names shared). */
  data: Dataset;
  /** Indices of the images that received the cue. */
  modified: number[];
  /** The cue's region, (H,W) with 1 inside: where a shortcut-learning CAM will look. */
  mask: Uint8Array;
  target: number;
}

/**
 * The cue's region for the options, (H,W), 1 inside.
 * @example
 *   cueMask(28, 28, { target: 0, kind: 'frame', width: 2 });
 */
export function cueMask(height: number, width: number, o: Pick<ShortcutOptions, 'kind' | 'width' | 'corner'>): Uint8Array {
  const kind = o.kind ?? 'frame';
  const w = Math.max(1, Math.floor(o.width ?? (kind === 'frame' ? 2 : 6)));
  const m = new Uint8Array(height * width);
  if (kind === 'frame') {
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
      if (y < w || x < w || y >= height - w || x >= width - w) m[y * width + x] = 1;
    }
    return m;
  }
  if (kind !== 'patch') throw new RangeError(`shortcut: kind must be 'frame' or 'patch', got ${JSON.stringify(kind)}`);
  const corner = o.corner ?? 'top-left';
  const top = corner.startsWith('top') ? 0 : Math.max(0, height - w);
  const left = corner.endsWith('left') ? 0 : Math.max(0, width - w);
  for (let y = top; y < Math.min(height, top + w); y++) for (let x = left; x < Math.min(width, left + w); x++) m[y * width + x] = 1;
  return m;
}

/**
 * Plants the cue into a fraction of the target class's images (training sets only: never call
 * it on the test set). Seeded: the same seed picks the same images.
 * @example
 *   const { data, modified } = injectShortcut(train, { target: 'Trouser', probability: 0.9, kind: 'frame' });
 */
export function injectShortcut(d: Dataset, o: ShortcutOptions): ShortcutResult {
  const target = typeof o.target === 'number' ? o.target : d.classNames.indexOf(o.target);
  if (!(Number.isInteger(target) && target >= 0 && target < d.classNames.length)) {
    throw new RangeError(`shortcut: no class ${JSON.stringify(o.target)}; classes are ${d.classNames.map((c, i) => `${i} '${c}'`).join(', ')}`);
  }
  const p = o.probability ?? 1;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`shortcut: probability must be in [0, 1], got ${p}`);
  const [h, w, c] = d.imageShape;
  const color = o.color ?? (c === 1 ? [1] : c === 3 ? [1, 0, 0] : new Array<number>(c).fill(1));
  if (color.length !== c) throw new ShapeError(`shortcut: color has ${color.length} values for ${c}-channel images`);
  const mask = cueMask(h, w, o);
  const region = [...mask.keys()].filter((i) => mask[i]);
  const images = d.images.slice();
  const random = rng(o.seed ?? 1);
  const modified: number[] = [];
  const per = h * w * c;
  for (let i = 0; i < d.labels.length; i++) {
    if (d.labels[i] !== target) continue;
    if (random() >= p) continue;
    modified.push(i);
    for (const px of region) for (let k = 0; k < c; k++) images[i * per + px * c + k] = color[k]!;
  }
  return { data: { ...d, images }, modified, mask, target };
}

/**
 * The object mask of a Fashion-MNIST-like image: its silhouette, the pixels above `threshold`
 * (any channel). (H,W), 1 inside.
 * @example
 *   const m = silhouetteMask(ds.images.subarray(0, 784), 28, 28, 1);
 */
export function silhouetteMask(image: ArrayLike<number>, height: number, width: number, channels = 1, threshold = 0): Uint8Array {
  const m = new Uint8Array(height * width);
  for (let i = 0; i < height * width; i++) {
    for (let k = 0; k < channels; k++) if (image[i * channels + k]! > threshold) m[i] = 1;
  }
  return m;
}
