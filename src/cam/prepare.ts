// Input preparation for CAMs: decoded RGBA8 images → the model's input batch (optional centre
// crop, bilinear resize, keras.applications preprocessing), and the optional camlight.json.
import { ShapeError } from '../gpu/errors.ts';
import { confinedJoin, jsonErrorAt, describePath, dirname, joinPath, utf8, type FileSource } from '../io/files.ts';
import type { RgbaImage } from '../io/image.ts';
import { upload, type Tensor } from '../tensor/tensor.ts';
import type { Runtime } from '../gpu/runtime.ts';

/**
 * keras.applications' preprocessing modes (imagenet_utils.preprocess_input), on RGB in [0, 255]:
 * - caffe: RGB→BGR, minus the ImageNet means [103.939, 116.779, 123.68] (BGR order), no scaling (VGG, ResNet50)
 * - tf: x/127.5 − 1, in [−1, 1] (InceptionV3, Xception, MobileNet)
 * - torch: (x/255 − [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225] (DenseNet, PyTorch models)
 * - unit: x/255, in [0, 1];  none: x, in [0, 255]
 */
export type PreprocessName = 'caffe' | 'tf' | 'torch' | 'unit' | 'none';
export const PREPROCESS_PRESETS: readonly PreprocessName[] = ['caffe', 'tf', 'torch', 'unit', 'none'];

const CAFFE_MEAN_BGR = [103.939, 116.779, 123.68];
const TORCH_MEAN = [0.485, 0.456, 0.406];
const TORCH_STD = [0.229, 0.224, 0.225];

export interface PrepareOptions {
  /** The model's input [height, width]. */
  size: readonly [number, number];
  /** 3 (RGB, default) or 1 (luminance 0.299R + 0.587G + 0.114B, as PIL's convert('L')). */
  channels?: 1 | 3;
  /** Default 'none' (values in [0, 255]). */
  preprocess?: PreprocessName;
  /** 'center': crop the largest central window with the target's aspect ratio first (Keras smart_resize). */
  crop?: 'none' | 'center';
  /** With crop 'center', keep only this central fraction of that window (e.g. 224/256); default 1. */
  cropFraction?: number;
}

/** A crop window in pixels. */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * Checks a preprocessing preset name, throwing an error that names the option and the choices.
 * @example
 *   const p = checkPreset(args.preprocess, '--preprocess');
 */
export function checkPreset(name: unknown, what = 'preprocess'): PreprocessName {
  if (typeof name === 'string' && (PREPROCESS_PRESETS as readonly string[]).includes(name)) return name as PreprocessName;
  throw new RangeError(`${what}: unknown preprocessing preset ${JSON.stringify(name)}; use one of ${PREPROCESS_PRESETS.join(', ')}`);
}

/**
 * The central window with the aspect ratio of `size` (Keras's smart_resize / crop_to_aspect_ratio),
 * optionally shrunk to a central `fraction` of it.
 * @example
 *   centerCropBox(300, 451, [224, 224]); // { top: 0, left: 75, height: 300, width: 300 }
 */
export function centerCropBox(height: number, width: number, size: readonly [number, number], fraction = 1): CropBox {
  const [th, tw] = size;
  if (!(fraction > 0 && fraction <= 1)) throw new RangeError(`cropFraction must be in (0, 1], got ${fraction}`);
  let ch = Math.min(height, Math.floor((width * th) / tw));
  let cw = Math.min(width, Math.floor((height * tw) / th));
  ch = Math.max(1, Math.round(ch * fraction));
  cw = Math.max(1, Math.round(cw * fraction));
  return { top: Math.floor((height - ch) / 2), left: Math.floor((width - cw) / 2), height: ch, width: cw };
}

/**
 * Bilinear resize of a host (H,W,C) float image to (OH,OW,C), exactly as
 * tf.image.resizeBilinear(x, [OH, OW], false, true) (half-pixel centres, TF2's tf.image.resize):
 * src = (o + ½)·in/out − ½, clamped at the edges. The source coordinate is a ratio of integers,
 * so the taps and weights are exact (the same scheme as the GPU kernel in kernels/resize.ts,
 * which is not used here: images are small and arrive on the host).
 * @example
 *   const y = resizeBilinearHost(x, 300, 451, 3, 224, 224); // Float32Array(224·224·3)
 */
