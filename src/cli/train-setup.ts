// `camlight train`'s preparation: the model from its name or file, the data (Fashion-MNIST or an
// image folder) at that model's input, the planted shortcut and the tracked images with their masks.
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, resolve } from 'node:path';
import { inputGeometry, prepareImage, readCamlightJson, type PreprocessName } from '../cam/prepare.ts';
import type { Region } from '../cam/metrics/index.ts';
import { decodeImage, type RgbaImage } from '../io/image.ts';
import { nodeFiles, readRegularFile } from '../io/node-files.ts';
import { loadLayersModel } from '../nn/loaders/index.ts';
import { loadOnnxModel } from '../nn/onnx/index.ts';
import type { Model } from '../nn/model.ts';
import { fashionCnn, inceptionV3, vgg19 } from '../nn/zoo/index.ts';
import { FASHION_MNIST_CLASSES, loadFashionMnist, shuffled, splitValidation, subset, type Dataset } from '../train/data.ts';
import { loadImageFolder } from '../train/image-folder.ts';
import { cueMask, injectShortcut, silhouetteMask } from '../train/shortcut.ts';
import { UsageError } from './args.ts';

export const ZOO_MODELS = ['fashion-cnn', 'vgg19', 'inception_v3'] as const;
/** Default (and minimum) input sizes of the zoo's ImageNet models on an image folder. */
const ZOO_SIZE: Record<string, number> = { vgg19: 32, inception_v3: 75 };

/** Where the data comes from and what the models must take. */
export interface DataPlan {
  kind: 'fashion-mnist' | 'folder';
  dir?: string;
  classNames: string[];
  /** [H, W, C] the models take. */
  shape: [number, number, number];
  preprocess: PreprocessName;
}

