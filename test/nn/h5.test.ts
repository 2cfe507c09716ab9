// Keras .h5 files written in Keras's layout with h5wasm: whole models (model_config +
// model_weights) and weights-only files (by layer name, or by position like Keras's
// load_weights), predicting like tfjs-layers; truncated, non-HDF5 and mismatched files are
// errors that say what was expected.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShapeError } from '../../src/gpu/errors.ts';
import { checkHdf5, readH5 } from '../../src/nn/loaders/h5.ts';
import { loadH5Model, loadH5Weights, ModelLoadError } from '../../src/nn/loaders/index.ts';
import { Model } from '../../src/nn/model.ts';
import { vgg19 } from '../../src/nn/zoo/vgg.ts';
import { artifactsOf, functionalModel, h5LayersOf, kerasH5, sequentialModel, tfl, tfPredict, type H5LayerSpec, input, predict, rejects } from './loader-fixtures.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';

const s = suite('nn/h5');
let tmp = '';
s.before(async () => {
  await gpu();
  tmp = await mkdtemp(join(tmpdir(), 'camlight-h5-'));
});
s.after(async () => {
  await rm(tmp, { recursive: true, force: true });
});

const SEQ_IN = [2, 9, 9, 3];
const DAG_IN = [2, 8, 8, 4];
s('a whole-model .h5 (model_config + model_weights) from a path predicts like tfjs', async () => {
  for (const [tm, shape, seed] of [[sequentialModel(3), SEQ_IN, 21], [functionalModel(4), DAG_IN, 22]] as const) {
    const topology = (await artifactsOf(tm)).modelTopology;
    const bytes = await kerasH5(h5LayersOf(tm), topology);
    const file = join(tmp, `${tm.name}.h5`);
    await writeFile(file, bytes);
    const model = await loadH5Model(file);
    const x = input(shape as number[], seed);
    const want = tfPredict(tm, x, shape as number[]);
    assertClose(await predict(model, x, shape as number[]), want, { rtol: 0, atol: 1e-4, what: `${tm.name} from h5` });
    model.dispose();
    // The same whole-model file gives its weights to a model built separately.
    const built = await loadH5Weights(Model.fromKerasConfig(topology), file);
    assertClose(await predict(built, x, shape as number[]), want, { rtol: 0, atol: 1e-4, what: `${tm.name} weights from a whole-model h5` });
    built.dispose();
  }
});

s('a weights-only .h5 loads into a model built from the same topology, by layer name', async () => {
  const tm = functionalModel(6);
  const model = Model.fromKerasConfig((await artifactsOf(tm)).modelTopology);
  // File layer order differs from the model's: matching is by name.
  const layers = h5LayersOf(tm).reverse();
  await loadH5Weights(model, await kerasH5(layers), { name: 'weights.h5' });
  const x = input(DAG_IN, 23);
  assertClose(await predict(model, x, DAG_IN), tfPredict(tm, x, DAG_IN), { rtol: 0, atol: 1e-4, what: 'weights-only by name' });
  model.dispose();
});

