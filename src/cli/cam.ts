// `camlight cam`: class activation maps for a folder of images with the user's own model.
// Writes one overlay PNG per image (and target) and DIR/cams.json; --json prints the same JSON.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { cam } from '../cam/base.ts';
import { METHOD_NAMES } from '../cam/methods/index.ts';
import { overlayPng } from '../cam/overlay.ts';
import { centerCropBox, checkPreset, inputGeometry, prepareTensor, readCamlightJson, readLabels, type PreprocessName } from '../cam/prepare.ts';
import type { CamMethodName, CamTarget } from '../cam/types.ts';
import { COLORMAPS, type ColormapName } from '../cam/colormaps.ts';
import { decodeImage, type DecodedImage } from '../io/image.ts';
import { nodeFiles } from '../io/node-files.ts';
import { loadH5Model, loadLayersModel } from '../nn/loaders/index.ts';
import type { Model } from '../nn/model.ts';
import { init } from '../nn/runtime-global.ts';
import { parseArgs, UsageError } from './args.ts';
import { resolveModelOption } from './pretrained.ts';

export const CAM_USAGE = `usage: camlight cam <images or folders…> --model <model.json|model.h5> [options]

  --model FILE|NAME    a TensorFlow.js layers model (model.json + shards) or a Keras .h5 model, or a
                       pretrained model by name: vgg16 | vgg19 | inception_v3 (downloaded once; see weights/README.md)
  --method NAME        ${METHOD_NAMES.join(' | ')} (default gradcam)
  --layer auto|NAME    the layer to explain (default auto: the last layer with spatial extent)
  --target T           top1 (default) | topK (e.g. top3: one map per class) | class INDEX | class NAME
  --labels FILE        class names: .txt (one per line) or .json; default: camlight.json beside the model
  --preprocess P       caffe | tf | torch | unit | none (default: camlight.json's, else none)
  --crop center|none   centre-crop to the model's aspect ratio before resizing (default none)
  --size HxW           input size for models that accept any size (default 224x224)
  --colormap NAME      ${COLORMAPS.join(' | ')} (default jet)
  --opacity A          overlay opacity in [0, 1] (default 0.5)
  --style S            blend | intensity (each pixel weighted by its importance) (default blend)
  --batch N            images per GPU pass (default 8)
  --out DIR            where overlays and cams.json go (default camlight-cams)
  --json               also print cams.json to stdout`;

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/** Files named on the command line, with folders expanded to the images they hold (sorted). */
async function collectImages(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const a of args) {
    const s = await stat(a).catch(() => null);
    if (!s) throw new UsageError(`${a}: no such file or folder`);
    if (s.isDirectory()) {
      const names = (await readdir(a)).filter((n) => IMAGE_EXT.has(extname(n).toLowerCase())).sort();
      if (!names.length) throw new UsageError(`${a}: folder holds no .png or .jpg images`);
      out.push(...names.map((n) => join(a, n)));
    } else out.push(a);
  }
  if (!out.length) throw new UsageError('no images given; see --help');
  return out;
}

function parseTarget(t: string | undefined): CamTarget {
  if (!t || t === 'top1') return 'top1';
  const k = /^top(\d+)$/i.exec(t);
  if (k) {
    const n = Number(k[1]);
    if (n < 1) throw new UsageError(`--target ${t}: K must be at least 1`);
    return { topK: n };
  }
  if (/^\d+$/.test(t)) return Number(t);
  return t;
}

function parseSize(s: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(s);
  if (!m) throw new UsageError(`--size ${s}: expected HxW, e.g. 224x224`);
  return [Number(m[1]), Number(m[2])];
}

function parseNumber(name: string, v: string | undefined, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < lo || n > hi) throw new UsageError(`--${name} ${v}: expected a number in [${lo}, ${hi}]`);
  return n;
}

async function loadModel(path: string): Promise<Model> {
  if (!(await stat(path).catch(() => null))) throw new UsageError(`--model ${path}: no such file`);
  return extname(path).toLowerCase() === '.h5' ? loadH5Model(path) : loadLayersModel(path);
}

/**
 * Runs `camlight cam`; resolves to the exit code.
 * @example
 *   await camCommand(['photos/', '--model', 'weights/vgg19/model.json', '--preprocess', 'caffe']);
 */