/** Class sub-folders of an image folder (sorted, hidden ones skipped). */
async function classFolders(dir: string): Promise<string[]> {
  const s = await stat(dir).catch(() => null);
  if (!s?.isDirectory()) throw new UsageError(`--data ${dir}: not 'fashion-mnist' and no such folder`);
  const names = (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (names.length < 2) throw new UsageError(`--data ${dir}: needs one sub-folder per class (at least 2), found ${names.length}`);
  return names;
}

const isFile = (spec: string) => ['.json', '.onnx'].includes(extname(spec).toLowerCase());

/** The input shape a saved model takes, and its preprocessing preset from camlight.json (default 'unit'). */
async function savedModelInfo(path: string): Promise<{ model: Model; preprocess: PreprocessName }> {
  if (!(await stat(path).catch(() => null))) throw new UsageError(`--model ${path}: no such file`);
  // A PyTorch model (ONNX) expects torchvision's normalisation.
  if (extname(path).toLowerCase() === '.onnx') return { model: await loadOnnxModel(path), preprocess: 'torch' };
  const model = await loadLayersModel(path);
  const cfg = await readCamlightJson(nodeFiles(dirname(resolve(path))), basename(path));
  return { model, preprocess: cfg?.preprocess ?? 'unit' };
}

/**
 * Decides the data's shape from the models (a saved model fixes it; zoo models follow the data).
 * Returns the plan and the saved models already loaded (by spec).
 */
export async function planData(data: string, specs: string[], size: [number, number] | null): Promise<{ plan: DataPlan; loaded: Map<string, Model> }> {
  const loaded = new Map<string, Model>();
  let preprocess: PreprocessName = 'unit';
  let fixed: [number, number, number] | null = null;
  for (const [k, spec] of specs.entries()) {
    const opt = k === 0 ? '--model' : '--compare';
    if (isFile(spec)) {
      const info = await savedModelInfo(spec);
      loaded.set(spec, info.model);
      const g = inputGeometry(info.model.inputShape);
      if (!g.height || !g.width) throw new UsageError(`${opt} ${spec}: the model takes any input size; camlight train needs a fixed one`);
      const shape: [number, number, number] = [g.height, g.width, g.channels];
      if (fixed && fixed.join() !== shape.join()) throw new UsageError(`${opt} ${spec}: takes ${shape.join('×')} inputs, the other model ${fixed.join('×')}; both must take the same`);
      fixed = shape;
      if (k === 0) preprocess = info.preprocess;
    } else if (!(ZOO_MODELS as readonly string[]).includes(spec)) {
      throw new UsageError(`${opt} ${spec}: use ${ZOO_MODELS.join(', ')} or a model.json file`);
    }
  }
  if (data === 'fashion-mnist') {
    const big = specs.find((s) => s === 'vgg19' || s === 'inception_v3');
    if (big) throw new UsageError(`--model ${big}: needs 3-channel inputs of at least ${ZOO_SIZE[big]}×${ZOO_SIZE[big]}; Fashion-MNIST is 28×28 grey: train it on an image folder (--data DIR), or use fashion-cnn or a model.json`);
    if (fixed && fixed.join() !== '28,28,1') throw new UsageError(`--model: the model takes ${fixed.join('×')} inputs; Fashion-MNIST is 28×28×1`);
    return { plan: { kind: 'fashion-mnist', classNames: [...FASHION_MNIST_CLASSES], shape: [28, 28, 1], preprocess: 'unit' }, loaded };
  }
  const classNames = await classFolders(data);
  let shape: [number, number, number];
  if (fixed) shape = fixed;
  else if (specs.includes('fashion-cnn')) {
    if (specs.some((s) => s !== 'fashion-cnn')) throw new UsageError('--compare: fashion-cnn takes 28×28 grey inputs, the other model 3-channel ones; compare models that take the same input');
    shape = [28, 28, 1];
  } else {
    const min = Math.max(...specs.map((s) => ZOO_SIZE[s] ?? 0));
    const [h, w] = size ?? [min, min];
    if (h < min || w < min) throw new UsageError(`--size ${h}x${w}: ${specs.join(' and ')} need at least ${min}×${min}`);
    shape = [h, w, 3];
  }
  if (size && fixed && (size[0] !== fixed[0] || size[1] !== fixed[1])) throw new UsageError(`--size ${size.join('x')}: the model takes ${fixed[0]}×${fixed[1]}`);
  return { plan: { kind: 'folder', dir: data, classNames, shape, preprocess }, loaded };
}

/**
 * A model by zoo name (random weights, seeded) or the saved one; its output must have one unit per class.
 * @example
 *   const m = await buildModel('fashion-cnn', plan, loaded, 1, '--model');
 */
export function buildModel(spec: string, plan: DataPlan, loaded: Map<string, Model>, seed: number, opt: string): Model {
  const classes = plan.classNames.length;
  let model: Model;
  if (loaded.has(spec)) model = loaded.get(spec)!;
  else if (spec === 'fashion-cnn') {
    model = fashionCnn({ classes });
    model.initWeights(seed);
  } else {
    const o = { inputShape: plan.shape, classes };
    model = spec === 'vgg19' ? vgg19(o) : inceptionV3(o);
    model.initWeights(seed);
  }
  const out = model.outputShape;
  if (out.length !== 2 || out[1] !== classes) throw new UsageError(`${opt} ${spec}: outputs (${out.join(', ')}), the data has ${classes} classes; give a model with ${classes} outputs`);
  return model;
}

/** Train and evaluation sets (Fashion-MNIST: its test split; folders: a seeded 20 % hold-out). */
export async function loadData(plan: DataPlan, limit: number | undefined, seed: number): Promise<{ train: Dataset; test: Dataset }> {
  if (plan.kind === 'fashion-mnist') {
    const train = await loadFashionMnist({ split: 'train', limit });
    const test = await loadFashionMnist({ split: 'test', limit: Math.min(10000, limit ?? 10000) });
    return { train, test };
  }
  const [h, w, c] = plan.shape;
  let all = await loadImageFolder(plan.dir!, { size: [h, w], channels: c as 1 | 3, preprocess: plan.preprocess, classes: plan.classNames });
  if (limit !== undefined && limit < all.labels.length) all = subset(all, shuffled(all.labels.length, seed).subarray(0, limit));
  if (all.labels.length < 2) throw new UsageError(`--data ${plan.dir}: needs at least 2 images`);
  const { train, validation } = splitValidation(all, 0.2, seed);
  return { train, test: validation };
}

/** The shortcut's class and probability from CLASS[:P] (CLASS an index or a class name). */
export function parseShortcut(v: string, classNames: string[]): { target: number; probability: number } {
  const m = /^(.+?)(?::([0-9.]+))?$/.exec(v);
  const cls = m?.[1] ?? '';
  const probability = m?.[2] === undefined ? 1 : Number(m[2]);
  if (!(probability >= 0 && probability <= 1)) throw new UsageError(`--shortcut ${v}: the probability must be in [0, 1]`);
  const target = /^\d+$/.test(cls) ? Number(cls) : classNames.findIndex((n) => n.toLowerCase() === cls.toLowerCase());
  if (!(target >= 0 && target < classNames.length)) throw new UsageError(`--shortcut ${v}: no class '${cls}'; use 0…${classNames.length - 1} or one of ${classNames.join(', ')}`);
  return { target, probability };
}

/** The tracked images: model inputs, display pictures, true classes, object masks, names. */
export interface Tracked {
  inputs: Float32Array;
  display: RgbaImage[];
  trueClasses: number[];
  masks: (Uint8Array | Region | null)[];
  names: string[];
  /** Which images carry the planted cue. */
  cue: boolean[];
}

/** Data values in [0, 1] (grey or RGB) → an RGBA picture. */
function toRgba(px: ArrayLike<number>, h: number, w: number, c: number): RgbaImage {
  const data = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) data[4 * i + k] = Math.round(255 * px[i * c + (c === 1 ? 0 : k)]!);
    data[4 * i + 3] = 255;
  }
  return { width: w, height: h, data };
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/**
 * N test images spread over the classes (round robin, first unused image of each class). With a
 * shortcut, ⌈N/2⌉ images of its class with the cue planted, then clean ones from that class on.
 */
