// Pretrained models by name (`camlight cam --model vgg16`): weights/models.json lists each
// model's official Keras weights file (URL, MD5 as keras.applications publishes it, or an
// explicit "unverified" reason where Keras publishes none), preprocessing, input size, CAM layer
// and labels. On first use the file is downloaded and verified, loaded into the zoo architecture
// and converted once to the TensorFlow.js layers format under the cache folder, with a
// camlight.json beside it (the download's SHA-256 among it); later runs read that folder.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { download } from '../io/node-download.ts';
import { loadH5Weights, saveLayersModel } from '../nn/loaders/index.ts';
import type { Model } from '../nn/model.ts';
import { densenet121, densenet169, densenet201, efficientnetB0, fashionCnn, inceptionV3, mobilenetV2, resnet50, vgg16, vgg19, xception } from '../nn/zoo/index.ts';
import { checkPreset, type PreprocessName } from '../cam/prepare.ts';
import { UsageError } from './args.ts';
import { Progress } from './progress.ts';

/** One named model as weights/models.json (or a CAMLIGHT_MODELS file) describes it. */
export interface PretrainedEntry {
  /** The zoo architecture the weights-only file belongs to. */
  arch: keyof typeof ARCHS;
  url: string;
  /** MD5 (32 hex digits) or SHA-256 (64) of the file at `url`. */
  md5?: string;
  sha256?: string;
  /**
   * Instead of a hash, only where the file's publisher gives none: why (e.g. "keras.applications
   * publishes no hash for this file"). The download is then announced as unverified, its SHA-256
   * printed and recorded in camlight.json, and the converted files checked against it on each load.
   */
  unverified?: string;
  /** Pair file layers with the model's by name, or by position (Keras's load_weights default). */
  match: 'name' | 'order';
  /** File layer name → model layer name, where a file names a layer otherwise (pairing by name). */
  renames?: Record<string, string>;
  preprocess: PreprocessName;
  inputSize: [number, number];
  camLayer: string;
  /** A labels file, relative to the manifest's folder. */
  labels?: string;
}

/** The architectures a manifest may name: builders in src/nn/zoo with Keras's layer names. */
const ARCHS = {
  vgg16: () => vgg16(),
  vgg19: () => vgg19(),
  inception_v3: () => inceptionV3(),
  resnet50: () => resnet50(),
  mobilenet_v2: () => mobilenetV2(),
  xception: () => xception(),
  densenet121: () => densenet121(),
  densenet169: () => densenet169(),
  densenet201: () => densenet201(),
  efficientnet_b0: () => efficientnetB0(),
  fashion_cnn: () => fashionCnn(),
} satisfies Record<string, () => Model>;

/** The repository's weights/ folder (manifest, labels, committed models). */
export const WEIGHTS_DIR = fileURLToPath(new URL('../../weights/', import.meta.url));

interface Manifest {
  entries: Map<string, PretrainedEntry & { dir: string }>;
}

async function readManifest(path: string): Promise<Manifest['entries']> {
  let json: { models?: Record<string, PretrainedEntry> };
  try {
    json = JSON.parse(await readFile(path, 'utf8')) as typeof json;
  } catch (e) {
    throw new UsageError(`${path}: cannot read the model manifest (${(e as Error).message})`);
  }
  const out = new Map<string, PretrainedEntry & { dir: string }>();
  for (const [name, e] of Object.entries(json.models ?? {})) {
    const bad = (what: string) => new UsageError(`${path}: model "${name}": ${what}`);
    if (!(e.arch in ARCHS)) throw bad(`"arch" must be one of ${Object.keys(ARCHS).join(', ')}, got ${JSON.stringify(e.arch)}`);
    if (typeof e.url !== 'string') throw bad('"url" is missing');
    if (e.unverified !== undefined && (typeof e.unverified !== 'string' || !e.unverified.trim())) {
      throw bad('"unverified" must say why the file has no published hash (a non-empty string)');
    }
    if ((e.md5 || e.sha256) && e.unverified) throw bad('give a hash ("md5" or "sha256") or "unverified", not both');
    if (!e.md5 && !e.sha256 && !e.unverified) {
      throw bad('give the file\'s "md5" or "sha256" (or, only where its publisher gives no hash, "unverified": "<why>")');
    }
    if (e.match !== 'name' && e.match !== 'order') throw bad('"match" must be "name" or "order"');
    if (e.renames !== undefined && (typeof e.renames !== 'object' || e.renames === null || Object.values(e.renames).some((v) => typeof v !== 'string'))) {
      throw bad('"renames" must map file layer names to model layer names, e.g. {"probs": "predictions"}');
    }
    checkPreset(e.preprocess, `${path}: model "${name}": "preprocess"`);
    out.set(name, { ...e, dir: resolve(path, '..') });
  }
  return out;
}

