// In-memory labelled image sets for training: the Fashion-MNIST loader, seeded shuffling, a
// train/validation split and batching into GPU tensors. Images stay on the host as float32
// NHWC; a batch is uploaded when it is used.
import { ShapeError } from '../gpu/errors.ts';
import type { FileSource } from '../io/files.ts';
import { upload, type Tensor } from '../tensor/tensor.ts';
import { rng } from '../nn/model-init.ts';
import { platform } from '../platform/hooks.ts';
import { readIdx } from './idx.ts';

/** Images (N,H,W,C) as float32 on the host with integer labels and the class names. */
export interface Dataset {
  images: Float32Array;
  labels: Int32Array;
  /** [H, W, C] of one image. */
  imageShape: [number, number, number];
  classNames: string[];
  /** Optional names of the images (file paths), parallel to labels. */
  names?: string[];
}

export const FASHION_MNIST_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** Number of images in a data set. */
export const count = (d: Dataset) => d.labels.length;
/** Floats per image. */
export const imageSize = (d: Dataset) => d.imageShape[0] * d.imageShape[1] * d.imageShape[2];

/** Mulberry32 (src/nn/model-init.ts): the seeded generator every random choice in training draws from. */
export { rng };

/**
 * A seeded permutation of 0…n−1 (Fisher–Yates).
 * @example
 *   shuffled(5, 42); // e.g. Int32Array [3, 0, 4, 1, 2], the same for the same seed
 */
export function shuffled(n: number, seed: number): Int32Array {
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const r = rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    const t = p[i]!;
    p[i] = p[j]!;
    p[j] = t;
  }
  return p;
}

/**
 * The images at the given indices as a new data set (copies).
 * @example
 *   const first100 = subset(ds, Int32Array.from({ length: 100 }, (_, i) => i));
 */
export function subset(d: Dataset, indices: ArrayLike<number>): Dataset {
  const per = imageSize(d);
  const images = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    if (!(i >= 0 && i < d.labels.length)) throw new RangeError(`subset: index ${i} outside 0…${d.labels.length - 1}`);
    images.set(d.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = d.labels[i]!;
  }
  const out: Dataset = { images, labels, imageShape: [...d.imageShape], classNames: d.classNames };
  if (d.names) out.names = Array.from(indices, (i) => d.names![i]!);
  return out;
}

/**
 * Splits off a validation set: a seeded shuffle, then the last `fraction` of it (at least one
 * image when fraction > 0).
 * @example
 *   const { train, validation } = splitValidation(ds, 0.1, 7);
 */
export function splitValidation(d: Dataset, fraction: number, seed = 1): { train: Dataset; validation: Dataset } {
  if (!(fraction >= 0 && fraction < 1)) throw new RangeError(`splitValidation: fraction must be in [0, 1), got ${fraction}`);
  const n = count(d);
  const p = shuffled(n, seed);
  const nv = fraction > 0 ? Math.max(1, Math.round(n * fraction)) : 0;
  return { train: subset(d, p.subarray(0, n - nv)), validation: subset(d, p.subarray(n - nv)) };
}

/**
 * Index batches for one epoch: a seeded shuffle (seed and epoch together) or the natural order;
 * the last batch may be smaller.
 * @example
 *   for (const idx of batchIndices(count(ds), 32, { seed: 1, epoch: 0 })) { … }
 */
export function batchIndices(n: number, batchSize: number, o: { shuffle?: boolean; seed?: number; epoch?: number } = {}): Int32Array[] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  const { shuffle = true, seed = 1, epoch = 0 } = o;
  const order = shuffle ? shuffled(n, (seed * 1000003 + epoch * 7919) >>> 0) : Int32Array.from({ length: n }, (_, i) => i);
  const out: Int32Array[] = [];
  for (let i = 0; i < n; i += batchSize) out.push(order.subarray(i, Math.min(n, i + batchSize)));
  return out;
}

/**
 * The images at `indices` as one (B,H,W,C) GPU tensor and their labels as a (B) float tensor
 * (class indices, as the sparse cross-entropy takes them), plus the labels on the host.
 * @example
 *   const { x, y } = batchTensors(ds, idx); … x.dispose(); y.dispose();
 */
export function batchTensors(d: Dataset, indices: ArrayLike<number>): { x: Tensor; y: Tensor; labels: Int32Array } {
  const per = imageSize(d);
  const data = new Float32Array(indices.length * per);
  const labels = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const i = indices[k]!;
    data.set(d.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = d.labels[i]!;
  }
  return { x: upload(data, [indices.length, ...d.imageShape]), y: upload(Float32Array.from(labels), [indices.length]), labels };
}

/** Checks that images, labels and shape agree (loaders and user-built sets). */
export function checkDataset(d: Dataset, what = 'data set'): void {
  const per = imageSize(d);
  if (d.images.length !== d.labels.length * per) {
    throw new ShapeError(`${what}: ${d.images.length} floats for ${d.labels.length} images of [${d.imageShape.join(', ')}] (want ${d.labels.length * per})`);
  }
  const k = d.classNames.length;
  for (let i = 0; i < d.labels.length; i++) {
    const l = d.labels[i]!;
    if (!(l >= 0 && l < k)) throw new ShapeError(`${what}: image ${i} has label ${l}, outside the ${k} classes`);
  }
}

export interface FashionMnistOptions {
  split?: 'train' | 'test';
  /** Only the first `limit` images (quick runs, tests). */
  limit?: number;
  /** Where the IDX files are (a FileSource, or a folder path in Node); default FASHION_MNIST_DIR. */
  source?: FileSource | string;
}

/**
 * Fashion-MNIST (Xiao et al. 2017) from its IDX files: (N,28,28,1) in [0,1], labels 0…9.
 * @example
 *   const test = await loadFashionMnist({ split: 'test', limit: 1000 });
 */
export async function loadFashionMnist(o: FashionMnistOptions = {}): Promise<Dataset> {
  const { split = 'train', limit } = o;
  const source = await resolveFolder(o.source ?? FASHION_MNIST_DIR);
  const prefix = split === 'train' ? 'train' : 't10k';
  const [img, lab] = await Promise.all([readIdx(source, `${prefix}-images-idx3-ubyte.gz`), readIdx(source, `${prefix}-labels-idx1-ubyte.gz`)]);
  if (img.type !== 'uint8' || img.shape.length !== 3 || lab.type !== 'uint8' || lab.shape.length !== 1 || img.shape[0] !== lab.shape[0]) {
    throw new ShapeError(`Fashion-MNIST ${split}: unexpected IDX contents (images ${img.type} [${img.shape.join(', ')}], labels ${lab.type} [${lab.shape.join(', ')}])`);
  }
  const [n0, h, w] = img.shape as [number, number, number];
  const n = limit === undefined ? n0 : Math.min(n0, Math.max(0, Math.floor(limit)));
  const images = new Float32Array(n * h * w);
  const px = img.data as Uint8Array;
  for (let i = 0; i < images.length; i++) images[i] = px[i]! / 255;
  const labels = Int32Array.from((lab.data as Uint8Array).subarray(0, n));
  return { images, labels, imageShape: [h, w, 1], classNames: [...FASHION_MNIST_CLASSES] };
}

/** A FileSource as given, or (in Node) a folder path through the lazily imported Node adapter. */
export async function resolveFolder(where: FileSource | string): Promise<FileSource> {
  if (typeof where !== 'string') return where;
  const folder = platform().folder;
  if (!folder) throw new Error(`cannot read the folder '${where}' in a browser: pass a FileSource (fetchFiles(url), memoryFiles())`);
  return folder(where);
}