s("old weight names ('c1_param_0:0') pair by order, Keras 3 paths by name; { match: 'order' } pairs renamed layers", async () => {
  const tm = sequentialModel(7);
  const topology = (await artifactsOf(tm)).modelTopology;
  const x = input(SEQ_IN, 24);
  const want = tfPredict(tm, x, SEQ_IN);
  const oldNames: H5LayerSpec[] = h5LayersOf(tm).map((l) => ({ ...l, weights: l.weights.map((w, i) => ({ ...w, name: `${l.name}_param_${i}:0` })) }));
  const a = Model.fromKerasConfig(topology);
  await loadH5Weights(a, await kerasH5(oldNames));
  assertClose(await predict(a, x, SEQ_IN), want, { rtol: 0, atol: 1e-4, what: 'old weight names' });
  a.dispose();
  // Keras 3 writes variable paths without ':0', under the model's name.
  const keras3: H5LayerSpec[] = h5LayersOf(tm).map((l) => ({ ...l, weights: l.weights.map((w) => ({ ...w, name: `seq_fixture/${w.name.replace(/:0$/, '')}` })) }));
  const k3 = Model.fromKerasConfig(topology);
  await loadH5Weights(k3, await kerasH5(keras3));
  assertClose(await predict(k3, x, SEQ_IN), want, { rtol: 0, atol: 1e-4, what: 'Keras 3 weight paths' });
  k3.dispose();
  const renamed: H5LayerSpec[] = h5LayersOf(tm).map((l, i) => ({ ...l, name: `layer_${i + 1}` }));
  const b = Model.fromKerasConfig(topology);
  const bytes = await kerasH5(renamed);
  await rejects(loadH5Weights(b, bytes, { name: 'renamed.h5' }), ModelLoadError, [/renamed\.h5/, /no weights for layer 'c1'/, /match: 'order'/], 'by name fails');
  await loadH5Weights(b, bytes, { match: 'order' });
  assertClose(await predict(b, x, SEQ_IN), want, { rtol: 0, atol: 1e-4, what: 'by order' });
  b.dispose();
});

s('readH5 reports the layout: kind, layer order, short names, shapes', async () => {
  const tm = sequentialModel(8);
  const h5 = await readH5(await kerasH5(h5LayersOf(tm), (await artifactsOf(tm)).modelTopology), 'x.h5');
  assert.is(h5.kind, 'model');
  assert.equal(h5.layers.map((l) => l.name), tm.layers.map((l) => l.name));
  const bn = h5.layers.find((l) => l.name === 'bn1')!;
  assert.equal(bn.weights.map((w) => w.short), ['gamma', 'beta', 'moving_mean', 'moving_variance']);
  assert.equal(h5.layers.find((l) => l.name === 'c1')!.weights[0]!.shape, [3, 3, 3, 6]);
  assert.equal(h5.layers.find((l) => l.name === 'pool1')!.weights, []);
  assert.is((await readH5(await kerasH5(h5LayersOf(tm)), 'w.h5')).kind, 'weights');
});

s('a truncated .h5 says so with the expected and actual sizes', async () => {
  const tm = sequentialModel(9);
  for (const libver of ['earliest', 'latest'] as const) {
    const bytes = await kerasH5(h5LayersOf(tm), (await artifactsOf(tm)).modelTopology, libver);
    assert.is(bytes[8], libver === 'earliest' ? 0 : 3, 'superblock version');
    for (const cut of [64, 2000, bytes.length - 10]) {
      const file = join(tmp, `cut${cut}.h5`);
      await writeFile(file, bytes.subarray(0, cut));
      await rejects(loadH5Model(file), ModelLoadError, [/truncated/, new RegExp(`${bytes.length} bytes`), new RegExp(`only ${cut}`), /cut\d+\.h5/], `${libver}: cut at ${cut}`);
    }
  }
});

s('a non-HDF5 file says what it is and what was expected', async () => {
  const cases: [Uint8Array, RegExp][] = [
    [new TextEncoder().encode('{"format": "layers-model"}'), /JSON.*loadLayersModel/],
    [Uint8Array.of(0x50, 0x4b, 3, 4, 0, 0, 0, 0, 1, 2), /zip.*\.keras/],
    [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), /01 02 03 04 05 06 07 08/],
    [new Uint8Array(0), /empty/],
  ];
  for (const [bytes, re] of cases) {
    await rejects(loadH5Model(bytes, { name: 'thing.h5' }), ModelLoadError, [/thing\.h5 is not an HDF5 file/, re, /Keras \.h5/], String(re));
  }
  assert.not.throws(() => checkHdf5(Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a, 99), 'x'), 'unknown superblock versions pass to the reader');
});