// x:(H,W,C) y:(OH,OW,C)
export function resizeBilinearHost(x: ArrayLike<number>, H: number, W: number, C: number, OH: number, OW: number): Float32Array {
  if (x.length !== H * W * C) throw new ShapeError(`resizeBilinearHost: ${x.length} values for (${H},${W},${C})`);
  if (!(H > 0 && W > 0 && OH > 0 && OW > 0)) throw new ShapeError(`resizeBilinearHost: sizes must be positive: (${H},${W}) → (${OH},${OW})`);
  const ys = taps(H, OH), xs = taps(W, OW);
  const y = new Float32Array(OH * OW * C);
  for (let oy = 0; oy < OH; oy++) {
    const y0 = ys.lo[oy]! * W, y1 = ys.hi[oy]! * W, ty = ys.t[oy]!;
    for (let ox = 0; ox < OW; ox++) {
      const x0 = xs.lo[ox]!, x1 = xs.hi[ox]!, tx = xs.t[ox]!;
      const o = (oy * OW + ox) * C;
      for (let c = 0; c < C; c++) {
        const tl = x[(y0 + x0) * C + c]!, tr = x[(y0 + x1) * C + c]!;
        const bl = x[(y1 + x0) * C + c]!, br = x[(y1 + x1) * C + c]!;
        const top = tl + (tr - tl) * tx;
        const bottom = bl + (br - bl) * tx;
        y[o + c] = top + (bottom - top) * ty;
      }
    }
  }
  return y;
}

// Per output coordinate along one axis: f = (o·2in + in − out) / (2out), lo/hi clamped, t = f − lo.
function taps(inp: number, out: number): { lo: Int32Array; hi: Int32Array; t: Float64Array } {
  const lo = new Int32Array(out), hi = new Int32Array(out), t = new Float64Array(out);
  const a = 2 * inp, b = inp - out, d = 2 * out;
  for (let o = 0; o < out; o++) {
    const num = o * a + b;
    if (num < 0) continue; // f in (−1, 0): the first pixel
    const q = Math.floor(num / d);
    const l = Math.min(q, inp - 1);
    lo[o] = l;
    hi[o] = Math.min(num % d > 0 ? q + 1 : q, inp - 1);
    t[o] = (num - l * d) / d;
  }
  return { lo, hi, t };
}

/**
 * Applies a preset in place to (…, C) values that hold RGB (C = 3) or grey (C = 1) in [0, 255].
 * caffe and torch are defined for RGB models only (Keras raises on other channel counts too).
 * @example
 *   applyPreset(x, 3, 'caffe'); // x now BGR minus the ImageNet means
 */
export function applyPreset(x: Float32Array, channels: number, preset: PreprocessName): Float32Array {
  checkPreset(preset);
  if ((preset === 'caffe' || preset === 'torch') && channels !== 3) {
    throw new ShapeError(`preprocess '${preset}' needs a 3-channel (RGB) model input, got ${channels} channel(s); use 'tf', 'unit' or 'none'`);
  }
  const n = x.length;
  if (preset === 'caffe') {
    for (let i = 0; i < n; i += 3) {
      const r = x[i]!;
      x[i] = x[i + 2]! - CAFFE_MEAN_BGR[0]!;
      x[i + 1] = x[i + 1]! - CAFFE_MEAN_BGR[1]!;
      x[i + 2] = r - CAFFE_MEAN_BGR[2]!;
    }
  } else if (preset === 'tf') {
    for (let i = 0; i < n; i++) x[i] = x[i]! / 127.5 - 1;
  } else if (preset === 'torch') {
    for (let i = 0; i < n; i++) x[i] = (x[i]! / 255 - TORCH_MEAN[i % 3]!) / TORCH_STD[i % 3]!;
  } else if (preset === 'unit') {
    for (let i = 0; i < n; i++) x[i] = x[i]! / 255;
  }
  return x;
}

/**
 * One image → the model's (H,W,C) input: crop (optional), RGB or luminance as floats in
 * [0, 255] (alpha dropped, as PIL's convert('RGB') does), bilinear resize, preset.
 * Resizing before the preset is exact for every preset (each is affine per channel).
 * @example
 *   const x = prepareImage(decodeImage(bytes), { size: [224, 224], preprocess: 'caffe' });
 */
