// The TensorFlow.js layers format: model.json (Keras topology + weights manifest) and binary
// shards. Parses model.json, reads the shards relative to it and decodes every weight to float32.
//
// Weight data, as tfjs-core's io_utils and the Python converter write it: each manifest group's
// shards are concatenated in `paths` order into one little-endian byte stream, and the group's
// weights follow one another in it with no padding, in manifest order. A weight takes
// size·bytes(dtype) bytes: float32/int32 4, bool 1, float16 2. With `quantization`
// {dtype: 'uint8'|'uint16', scale, min} it takes size·1 or size·2 bytes and value = q·scale + min
// (rounded for int32 weights); with {dtype: 'float16'} it takes size·2 bytes of IEEE halves.
import { confinedJoin, jsonErrorAt, describePath, FileNotFoundError, FileTooLargeError, dirname, utf8, type FileSource } from '../../io/files.ts';
import { ModelLoadError } from './errors.ts';
import { halfToFloat32 } from './half.ts';

export interface ManifestEntry {
  name: string;
  shape: number[];
  dtype: string;
  group?: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

export interface WeightsGroup {
  paths: string[];
  weights: ManifestEntry[];
}

export interface ModelJson {
  format?: string;
  generatedBy?: string;
  convertedBy?: string | null;
  modelTopology: unknown;
  weightsManifest: WeightsGroup[];
  [key: string]: unknown;
}

/** A weight decoded on the host. */
export interface HostWeight {
  data: Float32Array;
  shape: number[];
}

const BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, float16: 2, uint8: 1, uint16: 2 };
const READABLE = 'float32, float16, int32, bool, and quantised uint8/uint16/float16';

/**
 * Parses and checks a model.json's text: a Keras layers model with a weights manifest.
 * `where` (the file's location) goes into every error.
 * @example
 *   const json = parseModelJson(text, 'models/vgg19/model.json');
 */
export function parseModelJson(text: string, where: string): ModelJson {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new ModelLoadError(`${where} is not valid JSON (${jsonErrorAt(e, text)}); expected a TensorFlow.js model.json`);
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw new ModelLoadError(`${where}: expected a JSON object (a TensorFlow.js model.json)`);
  const m = j as Record<string, unknown>;
  const topo = m.modelTopology as Record<string, unknown> | undefined;
  const isGraph = m.format === 'graph-model' || (topo != null && typeof topo === 'object' && ('node' in topo || 'versions' in topo));
  if (isGraph) {
    throw new ModelLoadError(
      `${where} is a TensorFlow.js graph model (format '${String(m.format ?? 'graph-model')}', converted from a SavedModel or frozen graph); ` +
        'camlight loads Keras layers models. Convert the Keras model instead: ' +
        '`tensorflowjs_converter --input_format keras model.h5 out_dir/` (or --input_format keras_saved_model), ' +
        'or load the .h5 directly with loadH5Model().',
    );
  }
  if (m.format !== undefined && m.format !== 'layers-model') {
    throw new ModelLoadError(`${where} has format '${String(m.format)}'; camlight loads 'layers-model' files (Keras models converted by tensorflowjs_converter or saved by tf.LayersModel.save)`);
  }
  if (!topo || typeof topo !== 'object') {
    throw new ModelLoadError(`${where} has no modelTopology (a weights manifest only?); camlight needs the model.json that tensorflowjs_converter or tf.LayersModel.save writes, with the Keras topology in it`);
  }
  if (!Array.isArray(m.weightsManifest)) {
    throw new ModelLoadError(`${where} has no weightsManifest array; a layers model.json lists its weight shards there`);
  }
  for (const [gi, g] of (m.weightsManifest as unknown[]).entries()) {
    const grp = g as Partial<WeightsGroup>;
    if (!grp || typeof grp !== 'object' || !Array.isArray(grp.paths) || !Array.isArray(grp.weights)) {
      throw new ModelLoadError(`${where}: weightsManifest[${gi}] needs 'paths' and 'weights' arrays`);
    }
    for (const [wi, e] of grp.weights.entries()) checkEntry(e, `${where}: weightsManifest[${gi}].weights[${wi}]`);
  }
  return m as ModelJson;
}

/** model.json holds the topology and manifest only; anything over 256 MiB is not one. */
const MODEL_JSON_MAX_BYTES = 256 * 2 ** 20;

// Largest weight camlight accepts: 2^31 − 1 values (a Float32Array's practical limit is lower).
const MAX_VALUES = 2 ** 31 - 1;

