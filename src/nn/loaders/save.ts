// Writes a model in the TensorFlow.js layers format (model.json + float32 shards of at most
// 4 MiB, as tensorflowjs_converter cuts them), so camlight's models open in TensorFlow.js too.
import type { FileSource } from '../../io/files.ts';
import type { Layer } from '../layers/layer.ts';
import type { ModelJson, ManifestEntry } from './tfjs-format.ts';
import { resolveSink } from './source.ts';

/** What saving needs from a Model. */
export interface SavableModel {
  readonly name: string;
  toKerasConfig(): unknown;
  weightList(): { name: string; layer: Layer; weight: string; shape: number[] }[];
}

export interface SaveOptions {
  /** Largest shard in bytes (default 4 MiB, the converter's size). */
  shardBytes?: number;
}

export interface SavedFiles {
  /** The files written, relative to the target folder: model.json first, then the shards. */
  files: string[];
  /** Bytes of weight data written. */
  weightBytes: number;
}

export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;
const VERSION = '0.1.0';

/**
 * The model.json object and the shard bytes for a model, read back from its GPU tensors.
 * @example
 *   const { modelJson, shards } = await modelArtifacts(model);
 */
export async function modelArtifacts(
  model: SavableModel,
  opts: SaveOptions = {},
): Promise<{ modelJson: ModelJson; shards: { path: string; data: Uint8Array }[] }> {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!(shardBytes > 0 && shardBytes % 4 === 0)) throw new Error(`saveLayersModel: shardBytes must be a positive multiple of 4, got ${shardBytes}`);
  const list = model.weightList();
  const entries: ManifestEntry[] = list.map((w) => ({ name: w.name, shape: [...w.shape], dtype: 'float32' }));
  const total = list.reduce((a, w) => a + 4 * w.shape.reduce((x, y) => x * y, 1), 0);
  const n = Math.max(1, Math.ceil(total / shardBytes));
  const shards = Array.from({ length: n }, (_, i) => ({
    path: `group1-shard${i + 1}of${n}.bin`,
    data: new Uint8Array(i < n - 1 ? shardBytes : total - shardBytes * (n - 1)),
  }));
  // Weights follow one another in one byte stream that is cut into shards; a weight may span two.
  let off = 0;
  for (const w of list) {
    const bytes = new Uint8Array((await readWeight(w.layer, w.weight)).buffer);
    for (let done = 0; done < bytes.length; ) {
      const s = Math.floor(off / shardBytes);
      const at = off - s * shardBytes;
      const k = Math.min(bytes.length - done, shardBytes - at);
      shards[s]!.data.set(bytes.subarray(done, done + k), at);
      done += k;
      off += k;
    }
  }
  const modelJson: ModelJson = {
    format: 'layers-model',
    generatedBy: `camlight v${VERSION}`,
    convertedBy: 'camlight',
    modelTopology: model.toKerasConfig(),
    weightsManifest: [{ paths: shards.map((s) => s.path), weights: entries }],
  };
  return { modelJson, shards };
}

/** One weight on the host; layers that split big weights over several tensors join them. */
async function readWeight(layer: Layer, weight: string): Promise<Float32Array> {
  const stored = layer as Layer & { readWeight?(name: string): Promise<Float32Array> };
  if (typeof stored.readWeight === 'function') return stored.readWeight(weight);
  const t = layer.weights.get(weight);
  if (!t) throw new Error(`saveLayersModel: layer '${layer.name}' has no tensor for weight '${weight}'; build or load the model's weights first`);
  return t.data();
}

/**
 * Saves a model as model.json + shards into a folder (a path in Node) or a writable FileSource.
 * @example
 *   await saveLayersModel(model, 'weights/my-model');
 *   // later, in TensorFlow.js: tf.loadLayersModel('weights/my-model/model.json')
 */
export async function saveLayersModel(model: SavableModel, target: string | FileSource, opts: SaveOptions = {}): Promise<SavedFiles> {
  const sink = await resolveSink(target);
  const { modelJson, shards } = await modelArtifacts(model, opts);
  const write = sink.write!.bind(sink);
  for (const s of shards) await write(s.path, s.data);
  // model.json last: a folder with a model.json is a complete one.
  await write('model.json', JSON.stringify(modelJson));
  return { files: ['model.json', ...shards.map((s) => s.path)], weightBytes: shards.reduce((a, s) => a + s.data.length, 0) };
}
