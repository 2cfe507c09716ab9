// Test fixtures for the loaders: model folders in the TensorFlow.js layers format written the
// way tensorflowjs_converter writes them (float32, float16 and affine-quantised shards), and
// Keras-layout .h5 files written with h5wasm, from tfjs-layers models with seeded weights.
//
// Quantised variants follow tfjs-converter's quantization.py and write_weights.py:
//   uint8/uint16: min, max of the weight (float64); scale = (max - min) / qmax; when 0 lies in
//   [min, max] the range is nudged so 0 is exact: zp = round(-min / scale), min' = -zp·scale,
//   max' = qmax·scale + min'; q = round((clip(x, min', max') - min') / scale) (round half to
//   even, like np.round); a constant weight gives q = 0, scale 1, min = the value. The manifest
//   entry keeps dtype 'float32' and gains quantization {dtype, min, scale, original_dtype}.
//   float16: x.astype(float16) (round to nearest even); quantization {dtype: 'float16', original_dtype}.
// Each group's bytes are concatenated and cut into shards of `shardBytes` named
// group<g>-shard<i>of<n>.bin, with paths relative to model.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import h5wasm from 'h5wasm';
import * as tfl from '@tensorflow/tfjs-layers';
import { float32ToHalf } from '../../src/nn/loaders/half.ts';
import * as assert from 'uvu/assert';
import type { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { randn, tf } from '../helpers.ts';

export { tfl };

/** Seeded input data of a shape. */
export const input = (shape: number[], seed: number) => randn(shape.reduce((a, b) => a * b, 1), seed);

/** camlight's prediction for host data, read back (tensors freed). */
export async function predict(model: Model, x: Float32Array, shape: number[]): Promise<Float32Array> {
  const t = upload(x, shape);
  const y = model.predict(t);
  const out = await y.data();
  t.dispose();
  y.dispose();
  return out;
}

/** Asserts that p (or calling it) rejects with `cls` and a message matching every pattern. */
export async function rejects(p: Promise<unknown> | (() => unknown), cls: new (...a: never[]) => Error, re: RegExp[], what: string): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, cls, `${what}: ${String(e)}`);
    for (const r of re) assert.match((e as Error).message, r, `${what}: '${(e as Error).message}' lacks ${r}`);
    return e as Error;
  }
  throw new Error(`${what}: expected an error`);
}

export interface Artifacts {
  modelTopology: unknown;
  weightSpecs: { name: string; shape: number[]; dtype: string }[];
  weightData: ArrayBuffer;
}

/** Sets every weight of a tfjs-layers model from a seeded generator (variances positive). */
export function seedWeights(model: tfl.LayersModel, seed: number): void {
  model.setWeights(
    model.weights.map((w, i) => {
      const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
      const variance = /moving_variance/.test(w.originalName);
      return tf.tensor(randn(n, seed + i, variance ? 0.5 : -0.5, variance ? 1.5 : 0.5), w.shape as number[]);
    }),
  );
}

/** The artifacts tfjs-layers' own save produces (through a save handler). */
export async function artifactsOf(model: tfl.LayersModel): Promise<Artifacts> {
  let out: Artifacts | null = null;
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const wd = a.weightData!;
      const weightData = Array.isArray(wd) ? tf.io.concatenateArrayBuffers(wd) : (wd as ArrayBuffer);
      out = { modelTopology: a.modelTopology, weightSpecs: a.weightSpecs as Artifacts['weightSpecs'], weightData };
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  return out!;
}