export function prepareImage(img: RgbaImage, opts: PrepareOptions): Float32Array {
  const { size, channels = 3, preprocess = 'none', crop = 'none', cropFraction = 1 } = opts;
  checkPreset(preprocess);
  if (!Array.isArray(size) || size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ShapeError(`prepareImage: size must be [height, width] in positive integers, got ${JSON.stringify(size)}`);
  }
  if (channels !== 1 && channels !== 3) throw new ShapeError(`prepareImage: the model input must have 1 or 3 channels, got ${channels}`);
  if (crop !== 'none' && crop !== 'center') throw new RangeError(`prepareImage: crop must be 'none' or 'center', got ${JSON.stringify(crop)}`);
  if (img.data.length !== img.width * img.height * 4 || !(img.width > 0 && img.height > 0)) {
    throw new ShapeError(`prepareImage: the image's data (${img.data.length} bytes) is not ${img.width}×${img.height} RGBA`);
  }
  const box = crop === 'center' ? centerCropBox(img.height, img.width, size, cropFraction) : { top: 0, left: 0, height: img.height, width: img.width };
  const src = new Float32Array(box.height * box.width * channels);
  const d = img.data;
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const i = ((box.top + y) * img.width + box.left + x) * 4;
      const o = (y * box.width + x) * channels;
      const r = d[i]!, g = d[i + 1]!, b = d[i + 2]!;
      if (channels === 3) {
        src[o] = r;
        src[o + 1] = g;
        src[o + 2] = b;
      } else {
        src[o] = r === g && g === b ? r : 0.299 * r + 0.587 * g + 0.114 * b;
      }
    }
  }
  const same = box.height === size[0] && box.width === size[1];
  const out = same ? src : resizeBilinearHost(src, box.height, box.width, channels, size[0], size[1]);
  return applyPreset(out, channels, preprocess);
}

/**
 * Several images → one (N,H,W,C) batch on the host.
 * @example
 *   const batch = prepareImages([a, b], { size: [299, 299], preprocess: 'tf' }); // 2·299·299·3 floats
 */
export function prepareImages(imgs: readonly RgbaImage[], opts: PrepareOptions): Float32Array {
  const [h, w] = opts.size;
  const per = h * w * (opts.channels ?? 3);
  const out = new Float32Array(imgs.length * per);
  imgs.forEach((img, i) => out.set(prepareImage(img, opts), i * per));
  return out;
}

/**
 * Several images → an (N,H,W,C) GPU tensor, ready for cam() or Model.run().
 * @example
 *   const x = prepareTensor([img], { size: [224, 224], preprocess: 'caffe' }); // Tensor [1,224,224,3]
 */
export function prepareTensor(imgs: readonly RgbaImage[], opts: PrepareOptions, rt?: Runtime): Tensor {
  const shape = [imgs.length, opts.size[0], opts.size[1], opts.channels ?? 3];
  const data = prepareImages(imgs, opts);
  return rt ? upload(data, shape, rt) : upload(data, shape);
}

/**
 * The input size and channels of a model from its input shape (null where the model takes any size).
 * @example
 *   inputGeometry(model.inputShape); // { height: 224, width: 224, channels: 3 }
 */
export function inputGeometry(inputShape: readonly (number | null)[]): { height: number | null; width: number | null; channels: number } {
  if (inputShape.length !== 4) throw new ShapeError(`inputGeometry: expected an image input (N,H,W,C), got [${inputShape.join(', ')}]`);
  const c = inputShape[3];
  if (c == null) throw new ShapeError(`inputGeometry: the model's input has no fixed channel count [${inputShape.join(', ')}]`);
  return { height: inputShape[1] ?? null, width: inputShape[2] ?? null, channels: c };
}

// ---- camlight.json ------------------------------------------------------------------------

/** A model folder's optional camlight.json, validated; labels already read when given as a file. */
export interface CamlightConfig {
  preprocess?: PreprocessName;
  labels?: string[];
  inputSize?: [number, number];
  crop?: 'none' | 'center';
}

/** camlight.json (or a labels file it names) is malformed; the message names the file and key. */
export class CamlightConfigError extends Error {
  override name = 'CamlightConfigError';
}

// 'source' and 'pinned' are written for named models (src/cli/pretrained.ts: the download's URL and
// SHA-256, and the converted files' SHA-256s where no hash was published); informational here.
const CONFIG_KEYS = ['preprocess', 'labels', 'inputSize', 'crop', 'description', 'source', 'pinned'];