/** A manifest entry's fields have the types the format defines (else a message naming the entry). */
function checkEntry(e: unknown, at: string): void {
  const fix = 're-export the model with tensorflowjs_converter';
  if (!e || typeof e !== 'object' || Array.isArray(e)) throw new ModelLoadError(`${at} is not an object with name, shape and dtype; ${fix}`);
  const w = e as Record<string, unknown>;
  if (typeof w.name !== 'string') throw new ModelLoadError(`${at}: 'name' must be a string; ${fix}`);
  const shape = w.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new ModelLoadError(`${at} ('${w.name}'): 'shape' must be a list of non-negative integers, got ${JSON.stringify(shape)?.slice(0, 80)}; ${fix}`);
  }
  if (shape.reduce((a: number, b: number) => a * b, 1) > MAX_VALUES) throw new ModelLoadError(`${at} ('${w.name}'): shape [${shape.join(', ')}] holds more than 2^31 values`);
  if (typeof w.dtype !== 'string') throw new ModelLoadError(`${at} ('${w.name}'): 'dtype' must be a string; ${fix}`);
  const q = w.quantization;
  if (q !== undefined && (!q || typeof q !== 'object' || typeof (q as { dtype?: unknown }).dtype !== 'string')) {
    throw new ModelLoadError(`${at} ('${w.name}'): 'quantization' must be an object with a 'dtype'; ${fix}`);
  }
  if (w.group !== undefined && typeof w.group !== 'string') throw new ModelLoadError(`${at} ('${w.name}'): 'group' must be a string`);
}

/**
 * Bytes one manifest entry takes in its group's stream; throws for a dtype camlight cannot read.
 * @example
 *   weightByteLength({ name: 'fc/kernel', shape: [10, 4], dtype: 'float32', quantization: { dtype: 'uint8', scale: 0.01, min: -1 } }, 'model.json'); // 40
 */
export function weightByteLength(e: ManifestEntry, where: string): number {
  const size = e.shape.reduce((a, b) => a * b, 1);
  if (e.quantization) {
    const q = e.quantization.dtype;
    if (q !== 'uint8' && q !== 'uint16' && q !== 'float16') {
      throw new ModelLoadError(`${where}: weight '${e.name}' has quantization dtype '${q}'; camlight reads ${READABLE}`);
    }
    return size * BYTES[q]!;
  }
  const b = e.dtype === 'uint8' || e.dtype === 'uint16' ? undefined : BYTES[e.dtype];
  if (b === undefined) throw new ModelLoadError(`${where}: weight '${e.name}' has dtype '${e.dtype}'; camlight reads ${READABLE}`);
  return size * b;
}

/**
 * Decodes one group's weights from its concatenated shard bytes (checked long enough first).
 * @example
 *   const w = decodeWeightGroup(json.weightsManifest[0], bytes, 'model.json');
 *   w.get('dense/kernel'); // { data: Float32Array, shape: [784, 10] }
 */
export function decodeWeightGroup(group: WeightsGroup, bytes: Uint8Array, where: string): Map<string, HostWeight> {
  const out = new Map<string, HostWeight>();
  let off = 0;
  for (const e of group.weights) {
    const n = weightByteLength(e, where);
    const size = e.shape.reduce((a, b) => a * b, 1);
    const raw = bytes.subarray(off, off + n);
    if (raw.length < n) throw new ModelLoadError(`${where}: weight '${e.name}' needs ${n} bytes at offset ${off} but the shards end at ${bytes.length}`);
    off += n;
    if (e.group === 'optimizer') continue;
    const data = decodeValues(e, raw, size, where);
    checkFinite(data, e.name, where);
    out.set(e.name, { data, shape: [...e.shape] });
  }
  if (off !== bytes.length) {
    throw new ModelLoadError(`${where}: the shards hold ${bytes.length} bytes but the manifest's weights take ${off}; a shard is damaged or belongs to another model: download or copy it again`);
  }
  return out;
}

/**
 * Throws when a weight holds NaN or ±Infinity (a damaged file, or a diverged training run),
 * naming the weight and the first bad value's position.
 * @example
 *   checkFinite(kernel, 'conv1/kernel', 'model.json');
 */
export function checkFinite(data: Float32Array, name: string, where: string): void {
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v - v !== 0) {
      throw new ModelLoadError(`${where}: weight '${name}' holds ${v} at index ${i}; the file is damaged or the model diverged while training: use another copy or checkpoint`);
    }
  }
}

function decodeValues(e: ManifestEntry, raw: Uint8Array, size: number, where: string): Float32Array {
  // float32 at a 4-byte-aligned offset is used in place (big models: no second copy); anything
  // else is copied so typed-array views are aligned whatever the weight's offset in the stream.
  if (e.dtype === 'float32' && !e.quantization && raw.byteOffset % 4 === 0) return new Float32Array(raw.buffer, raw.byteOffset, size);
  const buf = raw.slice().buffer;
  const q = e.quantization;
  if (q) {
    if (e.dtype !== 'float32' && e.dtype !== 'int32') {
      throw new ModelLoadError(`${where}: weight '${e.name}' is quantised to ${q.dtype} from dtype '${e.dtype}'; only float32 and int32 weights can be quantised`);
    }
    if (q.dtype === 'float16') {
      if (e.dtype !== 'float32') throw new ModelLoadError(`${where}: weight '${e.name}': float16 quantisation applies to float32 weights only, not ${e.dtype}`);
      return halfToFloat32(new Uint16Array(buf));
    }
    if (typeof q.scale !== 'number' || typeof q.min !== 'number') {
      throw new ModelLoadError(`${where}: weight '${e.name}' is quantised to ${q.dtype} but lacks 'scale' and 'min'`);
    }
    const qv = q.dtype === 'uint8' ? new Uint8Array(buf) : new Uint16Array(buf);
    const out = new Float32Array(size);
    const { scale, min } = q;
    if (e.dtype === 'int32') for (let i = 0; i < size; i++) out[i] = Math.round(qv[i]! * scale + min);
    else for (let i = 0; i < size; i++) out[i] = qv[i]! * scale + min;
    return out;
  }
  switch (e.dtype) {
    case 'float32':
      return new Float32Array(buf);
    case 'float16':
      return halfToFloat32(new Uint16Array(buf));
    case 'int32':
      return Float32Array.from(new Int32Array(buf));
    case 'bool':
      return Float32Array.from(new Uint8Array(buf));
  }
  throw new ModelLoadError(`${where}: weight '${e.name}' has dtype '${e.dtype}'; camlight reads ${READABLE}`);
}