export type Variant = 'float32' | 'float16' | 'uint8' | 'uint16';

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Affine quantisation exactly as tfjs-converter's quantize_weights does it. */
export function quantizeAffine(data: Float32Array, dtype: 'uint8' | 'uint16'): { q: Uint8Array | Uint16Array; scale: number; min: number } {
  const qmax = dtype === 'uint8' ? 255 : 65535;
  const q = dtype === 'uint8' ? new Uint8Array(data.length) : new Uint16Array(data.length);
  let min = Infinity, max = -Infinity;
  for (const v of data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  if (min === max) return { q, scale: 1, min };
  const scale = (max - min) / qmax;
  let lo = min, hi = max;
  if (min <= 0 && 0 <= max) {
    const zp = roundHalfEven(-min / scale);
    lo = -zp * scale;
    hi = qmax * scale + lo;
  }
  for (let i = 0; i < data.length; i++) q[i] = roundHalfEven((Math.min(Math.max(data[i]!, lo), hi) - lo) / scale);
  return { q, scale, min: lo };
}

/** Values as camlight (and tfjs) read a quantised weight back: q·scale + min in float32. */
export function dequantize(q: Uint8Array | Uint16Array, scale: number, min: number): Float32Array {
  return Float32Array.from(q, (v) => v * scale + min);
}

/**
 * The model.json object and shard files for artifacts in a variant. `groups` > 1 spreads the
 * weights over several manifest groups (as the Python converter does, one per layer).
 */
export function layersFolder(
  a: Artifacts,
  { variant = 'float32', shardBytes = 4 * 1024 * 1024, groups = 1 }: { variant?: Variant; shardBytes?: number; groups?: number } = {},
): { modelJson: Record<string, unknown>; files: Map<string, Uint8Array>; dequantized: Map<string, Float32Array> } {
  const files = new Map<string, Uint8Array>();
  const dequantized = new Map<string, Float32Array>();
  let off = 0;
  const entries = a.weightSpecs.map((spec) => {
    const n = spec.shape.reduce((x, y) => x * y, 1);
    const data = new Float32Array(a.weightData.slice(off, off + 4 * n));
    off += 4 * n;
    if (variant === 'float32') {
      dequantized.set(spec.name, data);
      return { entry: { ...spec }, bytes: new Uint8Array(data.buffer) };
    }
    if (variant === 'float16') {
      const h = float32ToHalf(data);
      dequantized.set(spec.name, Float32Array.from(h, (b) => halfValue(b)));
      return { entry: { ...spec, quantization: { dtype: 'float16', original_dtype: 'float32' } }, bytes: new Uint8Array(h.buffer) };
    }
    const { q, scale, min } = quantizeAffine(data, variant);
    dequantized.set(spec.name, dequantize(q, scale, min));
    return { entry: { ...spec, quantization: { dtype: variant, min, scale, original_dtype: 'float32' } }, bytes: new Uint8Array(q.buffer) };
  });
  const per = Math.ceil(entries.length / groups);
  const manifest = [];
  for (let g = 0; g * per < entries.length; g++) {
    const part = entries.slice(g * per, (g + 1) * per);
    const total = part.reduce((x, e) => x + e.bytes.length, 0);
    const stream = new Uint8Array(total);
    let o = 0;
    for (const e of part) {
      stream.set(e.bytes, o);
      o += e.bytes.length;
    }
    const n = Math.max(1, Math.ceil(total / shardBytes));
    const paths: string[] = [];
    for (let i = 0; i < n; i++) {
      const p = `group${g + 1}-shard${i + 1}of${n}.bin`;
      paths.push(p);
      files.set(p, stream.slice(i * shardBytes, Math.min(total, (i + 1) * shardBytes)));
    }
    manifest.push({ paths, weights: part.map((e) => e.entry) });
  }
  const modelJson = {
    format: 'layers-model',
    generatedBy: 'keras v2.15.0',
    convertedBy: 'TensorFlow.js Converter v4.22.0',
    modelTopology: a.modelTopology,
    weightsManifest: manifest,
  };
  return { modelJson, files, dequantized };
}

/** Independent float16 reference: value = (-1)^s · 2^(e-15) · (1 + m/1024), subnormals 2^-14 · m/1024. */
export function halfValue(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** Writes a layers folder (model.json + shards) into `dir`. */
export async function writeFolder(dir: string, modelJson: unknown, files: Map<string, Uint8Array>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [p, d] of files) await writeFile(join(dir, p), d);
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJson));
}