/**
 * The named models: weights/models.json, then those of the file CAMLIGHT_MODELS names (a
 * manifest of the same shape, e.g. a site's own models on an internal server).
 */
export async function pretrainedModels(env = process.env): Promise<Manifest['entries']> {
  const all = await readManifest(join(WEIGHTS_DIR, 'models.json'));
  if (env.CAMLIGHT_MODELS) for (const [k, v] of await readManifest(resolve(env.CAMLIGHT_MODELS))) all.set(k, v);
  return all;
}

/** `$CAMLIGHT_CACHE`, else `$XDG_CACHE_HOME/camlight`, else `~/.cache/camlight`. */
export function cacheDir(env = process.env): string {
  if (env.CAMLIGHT_CACHE) return resolve(env.CAMLIGHT_CACHE);
  if (env.XDG_CACHE_HOME) return join(resolve(env.XDG_CACHE_HOME), 'camlight');
  return join(homedir(), '.cache', 'camlight');
}

/** A name that is not a path: no slash and no file extension. */
export function looksLikeModelName(s: string): boolean {
  return /^[a-z][a-z0-9_]*$/i.test(s);
}

const exists = (p: string) => stat(p).then(() => true, () => false);

export interface Resolved {
  /** The converted model.json in the cache. */
  modelJson: string;
  entry: PretrainedEntry;
}

/**
 * The cached, converted model for `name`, downloading and converting it on first use.
 * CAMLIGHT_WEIGHTS_URL replaces the URL's folder with a mirror (the file name is kept).
 * The GPU runtime must be initialised (conversion loads the weights through the model).
 * @example
 *   const { modelJson, entry } = await ensurePretrained('vgg16');   // ~/.cache/camlight/vgg16/model.json
 */