export function pickTracked(test: Dataset, n: number, shortcut: { target: number } | null): { index: number; cue: boolean }[] {
  const k = test.classNames.length;
  const byClass = Array.from({ length: k }, (_, c) => [...test.labels.keys()].filter((i) => test.labels[i] === c));
  const next = new Array<number>(k).fill(0);
  const out: { index: number; cue: boolean }[] = [];
  const take = (c: number, cue: boolean) => {
    const i = byClass[c]![next[c]!];
    if (i === undefined) return false;
    next[c]!++;
    out.push({ index: i, cue });
    return true;
  };
  if (shortcut) for (let j = 0; j < Math.ceil(n / 2) && take(shortcut.target, true); j++);
  const start = shortcut?.target ?? 0;
  for (let round = 0; out.length < n; round++) {
    let any = false;
    for (let j = 0; j < k && out.length < n; j++) any = take((start + j) % k, false) || any;
    if (!any) break;
  }
  return out;
}

/**
 * The tracked images from the test set (`--track N`) or from files (`--track a.png=Coat,b.png`:
 * the class after '=', else the file's folder name). Cue-planted images get the cue in both the
 * input and the picture. Masks: Fashion-MNIST's silhouette (of the clean image); on an image
 * folder the inside of the cue for cue-planted images, none otherwise.
 */
