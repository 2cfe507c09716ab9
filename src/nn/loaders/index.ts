// Model loading and saving: TensorFlow.js layers models (model.json + shards) and Keras .h5
// files in, the layers format out. Files come from a path (Node), a URL or any FileSource.
import { describePath, FileNotFoundError, joinPath, subFolder, type FileSource } from '../../io/files.ts';
import { Model } from '../model.ts';
import { ModelLoadError, withFile } from './errors.ts';
import { readH5 } from './h5.ts';
import { matchH5, matchManifest } from './match.ts';
import { saveLayersModel, type SaveOptions, type SavedFiles } from './save.ts';
import { resolveLocation, type Location } from './source.ts';
import { checkFinite, readModelJson, readWeights, type HostWeight } from './tfjs-format.ts';

export { ModelLoadError } from './errors.ts';
export { saveLayersModel, modelArtifacts, DEFAULT_SHARD_BYTES, type SaveOptions, type SavedFiles } from './save.ts';
export { parseModelJson, readModelJson, decodeWeightGroup, readWeights, weightByteLength, type ModelJson, type WeightsGroup, type ManifestEntry, type HostWeight } from './tfjs-format.ts';
export { readH5, checkHdf5, type H5Contents, type H5Layer, type H5Weight } from './h5.ts';
export { halfToFloat32, float32ToHalf } from './half.ts';
export { matchH5, matchManifest } from './match.ts';
export type { Location, FileRef } from './source.ts';

/**
 * Loads a Keras model converted to the TensorFlow.js layers format (model.json + shards; shard
 * paths are relative to model.json). A string is a file path in Node and a URL elsewhere.
 * @example
 *   const model = await loadLayersModel('models/vgg19/model.json');
 *   const web = await loadLayersModel('https://example.com/vgg19/model.json');
 *   const mem = await loadLayersModel({ source: memoryFiles(files), path: 'model.json' });
 */
export async function loadLayersModel(location: Location): Promise<Model> {
  const { source, path } = await resolveLocation(location, 'model.json');
  const where = describePath(source, path);
  const json = await readModelJson(source, path);
  const model = build(json.modelTopology, where);
  try {
    const decoded = await readWeights(source, path, json.weightsManifest);
    model.setWeights(matchManifest(model.weightList(), decoded, where));
  } catch (e) {
    model.dispose();
    throw e instanceof ModelLoadError ? e : withFile(e, where);
  }
  return model;
}

/** An .h5 file: its bytes, or where to read them. `name` labels bytes in errors. */
export type H5Input = Uint8Array | ArrayBuffer | Location;

/**
 * Loads a whole Keras model saved with `model.save('x.h5')` (topology and weights).
 * @example
 *   const model = await loadH5Model('my_model.h5');
 */
export async function loadH5Model(input: H5Input, opts: { name?: string } = {}): Promise<Model> {
  const { bytes, where } = await readInput(input, opts.name);
  const h5 = await readH5(bytes, where);
  if (h5.kind !== 'model') {
    throw new ModelLoadError(
      `${where} holds weights only (no model_config); build the architecture first (e.g. a zoo model) and load them with loadH5Weights(model, file)`,
    );
  }
  const model = build(h5.modelConfig, where);
  try {
    model.setWeights(finite(matchH5(model.weightList(), h5, where, 'name'), where));
  } catch (e) {
    model.dispose();
    throw e instanceof ModelLoadError ? e : withFile(e, where);
  }
  return model;
}

/**
 * Loads the weights of an .h5 file (weights-only or whole-model) into a model you built, by
 * layer name (default) or by position among layers with weights ({ match: 'order' }, like
 * Keras's `load_weights` without `by_name`). Returns the model.
 * @example
 *   const vgg = zoo.vgg19({ includeTop: true });
 *   await loadH5Weights(vgg, 'vgg19_weights_tf_dim_ordering_tf_kernels.h5');
 */
export async function loadH5Weights<M extends Model>(model: M, input: H5Input, opts: { match?: 'name' | 'order'; name?: string; renames?: Record<string, string> } = {}): Promise<M> {
  const { bytes, where } = await readInput(input, opts.name);
  const h5 = await readH5(bytes, where);
  const weights = finite(matchH5(model.weightList(), h5, where, opts.match ?? 'name', opts.renames), where);
  try {
    model.setWeights(weights);
  } catch (e) {
    throw withFile(e, where);
  }
  return model;
}

/**
 * Writes a model to `<root>/<name>/` (model.json + shards) in the TensorFlow.js layers format;
 * `root` is a folder path in Node (default 'weights') or a writable FileSource.
 * @example
 *   const model = await loadH5Model('vgg19.h5');
 *   await convert(model, 'vgg19');            // weights/vgg19/model.json
 *   const again = await loadLayersModel('weights/vgg19/model.json');
 */
export async function convert(model: Model, name: string, opts: SaveOptions & { root?: string | FileSource } = {}): Promise<SavedFiles> {
  const root = opts.root ?? 'weights';
  return saveLayersModel(model, typeof root === 'string' ? joinPath(root, name) : subFolder(root, name), opts);
}

/** The weights, after checking every value is finite (an error names the first bad weight). */
function finite(weights: Map<string, HostWeight>, where: string): Map<string, HostWeight> {
  for (const [name, w] of weights) checkFinite(w.data, name, where);
  return weights;
}

/**
 * A model from a Keras topology (model.json's modelTopology, an .h5's model_config), errors
 * naming `where`; JavaScript errors from a malformed config become a message saying so.
 * @example
 *   const model = modelFromTopology(json.modelTopology, 'models/vgg19/model.json');
 */
export function modelFromTopology(topology: unknown, where: string): Model {
  return build(topology, where);
}

function build(topology: unknown, where: string): Model {
  try {
    const model = Model.fromKerasConfig(topology);
    // Input sizes come from the file: each must be unknown (null) or a positive 32-bit integer.
    const bad = model.inputShape.find((d) => d !== null && !(Number.isInteger(d) && d > 0 && d < 2 ** 31));
    if (bad !== undefined) {
      model.dispose();
      throw new ModelLoadError(`${where}: the model's input shape (${model.inputShape.map((d) => d ?? 'None').join(', ')}) holds ${bad}; each size must be a positive integer (the batch size is usually None)`);
    }
    return model;
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    // A JavaScript error from inside the config walk (a field of the wrong type) says nothing
    // a user can act on: name the file and the fix instead.
    if (e instanceof TypeError || e instanceof RangeError) {
      throw new ModelLoadError(`${where}: the Keras model topology is malformed (a layer's config has a field of the wrong type or shape); re-export the model with Keras or tensorflowjs_converter`);
    }
    throw withFile(e, where);
  }
}

async function readInput(input: H5Input, name?: string): Promise<{ bytes: Uint8Array; where: string }> {
  if (input instanceof Uint8Array) return { bytes: input, where: name ?? 'the given .h5 bytes' };
  if (input instanceof ArrayBuffer) return { bytes: new Uint8Array(input), where: name ?? 'the given .h5 bytes' };
  const { source, path } = await resolveLocation(input, 'model.h5');
  const where = name ?? describePath(source, path);
  try {
    return { bytes: await source.read(path), where };
  } catch (e) {
    if (e instanceof FileNotFoundError) throw new ModelLoadError(`.h5 file not found: ${where}`);
    throw e;
  }
}