export async function ensurePretrained(name: string, env = process.env, what = '--model', opts: { quiet?: boolean } = {}): Promise<Resolved> {
  const models = await pretrainedModels(env);
  const entry = models.get(name);
  if (!entry) {
    throw new UsageError(`${what ? `${what} ` : ''}${name}: no such file, and not a model name; named models: ${[...models.keys()].join(', ')} (or give a model.json / .h5 path)`);
  }
  const cache = cacheDir(env);
  const folder = join(cache, name);
  const modelJson = join(folder, 'model.json');
  if (await exists(modelJson)) {
    if (entry.unverified) await checkPinned(folder);
    return { modelJson, entry };
  }

  const file = basename(new URL(entry.url).pathname);
  const mirror = env.CAMLIGHT_WEIGHTS_URL?.replace(/\/+$/, '');
  const url = mirror ? `${mirror}/${file}` : entry.url;
  const h5 = join(cache, 'downloads', file);
  if (!(await exists(h5))) {
    const hint = mirror
      ? `CAMLIGHT_WEIGHTS_URL=${mirror} is the mirror in use; check that it serves ${file}`
      : `on a machine without direct access, set CAMLIGHT_WEIGHTS_URL to a mirror folder holding ${file}`;
    const progress = new Progress({ label: `camlight: downloading ${name}`, unit: 'bytes', out: opts.quiet ? null : process.stderr });
    await download(url, h5, { hash: entry.sha256 ?? entry.md5, progress, hint });
  }

  // Convert into a temporary folder renamed into place, so the cache never holds half a model.
  if (!opts.quiet) process.stderr.write(`camlight: converting ${name} to the TensorFlow.js layers format in ${folder}\n`);
  const tmp = join(cache, `.${name}.${process.pid}.${Date.now()}.tmp`);
  const model = ARCHS[entry.arch]();
  try {
    // Hashed as read, so the SHA-256 recorded is that of the bytes converted.
    const bytes = new Uint8Array(await readFile(h5));
    const sha256 = sha256Hex(bytes);
    if (entry.unverified) {
      process.stderr.write(`camlight: warning: ${file} is not verified against a published hash (${entry.unverified}); its SHA-256 is ${sha256}, recorded in ${join(folder, 'camlight.json')}\n`);
    }
    // Every layer of the architecture is paired by name (or position) and shape-checked.
    await loadH5Weights(model, bytes, { match: entry.match, name: h5, renames: entry.renames });
    const saved = await saveLayersModel(model, tmp);
    const cfg: Record<string, unknown> = {
      description: `${name}: ${entry.url} (converted by camlight)`,
      preprocess: entry.preprocess,
      inputSize: entry.inputSize,
      source: entry.unverified
        ? { url, sha256, verified: false, unverified: entry.unverified }
        : { url, sha256, verified: entry.sha256 ? 'sha256' : 'md5' },
    };
    // Trust on first use: with no published hash, the converted files are pinned and checked on each load.
    if (entry.unverified) {
      const pinned: Record<string, string> = {};
      for (const f of saved.files) pinned[f] = sha256Hex(await readFile(join(tmp, f)));
      cfg.pinned = pinned;
    }
    if (entry.labels) {
      await copyFile(join(entry.dir, entry.labels), join(tmp, 'labels.txt'));
      cfg.labels = 'labels.txt';
    }
    await writeFile(join(tmp, 'camlight.json'), JSON.stringify(cfg, null, 1));
    await mkdir(cache, { recursive: true });
    // Another process may have finished first: its folder is as good as ours.
    if (await exists(modelJson)) await rm(tmp, { recursive: true, force: true });
    else await rename(tmp, folder);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    model.dispose();
  }
  // The converted folder holds the same weights; the .h5 is no longer needed.
  await rm(h5, { force: true });
  return { modelJson, entry };
}

const sha256Hex = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

/**
 * For a model converted from an unverified download: its files must still be those camlight
 * wrote (camlight.json's `pinned` SHA-256s); a changed or missing file is an error naming it.
 */
async function checkPinned(folder: string): Promise<void> {
  const cfgPath = join(folder, 'camlight.json');
  const again = `delete ${folder} to download and convert the model again`;
  let pinned: Record<string, string> | undefined;
  try {
    pinned = (JSON.parse(await readFile(cfgPath, 'utf8')) as { pinned?: Record<string, string> }).pinned;
  } catch (e) {
    throw new UsageError(`${cfgPath}: cannot read it (${(e as Error).message}); ${again}`);
  }
  if (!pinned || typeof pinned !== 'object' || !Object.keys(pinned).length) {
    throw new UsageError(`${cfgPath} holds no "pinned" SHA-256s for the files of this model, whose download had no published hash; ${again}`);
  }
  for (const [f, want] of Object.entries(pinned)) {
    const got = await readFile(join(folder, f)).then(sha256Hex, () => 'missing');
    if (got !== want) {
      throw new UsageError(`${join(folder, f)} changed since camlight converted it (SHA-256 ${got}, recorded ${want} in ${cfgPath}); ${again}`);
    }
  }
}

/**
 * What `--model` names: an existing file as it is, else a named model (fetched and converted on
 * first use), whose CAM layer becomes the default for `--layer`.
 * @example
 *   const { path, camLayer } = await resolveModelOption('vgg16');
 */
export async function resolveModelOption(arg: string, env = process.env, what = '--model', opts: { quiet?: boolean } = {}): Promise<{ path: string; camLayer?: string }> {
  if (!looksLikeModelName(arg) || (await exists(arg))) return { path: arg };
  const { modelJson, entry } = await ensurePretrained(arg, env, what, opts);
  return { path: modelJson, camLayer: entry.camLayer };
}