/**
 * Reads `camlight.json` beside the model file (`{ "preprocess": "caffe", "labels": [...] |
 * "labels.txt", "inputSize"?: [h, w], "crop"?: "center" }`); null when there is none.
 * Unknown keys are an error (so typos do not pass silently).
 * @example
 *   const cfg = await readCamlightJson(nodeFiles('models/vgg19'));           // beside model.json
 *   const cfg2 = await readCamlightJson(nodeFiles('.'), 'models/vgg19/model.json');
 */
export async function readCamlightJson(source: FileSource, modelPath = 'model.json'): Promise<CamlightConfig | null> {
  const path = joinPath(dirname(modelPath), 'camlight.json');
  const where = describePath(source, path);
  if (source.exists ? !(await source.exists(path)) : false) return null;
  let bytes: Uint8Array;
  try {
    bytes = await source.read(path);
  } catch (e) {
    if ((e as Error).name === 'FileNotFoundError') return null;
    throw e;
  }
  let json: unknown;
  try {
    json = JSON.parse(utf8(bytes));
  } catch (e) {
    throw new CamlightConfigError(`${where}: not valid JSON (${jsonErrorAt(e, utf8(bytes))})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new CamlightConfigError(`${where}: must hold a JSON object`);
  const obj = json as Record<string, unknown>;
  const unknown = Object.keys(obj).filter((k) => !CONFIG_KEYS.includes(k));
  if (unknown.length) throw new CamlightConfigError(`${where}: unknown key(s) ${unknown.map((k) => `"${k}"`).join(', ')}; allowed: ${CONFIG_KEYS.join(', ')}`);
  const cfg: CamlightConfig = {};
  if (obj.preprocess !== undefined) {
    try {
      cfg.preprocess = checkPreset(obj.preprocess, `${where}: "preprocess"`);
    } catch (e) {
      throw new CamlightConfigError((e as Error).message);
    }
  }
  if (obj.crop !== undefined) {
    if (obj.crop !== 'none' && obj.crop !== 'center') throw new CamlightConfigError(`${where}: "crop" must be "none" or "center", got ${JSON.stringify(obj.crop)}`);
    cfg.crop = obj.crop;
  }
  if (obj.inputSize !== undefined) {
    const s = obj.inputSize;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && d > 0)) {
      throw new CamlightConfigError(`${where}: "inputSize" must be [height, width] in positive integers, got ${JSON.stringify(s)}`);
    }
    cfg.inputSize = [s[0], s[1]];
  }
  if (obj.labels !== undefined) {
    const l = obj.labels;
    if (typeof l === 'string') cfg.labels = await readLabels(source, confinedJoin(dirname(path), l, where, 'labels'));
    else if (Array.isArray(l) && l.every((x) => typeof x === 'string')) cfg.labels = l;
    else throw new CamlightConfigError(`${where}: "labels" must be an array of strings or the name of a labels file`);
  }
  return cfg;
}

/**
 * Reads class labels: a .json file (an array of names, or Keras's imagenet_class_index.json
 * {"0": ["n01440764", "tench"], ...}) or a text file with one label per line.
 * @example
 *   const labels = await readLabels(nodeFiles('.'), 'labels.txt'); // ['tench', 'goldfish', ...]
 */
export async function readLabels(source: FileSource, path: string): Promise<string[]> {
  const where = describePath(source, path);
  const text = utf8(await source.read(path));
  if (!path.toLowerCase().endsWith('.json')) {
    const lines = text.split(/\r?\n/).map((s) => s.trim());
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    if (!lines.length) throw new CamlightConfigError(`${where}: the labels file is empty`);
    return lines;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new CamlightConfigError(`${where}: not valid JSON (${jsonErrorAt(e, text)})`);
  }
  if (Array.isArray(json) && json.every((x) => typeof x === 'string')) return json;
  if (json && typeof json === 'object' && !Array.isArray(json)) {
    const entries = Object.entries(json as Record<string, unknown>);
    const out: string[] = new Array(entries.length);
    for (const [k, v] of entries) {
      const i = Number(k);
      const name = Array.isArray(v) ? v[v.length - 1] : v;
      if (!Number.isInteger(i) || i < 0 || i >= entries.length || typeof name !== 'string') {
        throw new CamlightConfigError(`${where}: expected {"0": name or [id, name], ...} with indices 0..${entries.length - 1}; bad entry "${k}"`);
      }
      out[i] = name;
    }
    return out;
  }
  throw new CamlightConfigError(`${where}: labels must be a JSON array of strings or an index → name object`);
}