export async function trackedImages(plan: DataPlan, test: Dataset, track: string, shortcut: { target: number; kind: 'frame' } | null): Promise<Tracked> {
  const [h, w, c] = plan.shape;
  const per = h * w * c;
  const cue = shortcut ? cueMask(h, w, shortcut) : null;
  const t: Tracked = { inputs: new Float32Array(0), display: [], trueClasses: [], masks: [], names: [], cue: [] };
  const chunks: Float32Array[] = [];
  const objectMask = (px: Float32Array, planted: boolean): Uint8Array | null => {
    if (plan.kind === 'fashion-mnist') return silhouetteMask(px, h, w, c);
    return planted && cue ? cue.map((v) => 1 - v) : null;
  };
  const add = (px: Float32Array, picture: Float32Array, cls: number, name: string, planted: boolean, folder?: string) => {
    t.masks.push(objectMask(px, planted));
    let input = px, shown = picture;
    if (planted) {
      const one = (a: Float32Array) => injectShortcut({ images: a, labels: Int32Array.of(cls), imageShape: plan.shape, classNames: plan.classNames }, { target: cls, kind: 'frame' }).data.images;
      input = one(px);
      shown = one(picture);
    }
    chunks.push(input);
    t.display.push(toRgba(shown, h, w, c));
    t.trueClasses.push(cls);
    // Names are file names of the animations: a repeated one gets its folder's name, then a number.
    let unique = name + (planted ? '-cue' : '');
    if (t.names.includes(unique) && folder) unique = `${folder}-${unique}`;
    for (let k = 2; t.names.includes(unique); k++) unique = `${name}-${k}`;
    t.names.push(unique);
    t.cue.push(planted);
  };
  if (/^\d+$/.test(track)) {
    const n = Number(track);
    if (n < 1 || n > 64) throw new UsageError(`--track ${track}: track 1…64 images`);
    for (const { index, cue: planted } of pickTracked(test, n, shortcut)) {
      const px = test.images.slice(index * per, (index + 1) * per);
      // On a folder, the picture is the file at the input size in [0, 1], whatever the model's preprocessing.
      const picture = plan.kind === 'folder' && test.names?.[index] && plan.preprocess !== 'unit'
        ? prepareImage(decodeImage(await readRegularFile(resolve(plan.dir!, test.names[index]!)), test.names[index]!), { size: [h, w], channels: c as 1 | 3, preprocess: 'unit' })
        : px;
      const base = test.names?.[index] ? basename(test.names[index]!, extname(test.names[index]!)) : `test-${index}`;
      add(px, picture, test.labels[index]!, `${base}-${slug(plan.classNames[test.labels[index]!]!)}`, planted);
    }
  } else {
    for (const item of track.split(',').filter(Boolean)) {
      const [file, clsName] = item.split('=') as [string, string | undefined];
      const bytes = await readRegularFile(file).catch((e: Error) => {
        throw new UsageError(`--track ${file}: ${e.name === 'FileNotFoundError' ? 'no such file' : e.message}`);
      });
      const cn = clsName ?? basename(dirname(resolve(file)));
      const cls = /^\d+$/.test(cn) ? Number(cn) : plan.classNames.findIndex((x) => x.toLowerCase() === cn.toLowerCase());
      if (!(cls >= 0 && cls < plan.classNames.length)) throw new UsageError(`--track ${item}: class '${cn}' unknown; write FILE=CLASS (one of ${plan.classNames.join(', ')})`);
      const img = decodeImage(new Uint8Array(bytes), file);
      const px = prepareImage(img, { size: [h, w], channels: c as 1 | 3, preprocess: plan.preprocess });
      const picture = plan.preprocess === 'unit' ? px : prepareImage(img, { size: [h, w], channels: c as 1 | 3, preprocess: 'unit' });
      add(px, picture, cls, basename(file, extname(file)), false, slug(basename(dirname(resolve(file)))));
    }
    if (!chunks.length) throw new UsageError('--track: no files given');
  }
  t.inputs = new Float32Array(chunks.length * per);
  chunks.forEach((x, i) => t.inputs.set(x, i * per));
  return t;
}