/**
 * Reads every shard a manifest lists (relative to model.json) and decodes all weights by name.
 * Missing or short shards are errors naming the shard, model.json and the byte counts.
 * @example
 *   const weights = await readWeights(files, 'model.json', json.weightsManifest);
 */
export async function readWeights(source: FileSource, modelJsonPath: string, manifest: WeightsGroup[]): Promise<Map<string, HostWeight>> {
  const where = describePath(source, modelJsonPath);
  const out = new Map<string, HostWeight>();
  for (const group of manifest) {
    const expected = group.weights.reduce((a, e) => a + weightByteLength(e, where), 0);
    // Shard paths stay inside model.json's folder; checked for all before any is read.
    const shardPaths = group.paths.map((p) => confinedJoin(dirname(modelJsonPath), p, where, 'weight shard'));
    const shards = await Promise.all(
      shardPaths.map(async (p, i) => {
        try {
          // No shard can be longer than its whole group: a longer file is refused unread.
          return await source.read(p, { maxBytes: expected });
        } catch (e) {
          if (e instanceof FileTooLargeError) {
            throw new ModelLoadError(
              `weight shard '${group.paths[i]}' listed in ${where} holds ${e.size} bytes, more than all ${expected} bytes the manifest's weights need; ` +
                'the shard is damaged or belongs to another model: download or copy it again',
            );
          }
          if (!(e instanceof FileNotFoundError)) throw e;
          throw new ModelLoadError(
            `weight shard '${group.paths[i]}' listed in ${where} is missing (looked for ${describePath(source, p)}); ` +
              'copy every group*-shard*.bin file next to model.json, as the converter wrote them',
          );
        }
      }),
    );
    checkShardLengths(group, shards, expected, where);
    const bytes = concat(shards, expected);
    for (const [k, v] of decodeWeightGroup(group, bytes, where)) out.set(k, v);
  }
  return out;
}

/** Names the short shard with its expected and actual byte counts when the stream is too short. */
function checkShardLengths(group: WeightsGroup, shards: Uint8Array[], expected: number, where: string): void {
  const actual = shards.reduce((a, s) => a + s.length, 0);
  if (actual > expected) {
    throw new ModelLoadError(
      `the weight shards listed in ${where} (${group.paths.join(', ')}) hold ${actual} bytes but the manifest's weights take exactly ${expected}; ` +
        'extra bytes would shift every later weight: a shard is damaged or belongs to another model, download or copy it again',
    );
  }
  if (actual === expected) return;
  if (!shards.length) throw new ModelLoadError(`${where}: a weightsManifest group lists weights (${expected} bytes) but no shard paths`);
  // The converter cuts a group into equal shards with a shorter last one: a shard before the
  // last that is shorter than the longest of those is the broken one, else the last is.
  const head = shards.slice(0, -1);
  const full = Math.max(0, ...head.map((s) => s.length));
  let bad = head.findIndex((s) => s.length < full);
  if (bad < 0) bad = shards.length - 1;
  const want = bad === shards.length - 1 ? expected - (actual - shards[bad]!.length) : full;
  throw new ModelLoadError(
    `weight shard '${group.paths[bad]}' listed in ${where} holds ${shards[bad]!.length} bytes but should hold ${want} ` +
      `(the manifest's weights need ${expected} bytes in all, the shards give ${actual}); the file is truncated: download or copy it again`,
  );
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(Math.max(total, parts.reduce((a, s) => a + s.length, 0)));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * Reads and parses model.json from a source.
 * @example
 *   const json = await readModelJson(nodeFiles('models/vgg19'), 'model.json');
 */
export async function readModelJson(source: FileSource, path: string): Promise<ModelJson> {
  let bytes: Uint8Array;
  try {
    bytes = await source.read(path, { maxBytes: MODEL_JSON_MAX_BYTES });
  } catch (e) {
    if (e instanceof FileNotFoundError) throw new ModelLoadError(`model.json not found: ${describePath(source, path)}`);
    if (e instanceof FileTooLargeError) throw new ModelLoadError(`${describePath(source, path)} holds ${e.size} bytes; a model.json (topology and manifest) is far smaller than ${MODEL_JSON_MAX_BYTES} bytes: is it the right file?`);
    throw e;
  }
  return parseModelJson(utf8(bytes), describePath(source, path));
}
