// Keras .h5 files through h5wasm (HDF5 compiled to WebAssembly, in-memory file system, so the
// same code runs in browsers and Node): whole models saved with model.save('x.h5') and
// weights-only files from save_weights / keras.applications, read into host arrays per layer.
//
// Keras's legacy HDF5 layout (keras/src/legacy/saving/legacy_h5_format.py):
//   whole model:  /  attrs model_config (JSON), keras_version, backend
//                 /model_weights  attrs layer_names, then the weights-only layout below
//   weights only: /  attrs layer_names = [layer, …] (long lists split as layer_names0, layer_names1, …)
//                 /<layer>  attrs weight_names = ['<layer>/kernel:0', …] in the layer's weight order
//                 /<layer>/<weight name>  float dataset (the name's '/' makes nested groups)
import type h5wasmModule from 'h5wasm';
import { loadH5wasm, platform } from '../../platform/hooks.ts';
import { jsonErrorAt } from '../../io/files.ts';
import { ModelLoadError } from './errors.ts';

/** One weight as stored: its full name in the file, the short Keras name and the data. */
export interface H5Weight {
  name: string;
  /** 'kernel' for 'block1_conv1/kernel:0' (the last path piece without ':0'). */
  short: string;
  data: Float32Array;
  shape: number[];
}

export interface H5Layer {
  name: string;
  weights: H5Weight[];
}

export interface H5Contents {
  /** 'model' when the file has a model_config and model_weights group, else 'weights'. */
  kind: 'model' | 'weights';
  /** The parsed model_config attribute (Keras topology), or null for weights-only files. */
  modelConfig: unknown;
  /** Every layer the file lists, in file order (layers without weights have none). */
  layers: H5Layer[];
  kerasVersion?: string;
}

const SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
let fileCounter = 0;

// h5wasm is loaded through the platform's loader (useH5wasm) on the first .h5, never statically,
// so bundles without .h5 support leave its 5.7 MB out.
let h5wasm: typeof h5wasmModule;
type H5Module = Awaited<typeof h5wasmModule.ready>;
let ready: Promise<H5Module> | null = null;
function h5(): Promise<H5Module> {
  ready ??= loadH5wasm().then(async (lib) => {
    h5wasm = lib as typeof h5wasmModule;
    const m = await h5wasm.ready;
    // Turn HDF5's error stack into JS exceptions instead of prints on stderr.
    (m as unknown as { activate_throwing_error_handler(): number }).activate_throwing_error_handler();
    return m;
  });
  ready.catch(() => (ready = null)); // a failed load (no loader, offline) may be retried
  return ready;
}

/**
 * Checks the HDF5 signature and the superblock's end-of-file address: a non-HDF5 file or a
 * truncated one is an error saying what was expected.
 * @example
 *   checkHdf5(bytes, 'vgg19_weights.h5');
 */
export function checkHdf5(bytes: Uint8Array, where: string): void {
  // The superblock sits at 0 or, after a user block, at 512, 1024, 2048, … bytes.
  let at = -1;
  for (let o = 0; o + 8 <= bytes.length; o = o === 0 ? 512 : o * 2) {
    if (SIGNATURE.every((b, i) => bytes[o + i] === b)) {
      at = o;
      break;
    }
  }
  if (at < 0) throw new ModelLoadError(`${where} is not an HDF5 file (${sniff(bytes)}); expected a Keras .h5 written by model.save('x.h5') or model.save_weights('x.h5')`);
  const eof = superblockEof(bytes, at);
  if (eof !== null && bytes.length < eof) {
    throw new ModelLoadError(`${where} is truncated: its HDF5 superblock says the file is ${eof} bytes but only ${bytes.length} were read; download or copy it again`);
  }
}