export interface H5LayerSpec {
  name: string;
  /** `int64`: written as int64 (Keras's Normalization keeps its `count` so), else float32. */
  weights: { name: string; data: Float32Array; shape: number[]; int64?: boolean }[];
}

let h5Count = 0;
/**
 * A Keras-layout .h5 file (h5py's layout: fixed-length string attributes, nested groups from
 * the '/' in weight names). With `modelConfig` it is a whole-model file (model_weights group).
 */
export async function kerasH5(layers: H5LayerSpec[], modelConfig?: unknown, libver: 'earliest' | 'latest' = 'earliest'): Promise<Uint8Array> {
  const M = await h5wasm.ready;
  const path = `/fixture-${++h5Count}.h5`;
  // h5py's default libver is 'earliest' (superblock version 0); 'latest' writes version 2+.
  const f = new h5wasm.File(path, 'w', { libver: libver === 'earliest' ? ['earliest', 'latest'] : 'latest' });
  const strs = (names: string[]): [string[], number[], string] => [names, [names.length], `S${Math.max(1, ...names.map((n) => n.length))}`];
  let root: InstanceType<typeof h5wasm.Group> = f;
  if (modelConfig !== undefined) {
    f.create_attribute('model_config', JSON.stringify(modelConfig));
    f.create_attribute('keras_version', '2.15.0');
    f.create_attribute('backend', 'tensorflow');
    root = f.create_group('model_weights');
  }
  root.create_attribute('layer_names', ...strs(layers.map((l) => l.name)));
  root.create_attribute('keras_version', '2.15.0');
  root.create_attribute('backend', 'tensorflow');
  // h5py creates the groups on a path as needed: a layer named 'conv1/conv' (tf.keras's DenseNet)
  // is the group conv1 → conv.
  type Group = InstanceType<typeof h5wasm.Group>;
  const groupAt = (from: Group, path: string[]): Group => path.reduce((at, p) => (at.get(p) as Group | null) ?? at.create_group(p), from);
  for (const l of layers) {
    const g = groupAt(root, l.name.split('/'));
    if (l.weights.length) g.create_attribute('weight_names', ...strs(l.weights.map((w) => w.name)));
    else g.create_attribute('weight_names', new Float32Array(0), [0], '<f');
    for (const w of l.weights) {
      const parts = w.name.split('/');
      const data = w.int64 ? BigInt64Array.from(w.data, (v) => BigInt(Math.round(v))) : w.data;
      groupAt(g, parts.slice(0, -1)).create_dataset({ name: parts[parts.length - 1]!, data, shape: w.shape, dtype: w.int64 ? '<q' : '<f' });
    }
  }
  f.close();
  const bytes = (M.FS as unknown as { readFile(p: string): Uint8Array }).readFile(path);
  (M.FS as unknown as { unlink(p: string): void }).unlink(path);
  return bytes;
}

/** The per-layer weights of a tfjs-layers model in h5 form ('<layer>/<weight>:0' names). */
export function h5LayersOf(model: tfl.LayersModel): H5LayerSpec[] {
  return model.layers.map((layer) => ({
    name: layer.name,
    weights: layer.weights.map((w) => ({
      name: `${w.originalName}:0`,
      data: w.read().dataSync() as Float32Array,
      shape: w.shape as number[],
    })),
  }));
}