s('a weights-only .h5 lacking a layer the model needs names the layer; weights-only to loadH5Model says what to do', async () => {
  const tm = sequentialModel(10);
  const model = Model.fromKerasConfig((await artifactsOf(tm)).modelTopology);
  const partial = h5LayersOf(tm).filter((l) => l.name !== 'sep');
  await rejects(loadH5Weights(model, await kerasH5(partial), { name: 'partial.h5' }), ModelLoadError, [/partial\.h5/, /layer 'sep'/, /SeparableConv2D/], 'missing layer');
  await rejects(loadH5Model(await kerasH5(h5LayersOf(tm)), { name: 'w.h5' }), ModelLoadError, [/weights only/, /loadH5Weights/], 'weights-only as model');
  // A layer with a weight missing (use_bias mismatch).
  const noBias = h5LayersOf(tm).map((l) => (l.name === 'fc1' ? { ...l, weights: l.weights.slice(0, 1) } : l));
  await rejects(loadH5Weights(model, await kerasH5(noBias), { name: 'nobias.h5' }), ModelLoadError, [/fc1/, /holds 1 weights/, /needs 2/], 'weight count');
  model.dispose();
});

s('a weight whose shape does not fit its layer is a ShapeError naming the file', async () => {
  const tm = sequentialModel(11);
  const model = Model.fromKerasConfig((await artifactsOf(tm)).modelTopology);
  const layers = h5LayersOf(tm).map((l) =>
    l.name === 'c1' ? { ...l, weights: l.weights.map((w) => (w.shape.length === 4 ? { ...w, shape: [3, 3, 6, 3] } : w)) } : l,
  );
  await rejects(loadH5Weights(model, await kerasH5(layers), { name: 'wrong.h5' }), ShapeError, [/^wrong\.h5: /, /c1/, /kernel/, /\[3, 3, 3, 6\]/, /\[3, 3, 6, 3\]/], 'shape');
  model.dispose();
});

s('a weights-only VGG-19 file (keras.applications layout) loads into the zoo VGG-19 at 32×32 by layer name', async () => {
  const model = vgg19({ inputShape: [32, 32, 3], classes: 10 });
  // Keras lists every layer (input, pools, flatten too); weights get Glorot-sized values.
  const layers: H5LayerSpec[] = [{ name: 'input_1', weights: [] }];
  const byLayer = new Map<string, H5LayerSpec>();
  let seed = 100;
  for (const w of model.weightList()) {
    const spec = byLayer.get(w.layer.name) ?? { name: w.layer.name, weights: [] };
    if (!byLayer.has(w.layer.name)) {
      byLayer.set(w.layer.name, spec);
      layers.push(spec);
    }
    const n = w.shape.reduce((a, b) => a * b, 1);
    const fan = w.shape.length > 1 ? w.shape.slice(0, -1).reduce((a, b) => a * b, 1) + w.shape[w.shape.length - 1]! : 0;
    const lim = fan ? Math.sqrt(6 / fan) : 0.05;
    spec.weights.push({ name: `${w.layer.name}/${w.weight}:0`, data: randn(n, seed++, -lim, lim), shape: w.shape });
  }
  for (const l of model.layers) if (!byLayer.has(l.name) && l.className !== 'InputLayer') layers.push({ name: l.name, weights: [] });
  const bytes = await kerasH5(layers);
  await loadH5Weights(model, bytes, { name: 'vgg19_weights_tf_dim_ordering_tf_kernels.h5' });

  const ref = await tfl.models.modelFromJSON({ modelTopology: model.toKerasConfig() } as Parameters<typeof tfl.models.modelFromJSON>[0]);
  ref.setWeights(ref.weights.map((w) => tf.tensor(byLayer.get(w.originalName.split('/')[0]!)!.weights.find((x) => x.name === `${w.originalName}:0`)!.data, w.shape as number[])));
  const shape = [1, 32, 32, 3];
  const x = input(shape, 25).map((v) => v * 100);
  const want = tfPredict(ref, x, shape);
  const r = assertClose(await predict(model, x, shape), want, { rtol: 0, atol: 1e-4, what: 'vgg19 32×32 softmax' });
  console.log(`    vgg19 32×32 from weights-only h5: max abs ${r.maxAbs.toExponential(2)}, top prob ${Math.max(...want).toFixed(3)}`);
  model.dispose();
});

s.run();
