// `camlight cam`: class activation maps for a folder of images with the user's own model.
// Writes one overlay PNG per image (and target) and DIR/cams.json; --json prints the same JSON.
import { stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { cam } from '../cam/base.ts';
import { METHOD_NAMES } from '../cam/methods/index.ts';
import { overlayPng } from '../cam/overlay.ts';
import { centerCropBox, checkPreset, inputGeometry, prepareTensor, readCamlightJson, readLabels, type PreprocessName } from '../cam/prepare.ts';
import type { CamMethodName, CamTarget } from '../cam/types.ts';
import { COLORMAPS, type ColormapName } from '../cam/colormaps.ts';
import { decodeImage, DEFAULT_MAX_PIXELS, type DecodedImage } from '../io/image.ts';
import { atomicWrite, checkWritableFolder, nodeFiles, readRegularFile, safeMkdir } from '../io/node-files.ts';
import { loadH5Model, loadLayersModel } from '../nn/loaders/index.ts';
import { loadOnnxModel } from '../nn/onnx/index.ts';
import type { Model } from '../nn/model.ts';
import { init } from '../tensor/runtime-global.ts';
import { parseArgs, UsageError } from './args.ts';
import { collectImages, overlayNames } from './cam-inputs.ts';
import { resolveModelOption } from './pretrained.ts';
import { CamExtras, parseMethods, parseMetrics, writeGallery } from './cam-gallery.ts';
import { Progress } from './progress.ts';
import { catchStop, SIGNAL_EXIT } from './interrupt.ts';
import { assignShard, parseShard, type ShardRecord } from './shard.ts';

export const CAM_USAGE = `usage: camlight cam <images or folders…> --model <model.json|model.h5> [options]

  --model FILE|NAME    a TensorFlow.js layers model (model.json + shards) or a Keras .h5 model, or a
                       pretrained model by name: vgg16 | vgg19 | inception_v3 | resnet50 | mobilenet_v2 | xception | densenet121 | densenet169 | densenet201 | efficientnet_b0 (downloaded once; see weights/README.md)
  --method NAME        ${METHOD_NAMES.join(' | ')} (default gradcam)
  --methods A,B,…      several methods side by side in the gallery (overlays NAME.METHOD.cam.png past the first)
  --metrics            per image and method: deletion/insertion AUCs, the randomisation figure and the
                       fragility figures (random ±8/255 copies, and the attack for gradcam); see README
  --perturbations N    random copies per image for --metrics (default 8)
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
  --max-pixels N       refuse images larger than N pixels, checked from the header (default ${DEFAULT_MAX_PIXELS / 1e6} million)
  --json               also print cams.json to stdout
  --quiet              no progress lines on stderr (errors and warnings still go there)
  --shard I/N          explain only shard I (0…N-1) of the inputs, chosen by a hash of each one's path;
                       cams.json records the part; \`camlight merge\` joins the N folders (README: clusters)

DIR/index.html is the gallery: one self-contained page with every input, its overlays and top classes.

A file that cannot be read or decoded, or whose model output is not finite, is reported and
skipped; the rest are processed, cams.json lists the failures and the exit code is 1 (as when no
input could be explained; 2 means an internal error).
Progress (images, images/s, ETA) goes to stderr. Ctrl-C or SIGTERM stops after the current batch:
the overlays written are whole and cams.json lists them with "interrupted" (exit code 130/143).`;

/** Exit code when some inputs failed and the others were processed: the user's inputs (1); 2 is for camlight's own errors. */
export const SOME_INPUTS_FAILED = 1;

function parseTarget(t: string | undefined): CamTarget {
  if (!t || t === 'top1') return 'top1';
  const k = /^top(\d+)$/i.exec(t);
  if (k) {
    const n = Number(k[1]);
    if (n < 1) throw new UsageError(`--target ${t}: K must be at least 1`);
    return { topK: n };
  }
  if (/^[+-]?\d+$/.test(t)) {
    const n = Number(t);
    if (n < 0) throw new UsageError(`--target ${t}: a class index is 0 or more`);
    return n;
  }
  return t;
}

/** A target class that the model (and its labels) can resolve, checked before any image is read. */
function checkTarget(target: CamTarget, t: string | undefined, classes: number | null, labels: string[] | undefined): void {
  if (typeof target === 'number' && classes !== null && target >= classes) {
    throw new UsageError(`--target ${t}: the model has ${classes} classes (0…${classes - 1})`);
  }
  if (typeof target === 'string' && target !== 'top1') {
    if (!labels) throw new UsageError(`--target ${t}: a class name needs class names; give --labels FILE (or "labels" in camlight.json), or use a class index`);
    if (!labels.some((l) => l.toLowerCase() === target.toLowerCase())) {
      throw new UsageError(`--target ${t}: no class of that name in the labels (e.g. ${labels.slice(0, 5).join(', ')}${labels.length > 5 ? ', …' : ''})`);
    }
  }
}

/** One input that was skipped, and why. */
interface Failure {
  file: string;
  error: string;
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
  const s = await stat(path).catch(() => null);
  if (!s) throw new UsageError(`--model ${path}: no such file`);
  if (!s.isFile()) throw new UsageError(`--model ${path}: not a regular file (give the model.json or .h5 file itself)`);
  if (extname(path).toLowerCase() === '.onnx') return loadOnnxModel(path);
  return extname(path).toLowerCase() === '.h5' ? loadH5Model(path) : loadLayersModel(path);
}

/**
 * Runs `camlight cam`; resolves to the exit code.
 * @example
 *   await camCommand(['photos/', '--model', 'vgg19']);   // or a model.json / .h5 path
 */
export async function camCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CAM_USAGE);
    return 0;
  }
  const a = parseArgs(argv,
    ['model', 'method', 'layer', 'target', 'labels', 'preprocess', 'crop', 'size', 'colormap', 'opacity', 'style', 'batch', 'out', 'max-pixels', 'methods', 'perturbations', 'shard'],
    ['json', 'metrics', 'quiet']);
  const quiet = a.flags.has('quiet');
  const modelPath = a.values.get('model');
  if (!modelPath) throw new UsageError('--model is required (a model.json or .h5 file); see --help');
  const methods = parseMethods(a.values.get('methods'), a.values.get('method'));
  const method = methods[0]!;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method ${method}: use one of ${METHOD_NAMES.join(', ')}`);
  const metrics = parseMetrics(a.flags.has('metrics'), a.values.get('perturbations'));
  const colormap = (a.values.get('colormap') ?? 'jet') as ColormapName;
  if (!COLORMAPS.includes(colormap)) throw new UsageError(`--colormap ${colormap}: use one of ${COLORMAPS.join(', ')}`);
  const style = a.values.get('style') ?? 'blend';
  if (style !== 'blend' && style !== 'intensity') throw new UsageError(`--style ${style}: use blend or intensity`);
  const crop = a.values.get('crop') ?? undefined;
  if (crop !== undefined && crop !== 'center' && crop !== 'none') throw new UsageError(`--crop ${crop}: use center or none`);
  const opacity = parseNumber('opacity', a.values.get('opacity'), 0, 1, 0.5);
  const batch = Math.floor(parseNumber('batch', a.values.get('batch'), 1, 256, 8));
  const maxPixels = Math.floor(parseNumber('max-pixels', a.values.get('max-pixels'), 1, 2 ** 40, DEFAULT_MAX_PIXELS));
  const out = a.values.get('out') ?? 'camlight-cams';
  const target = parseTarget(a.values.get('target'));
  if (a.values.has('size')) parseSize(a.values.get('size')!);
  const allFiles = await collectImages(a.positional);
  // --shard: this machine's part of the list; overlay names still come from the whole list (below).
  const shardSpec = a.values.has('shard') ? parseShard(a.values.get('shard')!) : null;
  const assigned = shardSpec ? assignShard(allFiles, shardSpec) : null;
  const files = assigned ? assigned.map((x) => x.file) : allFiles;
  // The output folder is checked (created, written to) before the model is even loaded.
  await checkWritableFolder(out, '--out');

  await init();
  const named = await resolveModelOption(modelPath, process.env, '--model', { quiet }); // a named model (vgg16, …) → its cached model.json
  const model = await loadModel(named.path);
  const cfg = extname(named.path).toLowerCase() === '.json'
    ? await readCamlightJson(nodeFiles(dirname(resolve(named.path))), basename(named.path))
    : null;
  const labelsPath = a.values.get('labels');
  const labels = labelsPath ? await readLabels(nodeFiles(dirname(resolve(labelsPath))), basename(labelsPath)) : cfg?.labels;
  const out2 = model.outputShape;
  const classes = out2.length === 2 && typeof out2[1] === 'number' ? out2[1] : null;
  if (labels && classes !== null && labels.length !== classes) {
    const from = labelsPath ? `--labels ${labelsPath}` : `the labels in ${join(dirname(modelPath), 'camlight.json')}`;
    throw new UsageError(`${from}: ${labels.length} class names for a model with ${classes} outputs; give exactly one name per output, in output order`);
  }
  checkTarget(target, a.values.get('target'), classes, labels);
  const preprocess: PreprocessName = a.values.has('preprocess') ? checkPreset(a.values.get('preprocess'), '--preprocess') : cfg?.preprocess ?? 'none';
  const geo = inputGeometry(model.inputShape);
  const size: [number, number] = geo.height && geo.width
    ? [geo.height, geo.width]
    : a.values.has('size') ? parseSize(a.values.get('size')!) : cfg?.inputSize ?? [224, 224];
  const cropMode = (crop ?? cfg?.crop ?? 'none') as 'none' | 'center';
  if (geo.channels !== 1 && geo.channels !== 3) {
    throw new UsageError(`--model ${modelPath}: input has ${geo.channels} channels; camlight cam takes image models with 1 or 3`);
  }

  const unique = overlayNames(allFiles);
  const names = new Map(allFiles.map((f, i) => [f, unique[i]!]));
  const extras = new CamExtras(model, {
    out, methods, metrics, layer: (a.values.get('layer') ?? named.camLayer ?? 'auto') as string, target, labels, size,
    channels: geo.channels as 1 | 3, preprocess, crop: cropMode, overlay: { colormap, opacity, style }, names,
  });
  const images: unknown[] = [];
  const failures: Failure[] = [];
  const fail = (file: string, error: string) => {
    failures.push({ file, error });
    progress.abort();
    // One input: its error is the run's one line (below); several: each is reported as it happens.
    if (files.length > 1) console.error(`camlight cam: skipped ${error.startsWith(file) ? error : `${file}: ${error}`}`);
  };
  let layerInfo: unknown = null;
  const warnings = new Set<string>();
  const progress = new Progress({ label: 'camlight cam', total: files.length, unit: 'images', out: quiet ? null : process.stderr });
  const stop = catchStop((sig) => `camlight cam: ${sig}: finishing the current batch; cams.json will list the images done`);
  let processed = 0;
  for (let start = 0; start < files.length && !stop.stopped; start += batch) {
    processed = Math.min(files.length, start + batch);
    const chunk: string[] = [];
    const decoded: DecodedImage[] = [];
    for (const f of files.slice(start, start + batch)) {
      try {
        // An image file can be no larger than maxPixels RGBA16 pixels stored raw, plus a megabyte.
        const bytes = await readRegularFile(f, { maxBytes: maxPixels * 8 + 2 ** 20 });
        decoded.push(decodeImage(bytes, f, { maxPixels }));
        chunk.push(f);
      } catch (e) {
        fail(f, e instanceof Error && e.name === 'FileTooLargeError' ? `${f}: the file is larger than an image of ${maxPixels} pixels can be` : (e as Error).message);
      }
    }
    if (!chunk.length) {
      progress.update(processed);
      continue;
    }
    const x = prepareTensor(decoded, { size, channels: geo.channels as 1 | 3, preprocess, crop: cropMode });
    let r;
    try {
      r = await cam(model, x, { method, layer: (a.values.get('layer') ?? named.camLayer ?? 'auto') as string, target, labels, upsample: false });
    } finally {
      x.dispose();
    }
    layerInfo = r.layer;
    r.warnings.forEach((w) => warnings.add(w));
    // An image whose probabilities or map hold NaN/Inf has no meaningful result: skip it whole.
    const broken = new Set<number>();
    for (const res of r.images) {
      if (!res.topk.every((t) => Number.isFinite(t.prob)) || !res.map.values.every((v) => Number.isFinite(v))) broken.add(res.image);
    }
    for (const i of broken) {
      const msg = `${chunk[i]}: the model's output for this image holds NaN or Inf (its weights or this input make it overflow); no map written`;
      progress.abort();
      console.error(`warning: ${msg}`);
      fail(chunk[i]!, msg);
    }
    for (const res of r.images) {
      if (broken.has(res.image)) continue;
      const file = chunk[res.image]!;
      const img = decoded[res.image]!;
      const suffix = typeof target === 'object' && !Array.isArray(target) ? `.${res.target}` : '';
      const pngName = `${names.get(file)!}${suffix}.cam.png`;
      const region = cropMode === 'center' ? centerCropBox(img.height, img.width, size) : undefined;
      const path = join(out, ...pngName.split('/'));
      if (pngName.includes('/')) await safeMkdir(dirname(path));
      await atomicWrite(path, overlayPng(img, res.map, { colormap, opacity, style, region }));
      images.push({
        file,
        topk: res.topk,
        target: res.target,
        ...(labels?.[res.target] !== undefined ? { targetLabel: labels[res.target] } : {}),
        map: { height: res.map.height, width: res.map.width, values: Array.from(res.map.values, (v) => Math.round(v * 1e6) / 1e6) },
        overlay: pngName,
      });
    }
    await extras.batch(chunk, decoded, r, broken);
    progress.update(processed);
  }
  stop.release();
  progress.clear(); // the run's summary line below replaces it
  const doc = {
    model: modelPath,
    method,
    layer: layerInfo,
    preprocess,
    inputSize: { height: size[0], width: size[1] },
    ...(warnings.size ? { warnings: [...warnings] } : {}),
    images,
    ...(failures.length ? { failures } : {}),
    ...(shardSpec ? {
      shard: {
        ...shardSpec, inputs: allFiles.length, assigned: assigned!,
        options: {
          ...Object.fromEntries(['model', 'layer', 'target', 'labels', 'crop', 'size', 'colormap', 'opacity', 'style', 'methods', 'perturbations'].map((k) => [k, a.values.get(k) ?? null])),
          metrics: a.flags.has('metrics') ? 'on' : null,
        },
      } satisfies ShardRecord,
    } : {}),
    ...(stop.stopped ? { interrupted: { signal: stop.stopped, inputsDone: processed, inputs: files.length } } : {}),
  };
  extras.complete(doc);
  const text = JSON.stringify(doc, null, 1);
  await atomicWrite(join(out, 'cams.json'), text);
  const page = await writeGallery(out);
  for (const w of warnings) console.error(`warning: ${w}`);
  if (a.flags.has('json')) console.log(text);
  const done = files.length - failures.length;
  if (images.length && (!a.flags.has('json') || failures.length)) {
    console.error(`camlight cam: ${images.length} map(s) of ${done} image(s) → ${out}/ (cams.json, overlays, gallery ${page})` +
      (failures.length ? `; ${failures.length} of ${files.length} input(s) failed and were skipped (listed in cams.json)` : ''));
  }
  model.dispose();
  if (stop.stopped) {
    console.error(`camlight cam: interrupted by ${stop.stopped} after ${processed} of ${files.length} input(s); ${out}/cams.json lists the ${images.length} map(s) written`);
    return SIGNAL_EXIT[stop.stopped] ?? 130;
  }
  // Nothing explained at all is an error, and so is some inputs failing (exit code 1, each listed).
  if (!images.length && failures.length) {
    throw new Error(files.length === 1 ? failures[0]!.error : `none of the ${files.length} inputs could be explained (each is listed above and in ${join(out, 'cams.json')})`);
  }
  return failures.length ? SOME_INPUTS_FAILED : 0;
}