/** A small Sequential CNN touching conv, batch norm, pooling, depthwise/separable conv and dense. */
export function sequentialModel(seed = 1): tfl.LayersModel {
  const m = tfl.sequential({
    name: 'seq_fixture',
    layers: [
      tfl.layers.conv2d({ inputShape: [9, 9, 3], filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }),
      tfl.layers.batchNormalization({ name: 'bn1' }),
      tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }),
      tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', name: 'dw' }),
      tfl.layers.separableConv2d({ filters: 5, kernelSize: 3, activation: 'relu', name: 'sep' }),
      tfl.layers.flatten({ name: 'flat' }),
      tfl.layers.dense({ units: 16, activation: 'relu', name: 'fc1' }),
      tfl.layers.dropout({ rate: 0.3, name: 'drop' }),
      tfl.layers.dense({ units: 7, activation: 'softmax', name: 'predictions' }),
    ],
  });
  seedWeights(m, seed);
  return m;
}

/** A small functional DAG: two branches concatenated, a residual add, global pooling, softmax. */
export function functionalModel(seed = 2): tfl.LayersModel {
  const x = tfl.input({ shape: [8, 8, 4], name: 'image' });
  const a = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'stem' }).apply(x) as tfl.SymbolicTensor;
  const b1 = tfl.layers.conv2d({ filters: 3, kernelSize: 1, name: 'branch1x1' }).apply(a) as tfl.SymbolicTensor;
  const b2 = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', useBias: false, name: 'branch3x3' }).apply(a) as tfl.SymbolicTensor;
  const cat = tfl.layers.concatenate({ name: 'mixed' }).apply([b1, b2]) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ name: 'mixed_bn' }).apply(cat) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'residual' }).apply([a, bn]) as tfl.SymbolicTensor;
  const pooled = tfl.layers.globalAveragePooling2d({ name: 'avg_pool' }).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 5, activation: 'softmax', name: 'predictions' }).apply(pooled) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: out, name: 'dag_fixture' });
  seedWeights(m, seed);
  return m;
}

/** tfjs's prediction for NHWC input data. */
export function tfPredict(model: tfl.LayersModel, x: Float32Array, shape: number[]): Float32Array {
  return tf.tidy(() => (model.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array);
}

/** A copy of a tfjs model with the given weights (by name), e.g. dequantised ones. */
export async function withWeights(model: tfl.LayersModel, weights: Map<string, Float32Array>): Promise<tfl.LayersModel> {
  const a = await artifactsOf(model);
  const copy = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: a.modelTopology as object, weightSpecs: a.weightSpecs as tf.io.WeightsManifestEntry[], weightData: a.weightData }));
  copy.setWeights(copy.weights.map((w) => tf.tensor(weights.get(w.originalName)!, w.shape as number[])));
  return copy;
}

/**
 * A weights-only .h5 of a camlight model laid out as Keras's save_weights writes one: every
 * layer listed in layer_names, one group per layer (a layer named 'conv1/conv' is the group
 * conv1 → conv), datasets at '<layer>/<layer>/<weight>:0'. `rename` gives some layers another
 * name in the file (e.g. an older Keras's name for the classifier).
 */
export async function modelWeightsH5(m: Model, rename: Record<string, string> = {}): Promise<Uint8Array> {
  const layers = new Map<string, H5LayerSpec>(m.layers.map((l) => [l.name, { name: rename[l.name] ?? l.name, weights: [] }]));
  for (const [name, w] of await m.readWeights()) {
    const layer = name.slice(0, name.lastIndexOf('/'));
    const file = rename[layer] ?? layer;
    layers.get(layer)!.weights.push({ name: `${file}/${name.slice(layer.length + 1)}:0`, data: w.data, shape: w.shape });
  }
  return kerasH5([...layers.values()]);
}

/** Every weight of `got` equals the one of the same name in `want` (names, shapes and values). */
export async function sameWeights(got: Model, want: Map<string, { data: Float32Array; shape: number[] }>, what: string): Promise<void> {
  const g = await got.readWeights();
  assert.equal([...g.keys()], [...want.keys()], `${what}: weight names`);
  for (const [k, w] of want) {
    assert.equal(g.get(k)!.shape, w.shape, `${what}: ${k} shape`);
    assert.ok(g.get(k)!.data.every((v, i) => v === w.data[i]), `${what}: ${k} differs from the file's`);
  }
}