/** What a non-HDF5 file looks like, to point at the right loader. */
function sniff(bytes: Uint8Array): string {
  if (bytes.length === 0) return 'it is empty';
  if (bytes[0] === 0x50 && bytes[1] === 0x4b) return "it is a zip archive: a Keras 3 '.keras' file; re-save it with model.save('x.h5') or convert it with tensorflowjs_converter";
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart();
  if (head.startsWith('{')) return 'it is JSON: for a TensorFlow.js model.json use loadLayersModel()';
  const hex = [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
  return `it starts with bytes ${hex}, not the HDF5 signature 89 48 44 46 0d 0a 1a 0a`;
}

/** The file size the superblock records (base address + end-of-file address), or null. */
function superblockEof(b: Uint8Array, at: number): number | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const version = b[at + 8];
  let sizeOffsets: number, addrAt: number;
  if (version === 0 || version === 1) {
    sizeOffsets = b[at + 13] ?? 0;
    addrAt = at + (version === 0 ? 24 : 28);
  } else if (version === 2 || version === 3) {
    sizeOffsets = b[at + 9] ?? 0;
    addrAt = at + 12;
  } else return null;
  const read = (o: number): number | null => {
    if (o + sizeOffsets > b.length) return null;
    if (sizeOffsets === 8) return Number(dv.getBigUint64(o, true));
    if (sizeOffsets === 4) return dv.getUint32(o, true);
    return null;
  };
  // v0/1: base, free-space, eof, driver; v2/3: base, superblock extension, eof, root.
  const base = read(addrAt);
  const eof = read(addrAt + 2 * sizeOffsets);
  if (base === null || eof === null) return null;
  return base + eof;
}

/**
 * Reads a Keras .h5 file's topology and every layer's weights into host arrays. Where the
 * platform parses .h5 away from this thread (Node: a worker with a deadline, because libhdf5
 * can loop forever on a damaged file), it does so; otherwise it is parsed here.
 * @example
 *   const h5 = await readH5(bytes, 'model.h5');
 *   h5.layers.find((l) => l.name === 'block1_conv1')!.weights[0]!.shape; // [3, 3, 3, 64]
 */
export async function readH5(bytes: Uint8Array, where: string): Promise<H5Contents> {
  checkHdf5(bytes, where);
  const elsewhere = platform().readH5;
  return elsewhere ? ((await elsewhere(bytes, where)) as H5Contents) : readH5InThread(bytes, where);
}

/**
 * readH5 in the calling thread, whatever the platform (the Node worker's own parse). A damaged
 * file can make libhdf5 loop here without end.
 */
export async function readH5InThread(bytes: Uint8Array, where: string): Promise<H5Contents> {
  checkHdf5(bytes, where);
  const m = await h5();
  const FS = m.FS as unknown as { writeFile(p: string, d: Uint8Array, o?: { canOwn?: boolean }): void; unlink(p: string): void };
  const name = `/camlight-${++fileCounter}.h5`;
  // canOwn: the in-memory file system keeps the caller's bytes instead of copying them.
  FS.writeFile(name, bytes, { canOwn: true });
  let file: InstanceType<typeof h5wasm.File> | null = null;
  try {
    try {
      file = new h5wasm.File(name, 'r');
    } catch (e) {
      throw new ModelLoadError(`${where} could not be opened as HDF5 (${hdf5Reason(e)}); the file may be damaged: download or copy it again`);
    }
    return readKeras(file, where);
  } catch (e) {
    if (e instanceof ModelLoadError) throw e;
    throw new ModelLoadError(`${where}: HDF5 read failed (${hdf5Reason(e)}); the file may be damaged or not a Keras file`);
  } finally {
    try {
      file?.close();
    } catch {
      /* already failed; nothing more to free */
    }
    FS.unlink(name);
  }
}

