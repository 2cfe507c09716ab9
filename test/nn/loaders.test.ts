// End to end: tfjs-layers models (Sequential and a functional DAG, seeded weights) saved in the
// TensorFlow.js layers format (float32, float16, uint8/uint16-quantised; one or many shards and
// groups), loaded by camlight from disk, memory and fetch, predicting like tfjs; camlight's own
// save opened by tfjs-layers; and every load error carrying the file it came from.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShapeError } from '../../src/gpu/errors.ts';
import { memoryFiles } from '../../src/io/files.ts';
import { fetchFiles } from '../../src/io/fetch-files.ts';
import { convert, loadLayersModel, ModelLoadError, saveLayersModel } from '../../src/nn/loaders/index.ts';
import { artifactsOf, functionalModel, layersFolder, sequentialModel, tfl, tfPredict, withWeights, writeFolder, type Variant, input, predict, rejects } from './loader-fixtures.ts';
import { assertClose, gpu, tf } from '../helpers.ts';

const s = suite('nn/loaders');
let tmp = '';
s.before(async () => {
  await gpu();
  tmp = await mkdtemp(join(tmpdir(), 'camlight-loaders-'));
});
s.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const SEQ_IN = [2, 9, 9, 3];
const DAG_IN = [3, 8, 8, 4];
s('float32 Sequential from a folder on disk predicts like tfjs (softmax atol 1e-4)', async () => {
  const tm = sequentialModel();
  const { modelJson, files } = layersFolder(await artifactsOf(tm));
  const dir = join(tmp, 'seq32');
  await writeFolder(dir, modelJson, files);
  const model = await loadLayersModel(join(dir, 'model.json'));
  const x = input(SEQ_IN, 11);
  const r = assertClose(await predict(model, x, SEQ_IN), tfPredict(tm, x, SEQ_IN), { rtol: 0, atol: 1e-4, what: 'sequential softmax' });
  console.log(`    seq float32: max abs ${r.maxAbs.toExponential(2)}`);
  model.dispose();
});

s('float32 functional DAG (converter wrapper) over many shards and groups, from memory and via fetch', async () => {
  const tm = functionalModel();
  const { modelJson, files } = layersFolder(await artifactsOf(tm), { shardBytes: 200, groups: 3 });
  assert.ok(files.size > 6, `expected many shards, got ${files.size}`);
  // The Python converter's wrapper: {keras_version, backend, model_config: {class_name: 'Functional', …}}.
  const topo = modelJson.modelTopology as { class_name: string; config: unknown };
  modelJson.modelTopology = { keras_version: '2.15.0', backend: 'tensorflow', model_config: { ...topo, class_name: 'Functional' }, training_config: { loss: 'categorical_crossentropy' } };
  const x = input(DAG_IN, 12);
  const want = tfPredict(tm, x, DAG_IN);
  const mem = memoryFiles(new Map([...files].map(([k, v]) => [`m/${k}`, v])));
  await mem.write!('m/model.json', JSON.stringify(modelJson));
  const a = await loadLayersModel({ source: mem, path: 'm/model.json' });
  assertClose(await predict(a, x, DAG_IN), want, { rtol: 0, atol: 1e-4, what: 'functional (memory)' });
  a.dispose();
  const fake = (async (u: RequestInfo | URL) => {
    const key = String(u).replace('https://models.example/', '');
    const data = mem.files.get(key);
    return data ? new Response(data.slice()) : new Response('', { status: 404 });
  }) as typeof fetch;
  const b = await loadLayersModel({ source: fetchFiles('https://models.example/m/', fake), path: 'model.json' });
  assertClose(await predict(b, x, DAG_IN), want, { rtol: 0, atol: 1e-4, what: 'functional (fetch)' });
  b.dispose();
});

for (const variant of ['float16', 'uint8', 'uint16'] as Variant[]) {
  s(`${variant} weights predict like tfjs on the dequantised weights; close to float32 loosely`, async () => {
    const tm = sequentialModel(5);
    const { modelJson, files, dequantized } = layersFolder(await artifactsOf(tm), { variant });
    const dir = join(tmp, `seq-${variant}`);
    await writeFolder(dir, modelJson, files);
    const model = await loadLayersModel(join(dir, 'model.json'));
    const x = input(SEQ_IN, 13);
    const got = await predict(model, x, SEQ_IN);
    const tq = await withWeights(tm, dequantized);
    assertClose(got, tfPredict(tq, x, SEQ_IN), { rtol: 0, atol: 1e-4, what: `${variant} vs tfjs dequantised` });
    const loose = variant === 'uint8' ? 5e-2 : 5e-3;
    const r = assertClose(got, tfPredict(tm, x, SEQ_IN), { rtol: 0, atol: loose, what: `${variant} vs float32` });
    console.log(`    ${variant}: max abs vs float32 model ${r.maxAbs.toExponential(2)} (bound ${loose})`);
    model.dispose();
  });
}