export async function camCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CAM_USAGE);
    return 0;
  }
  const a = parseArgs(argv,
    ['model', 'method', 'layer', 'target', 'labels', 'preprocess', 'crop', 'size', 'colormap', 'opacity', 'style', 'batch', 'out'],
    ['json']);
  const modelPath = a.values.get('model');
  if (!modelPath) throw new UsageError('--model is required (a model.json or .h5 file); see --help');
  const method = (a.values.get('method') ?? 'gradcam') as CamMethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method ${method}: use one of ${METHOD_NAMES.join(', ')}`);
  const colormap = (a.values.get('colormap') ?? 'jet') as ColormapName;
  if (!COLORMAPS.includes(colormap)) throw new UsageError(`--colormap ${colormap}: use one of ${COLORMAPS.join(', ')}`);
  const style = a.values.get('style') ?? 'blend';
  if (style !== 'blend' && style !== 'intensity') throw new UsageError(`--style ${style}: use blend or intensity`);
  const crop = a.values.get('crop') ?? undefined;
  if (crop !== undefined && crop !== 'center' && crop !== 'none') throw new UsageError(`--crop ${crop}: use center or none`);
  const opacity = parseNumber('opacity', a.values.get('opacity'), 0, 1, 0.5);
  const batch = Math.floor(parseNumber('batch', a.values.get('batch'), 1, 256, 8));
  const out = a.values.get('out') ?? 'camlight-cams';
  const target = parseTarget(a.values.get('target'));
  const files = await collectImages(a.positional);

  await init();
  const named = await resolveModelOption(modelPath); // a named model (vgg16, …) → its cached model.json
  const model = await loadModel(named.path);
  const cfg = extname(named.path).toLowerCase() === '.json'
    ? await readCamlightJson(nodeFiles(dirname(resolve(named.path))), basename(named.path))
    : null;
  const labelsPath = a.values.get('labels');
  const labels = labelsPath ? await readLabels(nodeFiles(dirname(resolve(labelsPath))), basename(labelsPath)) : cfg?.labels;
  const preprocess: PreprocessName = a.values.has('preprocess') ? checkPreset(a.values.get('preprocess'), '--preprocess') : cfg?.preprocess ?? 'none';
  const geo = inputGeometry(model.inputShape);
  const size: [number, number] = geo.height && geo.width
    ? [geo.height, geo.width]
    : a.values.has('size') ? parseSize(a.values.get('size')!) : cfg?.inputSize ?? [224, 224];
  const cropMode = (crop ?? cfg?.crop ?? 'none') as 'none' | 'center';
  if (geo.channels !== 1 && geo.channels !== 3) {
    throw new UsageError(`--model ${modelPath}: input has ${geo.channels} channels; camlight cam takes image models with 1 or 3`);
  }

  await mkdir(out, { recursive: true });
  const images: unknown[] = [];
  let layerInfo: unknown = null;
  const warnings = new Set<string>();
  for (let start = 0; start < files.length; start += batch) {
    const chunk = files.slice(start, start + batch);
    const decoded: DecodedImage[] = [];
    for (const f of chunk) decoded.push(decodeImage(new Uint8Array(await readFile(f)), f));
    const x = prepareTensor(decoded, { size, channels: geo.channels as 1 | 3, preprocess, crop: cropMode });
    let r;
    try {
      r = await cam(model, x, { method, layer: (a.values.get('layer') ?? named.camLayer ?? 'auto') as string, target, labels, upsample: false });
    } finally {
      x.dispose();
    }
    layerInfo = r.layer;
    r.warnings.forEach((w) => warnings.add(w));
    const perImage = new Map<number, number>();
    for (const res of r.images) {
      const file = chunk[res.image]!;
      const img = decoded[res.image]!;
      const k = perImage.get(res.image) ?? 0;
      perImage.set(res.image, k + 1);
      const suffix = typeof target === 'object' && !Array.isArray(target) ? `.${res.target}` : '';
      const pngName = `${basename(file, extname(file))}${suffix}.cam.png`;
      const region = cropMode === 'center' ? centerCropBox(img.height, img.width, size) : undefined;
      await writeFile(join(out, pngName), overlayPng(img, res.map, { colormap, opacity, style, region }));
      images.push({
        file,
        topk: res.topk,
        target: res.target,
        ...(labels?.[res.target] !== undefined ? { targetLabel: labels[res.target] } : {}),
        map: { height: res.map.height, width: res.map.width, values: Array.from(res.map.values, (v) => Math.round(v * 1e6) / 1e6) },
        overlay: pngName,
      });
    }
  }
  const doc = {
    model: modelPath,
    method,
    layer: layerInfo,
    preprocess,
    inputSize: { height: size[0], width: size[1] },
    ...(warnings.size ? { warnings: [...warnings] } : {}),
    images,
  };
  const text = JSON.stringify(doc, null, 1);
  await writeFile(join(out, 'cams.json'), text);
  for (const w of warnings) console.error(`warning: ${w}`);
  if (a.flags.has('json')) console.log(text);
  else console.error(`camlight cam: ${images.length} map(s) of ${files.length} image(s) → ${out}/ (cams.json and overlays)`);
  model.dispose();
  return 0;
}