/** The most specific line of an HDF5 error stack. */
function hdf5Reason(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const lines = [...msg.matchAll(/#\d+: .*? in (\w+\(\)): (.*)/g)];
  const last = lines[lines.length - 1];
  return last ? `${last[1]} ${last[2]}` : msg.split('\n')[0]!.slice(0, 200);
}

type Group = InstanceType<typeof h5wasm.Group>;
type Dataset = InstanceType<typeof h5wasm.Dataset>;

function readKeras(file: Group, where: string): H5Contents {
  const rootAttrs = file.attrs;
  const configText = rootAttrs.model_config ? asString(rootAttrs.model_config.value) : null;
  const hasModelWeights = file.keys().includes('model_weights');
  const weightsRoot = hasModelWeights ? (file.get('model_weights') as Group) : file;
  const layerNames = stringList(weightsRoot, 'layer_names');
  if (!layerNames) {
    const keys = file.keys();
    const hint = keys.includes('layers') || keys.includes('_layer_checkpoint_dependencies')
      ? "it looks like a Keras 3 '.weights.h5' file; save the model in the legacy layout with model.save('x.h5')"
      : `its top-level entries are: ${keys.slice(0, 10).join(', ') || '(none)'}`;
    throw new ModelLoadError(`${where} is HDF5 but not a Keras model or weights file (no 'layer_names' attribute; ${hint})`);
  }
  let modelConfig: unknown = null;
  if (configText !== null) {
    try {
      modelConfig = JSON.parse(configText);
    } catch (e) {
      throw new ModelLoadError(`${where}: the model_config attribute is not valid JSON (${jsonErrorAt(e, configText)}); the file is damaged: save the model again`);
    }
  }
  const layers: H5Layer[] = layerNames.map((layer) => {
    const g = weightsRoot.get(layer);
    if (!g || !(g instanceof h5wasm.Group)) throw new ModelLoadError(`${where} lists layer '${layer}' in layer_names but has no group for it`);
    const names = stringList(g, 'weight_names') ?? [];
    return { name: layer, weights: names.map((w) => readWeight(g, w, layer, where)) };
  });
  const kv = rootAttrs.keras_version?.value;
  return { kind: modelConfig !== null && hasModelWeights ? 'model' : 'weights', modelConfig, layers, ...(kv != null ? { kerasVersion: asString(kv) } : {}) };
}

function readWeight(g: Group, name: string, layer: string, where: string): H5Weight {
  const ds = g.get(name);
  if (!ds || !(ds instanceof h5wasm.Dataset)) throw new ModelLoadError(`${where}: layer '${layer}' lists weight '${name}' but the file has no dataset for it`);
  const d = ds as Dataset;
  const meta = d.metadata;
  if (meta.type === 1 && meta.size === 2) {
    throw new ModelLoadError(`${where}: weight '${name}' of layer '${layer}' is stored as float16, which the HDF5 reader cannot decode; re-save the weights as float32`);
  }
  const v = d.value;
  let data: Float32Array;
  if (v instanceof Float32Array) data = v;
  else if (ArrayBuffer.isView(v) && !(v instanceof DataView) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array)) data = Float32Array.from(v as ArrayLike<number>);
  else if (v instanceof BigInt64Array || v instanceof BigUint64Array) data = Float32Array.from(v, Number);
  else if (typeof v === 'number' || typeof v === 'bigint') data = Float32Array.of(Number(v));
  else throw new ModelLoadError(`${where}: weight '${name}' of layer '${layer}' has dtype ${JSON.stringify(d.dtype)}, not a number type`);
  const short = (name.split('/').pop() ?? name).replace(/:\d+$/, '');
  return { name, short, data, shape: d.shape ?? [] };
}

/** A list-of-strings attribute, joined from Keras's chunks (name0, name1, …) when it was split. */
function stringList(g: Group, name: string): string[] | null {
  const attrs = g.attrs;
  if (attrs[name]) return toStrings(attrs[name].value);
  if (!attrs[`${name}0`]) return null;
  const out: string[] = [];
  for (let i = 0; attrs[`${name}${i}`]; i++) out.push(...toStrings(attrs[`${name}${i}`]!.value));
  return out;
}

function toStrings(v: unknown): string[] {
  if (Array.isArray(v)) return v.map(asString);
  if (v == null) return [];
  // Keras writes an empty numeric array for a layer without weights.
  if (ArrayBuffer.isView(v)) return v.byteLength === 0 ? [] : v instanceof Uint8Array ? [asString(v)] : Array.from(v as unknown as ArrayLike<number>, String);
  return [asString(v)];
}

function asString(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder().decode(v).replace(/\0+$/, '');
  return String(v);
}
