// DenseNet-121 (and 169/201) from the zoo against keras.applications' published figures
// (parameter totals, batch-norm statistics, weight tensors, Keras's names and shapes at 224×224),
// against tfjs-layers running the same topology with the same seeded weights, and the '/' in
// its layer names ('conv1/conv') through getLayer, the TensorFlow.js layers format and a
// weights-only .h5 laid out as Keras writes it (nested groups), paired by name and by position.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import h5wasm from 'h5wasm';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autoLayer } from '../../src/cam/layer-select.ts';
import { loadH5Weights, loadLayersModel, ModelLoadError, saveLayersModel } from '../../src/nn/loaders/index.ts';
import type { Model } from '../../src/nn/model.ts';
import { denseNet, densenet121, densenet169, densenet201 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { heWeights } from './he-weights.ts';
import { input, modelWeightsH5, predict, rejects, sameWeights } from './loader-fixtures.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';

const s = suite('nn/zoo-densenet');
s.before(async () => { await gpu(); });

// Published figures: tf.keras `DenseNet121().summary()` prints "Total params: 8,062,504 /
// Trainable params: 7,978,856 / Non-trainable params: 83,648" and len(model.weights) 606;
// DenseNet169 14,307,880 / 14,149,480 / 158,400 and 846 weights; DenseNet201 20,242,984 /
// 20,013,928 / 229,056 and 1006 weights (model.summary() printouts of keras.applications kept in
// several public repositories). Without the top, DenseNet121 is 7,037,504 (the 1024×1000 + 1000
// of `predictions` less). keras.io's applications table gives 8.1M / 14.3M / 20.2M and depth 242 /
// 338 / 402, the layers with weights (conv + batch norm + dense); that table was not among the
// stored pages here, the figures are as remembered, and 402 / 20.2M for DenseNet201 are quoted
// from it in Sci. Rep. 12:11803 (2022), Table 4. The layer counts (429 / 597 / 709,
// input included) are derived from densenet.py, not published: 7 stem layers (input, two
// ZeroPadding2D, conv1/conv, conv1/bn, conv1/relu, pool1), 7 per conv block (two BN-ReLU-conv and the
// concat), 4 per transition (3 of them) and 4 at the end (bn, relu, avg_pool, predictions):
// 7 + 7·(6+12+24+16) + 12 + 4 = 429.
s('DenseNet121/169/201: parameter counts, weights, layers, names and shapes are keras.applications\' (224×224, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const m = densenet121();
  assert.is(m.name, 'densenet121');
  assert.is(total(m), 8_062_504);
  assert.is(m.parameterCount().nonTrainable, 83_648);
  assert.is(m.weightList().length, 606);
  assert.is(total(densenet121({ includeTop: false })), 7_037_504);
  assert.is(m.layers.length, 429);
  const withWeights = (x: Model) => new Set(x.weightList().map((w) => w.layer.name)).size;
  assert.is(withWeights(m), 242, 'Keras\'s "depth": layers with weights');
  assert.equal(m.layers.slice(0, 10).map((l) => l.name), [
    'input_1', 'zero_padding2d', 'conv1/conv', 'conv1/bn', 'conv1/relu', 'zero_padding2d_1', 'pool1',
    'conv2_block1_0_bn', 'conv2_block1_0_relu', 'conv2_block1_1_conv',
  ]);
  assert.equal(m.layers.slice(-4).map((l) => l.name), ['bn', 'relu', 'avg_pool', 'predictions']);
  for (const [name, shape] of [
    ['zero_padding2d', [null, 230, 230, 3]], ['conv1/conv', [null, 112, 112, 64]], ['pool1', [null, 56, 56, 64]],
    ['conv2_block1_1_conv', [null, 56, 56, 128]], ['conv2_block1_concat', [null, 56, 56, 96]], ['conv2_block6_concat', [null, 56, 56, 256]],
    ['pool2_conv', [null, 56, 56, 128]], ['pool2_pool', [null, 28, 28, 128]], ['conv3_block12_concat', [null, 28, 28, 512]],
    ['pool3_pool', [null, 14, 14, 256]], ['conv4_block24_concat', [null, 14, 14, 1024]], ['pool4_pool', [null, 7, 7, 512]],
    ['conv5_block16_concat', [null, 7, 7, 1024]], ['relu', [null, 7, 7, 1024]], ['avg_pool', [null, 1024]], ['predictions', [null, 1000]],
  ] as const) {
    assert.equal(m.layerOutputShape(name), [...shape], name);
  }
  // densenet.py's wiring: Concatenate([x, x1]) puts the block's input channels first (the order the
  // next batch norm's weights in the file follow), and each transition pools after its conv.
  const cfg = m.toKerasConfig() as { config: { layers: { name: string; inbound_nodes: [string, number, number, unknown][][] }[] } };
  const inbound = (n: string) => cfg.config.layers.find((l) => l.name === n)!.inbound_nodes[0]!.map((i) => i[0]);
  assert.equal(inbound('conv2_block1_concat'), ['pool1', 'conv2_block1_2_conv']);
  assert.equal(inbound('conv3_block1_concat'), ['pool2_pool', 'conv3_block1_2_conv']);
  assert.equal(inbound('conv2_block2_0_bn'), ['conv2_block1_concat']);
  assert.equal(inbound('pool2_bn'), ['conv2_block6_concat']);
  assert.equal(inbound('pool2_pool'), ['pool2_conv']);
  // The convolutions have no bias; the classifier has one.
  assert.equal(m.weightList().filter((w) => w.layer.name === 'conv1/conv').map((w) => w.weight), ['kernel']);
  assert.equal(m.weightList().filter((w) => w.layer.name === 'predictions').map((w) => w.weight), ['kernel', 'bias']);
  assert.is(m.getLayer('conv1/conv').name, 'conv1/conv');
  assert.is(autoLayer(m), 'relu', "camlight's 'auto' CAM layer is the manifest's camLayer");

  for (const [f, name, params, nonTrainable, weights, layers, depth, last] of [
    [densenet169, 'densenet169', 14_307_880, 158_400, 846, 597, 338, 1664],
    [densenet201, 'densenet201', 20_242_984, 229_056, 1006, 709, 402, 1920],
  ] as const) {
    const d = f();
    assert.equal([d.name, total(d), d.parameterCount().nonTrainable, d.weightList().length, d.layers.length, withWeights(d)],
      [name, params, nonTrainable, weights, layers, depth], name);
    assert.equal(d.layerOutputShape('relu'), [null, 7, 7, last], name);
  }
  assert.is(denseNet([2, 2, 2, 2]).name, 'densenet', 'other block counts: Keras names the model "densenet"');
  assert.throws(() => densenet121({ inputShape: [224, 31, 3] }), /densenet121: input must be at least 32×32, got 224×31/);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

// Tolerance: 1e-6 on probabilities. Measured: 7.5e-8 at 32×32 and 1.0e-7 at 64×64 (a 0.19
// probability): float32 sums in another order (WGSL tiles vs tfjs CPU; conv1/bn and every _1_bn
// folded into the convolution before it here, applied apart in tfjs) through 120 convolutions.
// At 32×32 the conv5 block is 1×1, so its 3×3 convolutions see only their centre tap; 64×64
// (2×2 there) checks their 'same' padding too. A structural error (a missing concat input, a
// wrong pool) moves the outputs by far more: the control asserts the reference varies by > 20 × atol.
s('DenseNet121 at 32×32 (Keras\'s minimum) and 64×64 predicts as tfjs-layers does on the same He-scaled weights (softmax atol 1e-6)', async () => {
  for (const size of [32, 64]) {
    const m = densenet121({ inputShape: [size, size, 3], classes: 10 });
    await agreeWithTfjs(m, 2, 7, 1e-6, `densenet121 ${size}×${size} probabilities`);
    m.dispose();
  }
});

s("the '/' in layer names survives the TensorFlow.js layers format (model.json, shards, getLayer)", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlight-densenet-'));
  try {
    const m = densenet121({ inputShape: [32, 32, 3], classes: 10 });
    m.setWeights(heWeights(m, 3));
    await saveLayersModel(m, dir);
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as { weightsManifest: { weights: { name: string }[] }[] };
    assert.equal(json.weightsManifest[0]!.weights.slice(0, 2).map((w) => w.name), ['conv1/conv/kernel', 'conv1/bn/gamma']);
    const back = await loadLayersModel(join(dir, 'model.json'));
    assert.is(back.getLayer('conv1/bn').name, 'conv1/bn');
    const x = input([1, 32, 32, 3], 5);
    assert.equal(await predict(back, x, [1, 32, 32, 3]), await predict(m, x, [1, 32, 32, 3]), 'same outputs after the round trip');
    m.dispose();
    back.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// keras-applications 1.0.8's densenet.py names the classifier 'fc1000' (its names were aligned with
// the weights files in 2018, keras-team/keras-applications#17, and the files' hash never changed
// since), tf.keras/Keras name it 'predictions': the manifest pairs by position, as Keras's own
// `model.load_weights(weights_path)` in densenet.py does.
s('a weights-only .h5 as Keras writes it (conv1/conv/conv1/conv/kernel:0) pairs every weight: by name, and by position when the head is fc1000', async () => {
  const src = densenet121({ inputShape: [32, 32, 3] });
  src.setWeights(heWeights(src, 11));
  const want = await src.readWeights();
  const sameNames = await modelWeightsH5(src);
  const fc1000 = await modelWeightsH5(src, { predictions: 'fc1000' });
  src.dispose();

  // The layout is Keras's: nested groups from the '/' in layer and weight names.
  const M = await h5wasm.ready;
  const FS = M.FS as unknown as { writeFile(p: string, d: Uint8Array): void; unlink(p: string): void };
  FS.writeFile('/densenet-layout.h5', fc1000);
  const f = new h5wasm.File('/densenet-layout.h5', 'r');
  try {
    assert.equal((f.get('conv1/conv/conv1/conv/kernel:0') as InstanceType<typeof h5wasm.Dataset>).shape, [7, 7, 3, 64]);
    assert.equal((f.get('fc1000/fc1000/kernel:0') as InstanceType<typeof h5wasm.Dataset>).shape, [1024, 1000]);
  } finally {
    f.close();
    FS.unlink('/densenet-layout.h5');
  }

  for (const [file, match, what] of [[sameNames, 'name', 'by name'], [fc1000, 'order', 'by position, fc1000 head']] as const) {
    const m = densenet121({ inputShape: [32, 32, 3] });
    m.setWeights(heWeights(m, 12)); // different values first, so a weight left unpaired shows
    await loadH5Weights(m, file, { match, name: 'densenet121.h5' });
    await sameWeights(m, want, what);
    m.dispose();
  }
  // Control: by name, the fc1000 file has nothing for 'predictions', and says so.
  const m = densenet121({ inputShape: [32, 32, 3] });
  await rejects(loadH5Weights(m, fc1000, { match: 'name', name: 'densenet121.h5' }), ModelLoadError,
    [/densenet121\.h5 has no weights for layer 'predictions' \(Dense\)/, /match layers by position/], 'fc1000 by name');
  m.dispose();
});

s.run();