s('camlight saves a model that tfjs-layers loads and that predicts the same; convert writes weights/<name>/', async () => {
  const tm = functionalModel(9);
  const { modelJson, files } = layersFolder(await artifactsOf(tm));
  const src = memoryFiles(files);
  await src.write!('model.json', JSON.stringify(modelJson));
  const model = await loadLayersModel(src);
  const dir = join(tmp, 'saved');
  const saved = await saveLayersModel(model, dir, { shardBytes: 256 });
  assert.ok(saved.files.length > 3, `several shards: ${saved.files.join(', ')}`);
  const json = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
  assert.is(json.format, 'layers-model');
  assert.is(json.convertedBy, 'camlight');
  assert.match(json.generatedBy, /camlight/);
  const shards = await Promise.all((json.weightsManifest[0].paths as string[]).map((p) => readFile(join(dir, p))));
  assert.ok(shards.slice(0, -1).every((b) => b.length === 256));
  const weightData = tf.io.concatenateArrayBuffers(shards.map((b) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  const back = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData }));
  const x = input(DAG_IN, 14);
  const want = tfPredict(tm, x, DAG_IN);
  assertClose(tfPredict(back, x, DAG_IN), want, { rtol: 0, atol: 1e-5, what: 'tfjs on camlight save' });
  const again = await loadLayersModel(join(dir, 'model.json'));
  assertClose(await predict(again, x, DAG_IN), want, { rtol: 0, atol: 1e-4, what: 'camlight on camlight save' });
  again.dispose();
  const root = join(tmp, 'weights');
  const c = await convert(model, 'dag', { root });
  assert.equal(c.files, ['model.json', 'group1-shard1of1.bin']);
  const converted = await loadLayersModel(join(root, 'dag', 'model.json'));
  assertClose(await predict(converted, x, DAG_IN), want, { rtol: 0, atol: 1e-4, what: 'convert' });
  converted.dispose();
  model.dispose();
});

s('the default shard size is 4 MiB: a 5 MiB model gives two shards', async () => {
  const x = tfl.input({ shape: [1280], name: 'x' });
  const y = tfl.layers.dense({ units: 1024, name: 'big' }).apply(x) as tfl.SymbolicTensor;
  const tm = tfl.model({ inputs: x, outputs: y });
  const { modelJson, files } = layersFolder(await artifactsOf(tm));
  const model = await loadLayersModel({ source: memoryFiles(new Map([...files, ['model.json', new TextEncoder().encode(JSON.stringify(modelJson))]])), path: 'model.json' });
  const out = memoryFiles();
  const saved = await saveLayersModel(model, out);
  assert.equal(saved.files, ['model.json', 'group1-shard1of2.bin', 'group1-shard2of2.bin']);
  assert.is(out.files.get('group1-shard1of2.bin')!.length, 4 * 1024 * 1024);
  assert.is(saved.weightBytes, 4 * (1280 * 1024 + 1024));
  model.dispose();
});

s('load errors: missing shard, short shard, unknown dtype, wrong shape, graph model', async () => {
  const tm = sequentialModel();
  const a = await artifactsOf(tm);
  const { modelJson, files } = layersFolder(a, { shardBytes: 1000 });
  const dir = join(tmp, 'broken');
  await writeFolder(dir, modelJson, files);
  const path = join(dir, 'model.json');
  const names = [...files.keys()];

  await unlink(join(dir, names[1]!));
  await rejects(loadLayersModel(path), ModelLoadError, [new RegExp(names[1]!), new RegExp(path.replace(/[.]/g, '\\.')), /missing/], 'missing shard');

  await writeFile(join(dir, names[1]!), files.get(names[1]!)!.subarray(0, 123));
  await rejects(loadLayersModel(path), ModelLoadError, [new RegExp(`'${names[1]!}'`), /holds 123 bytes/, /should hold 1000/], 'short shard');
  await writeFile(join(dir, names[1]!), files.get(names[1]!)!);

  const odd = structuredClone(modelJson) as { weightsManifest: { weights: { dtype: string; shape: number[]; name: string }[] }[] };
  odd.weightsManifest[0]!.weights[2]!.dtype = 'complex64';
  await writeFile(path, JSON.stringify(odd));
  await rejects(loadLayersModel(path), ModelLoadError, [/complex64/, new RegExp(odd.weightsManifest[0]!.weights[2]!.name)], 'unknown dtype');

  // Same number of values, other shape: decoding succeeds, setWeights refuses; the file is named.
  const wrong = structuredClone(modelJson) as typeof odd;
  const fc = wrong.weightsManifest[0]!.weights.find((w) => w.name === 'fc1/kernel')!;
  fc.shape = [fc.shape[1]!, fc.shape[0]!];
  await writeFile(path, JSON.stringify(wrong));
  await rejects(loadLayersModel(path), ShapeError, [new RegExp(path.replace(/[.]/g, '\\.')), /fc1/, /kernel/, /\[20, 16\]/, /\[16, 20\]/], 'shape');

  await writeFile(path, JSON.stringify({ format: 'graph-model', modelTopology: { node: [] }, weightsManifest: [] }));
  await rejects(loadLayersModel(path), ModelLoadError, [/graph model/, /Keras layers models/, /tensorflowjs_converter/], 'graph model');

  await rejects(loadLayersModel(join(dir, 'nope.json')), ModelLoadError, [/not found/, /nope\.json/], 'missing model.json');
});

s.run();
