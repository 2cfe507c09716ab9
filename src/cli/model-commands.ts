// `camlight info <model>` (the layer table, parameter counts and the layer `--layer auto` picks)
// and `camlight convert <.h5|model.json> <outdir>` (to the TensorFlow.js layers format), for
// model files and named pretrained models alike.
import { copyFile, readFile, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { autoLayer, layerInfo } from '../cam/layer-select.ts';
import { loadH5Model, loadLayersModel, saveLayersModel } from '../nn/loaders/index.ts';
import type { Model } from '../nn/model.ts';
import { init } from '../tensor/runtime-global.ts';
import { parseArgs, UsageError } from './args.ts';
import { resolveModelOption } from './pretrained.ts';

export const INFO_MODEL_USAGE = `usage: camlight info [<model.json|model.h5|model.onnx|NAME>] [--json]

  without a model: the WebGPU adapter camlight finds and its key limits
  with a model:    its layer table, parameter counts, input shape and the layer --layer auto picks
                   (a named model, e.g. vgg16, is downloaded and converted first if not cached)
  --json           print the adapter's or the model's facts as JSON`;

export const CONVERT_USAGE = `usage: camlight convert <model.h5|model.json> <outdir> [--json]

  Writes OUTDIR/model.json and its weight shards in the TensorFlow.js layers format (what
  camlight and TensorFlow.js load fastest). A .h5 must be a whole model (model.save('x.h5')).
  A camlight.json beside a model.json (preset, labels) is copied along.
  --json   print what was written (files, weight bytes) as JSON on stdout`;

async function openModel(path: string): Promise<Model> {
  if (!(await stat(path).catch(() => null))) throw new UsageError(`${path}: no such file`);
  const ext = extname(path).toLowerCase();
  if (ext === '.h5' || ext === '.hdf5' || ext === '.keras') return loadH5Model(path);
  if (ext === '.json') return loadLayersModel(path);
  throw new UsageError(`${path}: expected a .h5 or model.json file`);
}

/**
 * `camlight info MODEL`: resolves to the exit code.
 * @example
 *   await infoModel(['weights/fashion-mnist-cnn/model.json']);
 */
export async function infoModel(argv: string[]): Promise<number> {
  const a = parseArgs(argv, [], ['json']);
  if (a.positional.length !== 1) throw new UsageError('give one model (a model.json, a .h5 file or a model name); see --help');
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await init();
  const named = await resolveModelOption(a.positional[0]!, process.env, '');
  const model = await openModel(named.path);
  try {
    const auto = autoLayer(model);
    const lay = (n: string) => {
      const i = layerInfo(model, n);
      return { name: i.name, height: i.height, width: i.width, channels: i.channels };
    };
    const p = model.parameterCount();
    const facts = {
      model: a.positional[0],
      file: named.path,
      name: model.name,
      inputShape: model.inputShape,
      outputShape: model.outputShape,
      parameters: p,
      autoLayer: lay(auto),
      ...(named.camLayer ? { defaultLayer: lay(named.camLayer) } : {}),
    };
    if (a.flags.has('json')) console.log(JSON.stringify(facts, null, 1));
    else {
      console.log(model.summary());
      const fmt = (l: ReturnType<typeof lay>) => `${l.name} (${l.height}×${l.width}×${l.channels})`;
      console.log(`CAM layer picked by --layer auto: ${fmt(facts.autoLayer)}`);
      if (facts.defaultLayer) console.log(`default CAM layer for '${a.positional[0]}' (its manifest): ${fmt(facts.defaultLayer)}`);
    }
  } finally {
    model.dispose();
  }
  return 0;
}

/**
 * `camlight convert IN OUTDIR`: resolves to the exit code.
 * @example
 *   await convertCommand(['my_model.h5', 'weights/my_model']);
 */
export async function convertCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(CONVERT_USAGE);
    return 0;
  }
  const a = parseArgs(argv, [], ['json']);
  if (a.positional.length !== 2) throw new UsageError('give the model file and the output folder; see --help');
  const [input, out] = a.positional as [string, string];
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await init();
  const model = await openModel(input);
  try {
    const saved = await saveLayersModel(model, out);
    const cfg = join(dirname(resolve(input)), 'camlight.json');
    if (extname(input).toLowerCase() === '.json' && (await stat(cfg).catch(() => null))) {
      // Labels named by a relative file travel with it.
      const json = JSON.parse(await readFile(cfg, 'utf8')) as { labels?: unknown };
      await copyFile(cfg, join(out, 'camlight.json'));
      if (typeof json.labels === 'string' && !/[\/]/.test(json.labels)) await copyFile(join(dirname(cfg), json.labels), join(out, json.labels));
    }
    console.error(`camlight convert: ${input} → ${join(out, 'model.json')} (${saved.files.length - 1} shard(s), ${(saved.weightBytes / 1e6).toFixed(1)} MB)`);
    if (a.flags.has('json')) console.log(JSON.stringify({ input, modelJson: join(out, 'model.json'), files: saved.files, weightBytes: saved.weightBytes }, null, 1));
  } finally {
    model.dispose();
  }
  return 0;
}

/** `camlight --version`: the package's version (and Node's, which runs it). */
export async function versionLine(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return `camlight ${pkg.version} (node ${process.versions.node})`;
}
