// Xception from the zoo against keras.applications.Xception's published figures (22,910,480
// parameters of which 54,528 are batch-norm statistics, 134 layers in model.summary()'s order,
// Keras's names and shapes at 299×299), against tfjs-layers running the same topology with the
// same seeded weights at 71×71 (the smallest input Keras allows), and the pairing of a weights-only
// .h5 laid out as Keras's ImageNet file is (old layer names, so paired by position).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { pretrainedModels } from '../../src/cli/pretrained.ts';
import { loadH5Weights } from '../../src/nn/loaders/index.ts';
import { ModelLoadError } from '../../src/nn/loaders/errors.ts';
import { Model, type WeightValue } from '../../src/nn/model.ts';
import { xception } from '../../src/nn/zoo/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { gpu, randn } from '../helpers.ts';
import { heWeights } from './he-weights.ts';
import { kerasH5, rejects, type H5LayerSpec } from './loader-fixtures.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';

const s = suite('nn/zoo-xception');
s.before(async () => { await gpu(); });

/**
 * keras.applications.Xception's model.layers, in order, as tf.keras's model.summary() prints it
 * (the keras.io Grad-CAM example's model, printed in full in public notebooks: input_1,
 * block1_conv1, …, block2_sepconv2_bn, conv2d, block2_pool, batch_normalization, add, …, add_11,
 * block14_sepconv1 … block14_sepconv2_act, avg_pool, predictions). The middle flow (blocks 5–12)
 * repeats one pattern, written here as a loop.
 */
function kerasLayerOrder(): string[] {
  const out = ['input_1', 'block1_conv1', 'block1_conv1_bn', 'block1_conv1_act', 'block1_conv2', 'block1_conv2_bn', 'block1_conv2_act'];
  // An entry/exit block: its shortcut's conv2d follows the second batch norm, its batch norm the pool.
  const down = (b: number, i: number, add: string) => {
    const sfx = i ? `_${i}` : '';
    if (b > 2) out.push(`block${b}_sepconv1_act`);
    out.push(`block${b}_sepconv1`, `block${b}_sepconv1_bn`, `block${b}_sepconv2_act`, `block${b}_sepconv2`, `block${b}_sepconv2_bn`,
      `conv2d${sfx}`, `block${b}_pool`, `batch_normalization${sfx}`, add);
  };
  down(2, 0, 'add');
  down(3, 1, 'add_1');
  down(4, 2, 'add_2');
  for (let b = 5; b <= 12; b++) {
    for (let k = 1; k <= 3; k++) out.push(`block${b}_sepconv${k}_act`, `block${b}_sepconv${k}`, `block${b}_sepconv${k}_bn`);
    out.push(`add_${b - 2}`);
  }
  down(13, 3, 'add_11');
  out.push('block14_sepconv1', 'block14_sepconv1_bn', 'block14_sepconv1_act', 'block14_sepconv2', 'block14_sepconv2_bn', 'block14_sepconv2_act', 'avg_pool', 'predictions');
  return out;
}

s('parameter counts, layer count, names, order and shapes are keras.applications.Xception\'s (299×299, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const m = xception();
  // Keras 2's applications table (keras.io/applications): 22,910,480 parameters. model.summary()
  // as printed in public notebooks: 22,855,952 trainable, 54,528 non-trainable; include_top=False:
  // 20,861,480, and len(model.layers) = 132 (printed after such a summary; another lists indices
  // 0 input_1 … 131 block14_sepconv2_act), so 134 with avg_pool and predictions.
  assert.is(total(m), 22_910_480);
  assert.is(m.parameterCount().nonTrainable, 54_528);
  const notop = xception({ includeTop: false });
  assert.is(total(notop), 20_861_480);
  assert.is(notop.layers.length, 132);
  assert.is(m.name, 'xception');
  assert.is(m.layers.length, 134);
  const order = kerasLayerOrder();
  assert.is(order.length, 134, 'the expected list itself');
  assert.equal(m.layers.map((l) => l.name), order);
  // Output shapes and parameter counts as model.summary() prints them at 299×299.
  for (const [name, shape, params] of [
    ['block1_conv1', [null, 149, 149, 32], 864], ['block1_conv2', [null, 147, 147, 64], 18_432],
    ['block2_sepconv1', [null, 147, 147, 128], 8_768], ['conv2d', [null, 74, 74, 128], 8_192], ['add', [null, 74, 74, 128], 0],
    ['block3_sepconv2', [null, 74, 74, 256], 67_840], ['conv2d_1', [null, 37, 37, 256], 32_768], ['add_1', [null, 37, 37, 256], 0],
    ['block4_sepconv1', [null, 37, 37, 728], 188_672], ['batch_normalization_2', [null, 19, 19, 728], 2_912],
    ['block8_sepconv3', [null, 19, 19, 728], 536_536], ['add_10', [null, 19, 19, 728], 0],
    ['block13_sepconv2', [null, 19, 19, 1024], 752_024], ['conv2d_3', [null, 10, 10, 1024], 745_472], ['add_11', [null, 10, 10, 1024], 0],
    ['block14_sepconv2', [null, 10, 10, 2048], 3_159_552], ['block14_sepconv2_act', [null, 10, 10, 2048], 0],
    ['avg_pool', [null, 2048], 0], ['predictions', [null, 1000], 2_049_000],
  ] as const) {
    assert.equal(m.layerOutputShape(name), [...shape], name);
    const n = m.weightList().filter((w) => w.layer.name === name).reduce((a, w) => a + w.shape.reduce((p, d) => p * d, 1), 0);
    assert.is(n, params, `${name} parameters`);
  }
  // The wiring, as model.summary()'s "Connected to" column lists it.
  const inbound = new Map((m.toKerasConfig() as { config: { layers: { name: string; inbound_nodes: [string][][] }[] } }).config.layers
    .map((l) => [l.name, (l.inbound_nodes[0] ?? []).map((r) => r[0])]));
  for (const [name, from] of [
    ['conv2d', ['block1_conv2_act']], ['block2_sepconv1', ['block1_conv2_act']], ['add', ['block2_pool', 'batch_normalization']],
    ['block3_sepconv1_act', ['add']], ['conv2d_1', ['add']], ['add_1', ['block3_pool', 'batch_normalization_1']],
    ['conv2d_2', ['add_1']], ['add_2', ['block4_pool', 'batch_normalization_2']], ['block5_sepconv1_act', ['add_2']],
    ['add_3', ['block5_sepconv3_bn', 'add_2']], ['add_10', ['block12_sepconv3_bn', 'add_9']], ['conv2d_3', ['add_10']],
    ['add_11', ['block13_pool', 'batch_normalization_3']], ['block14_sepconv1', ['add_11']], ['avg_pool', ['block14_sepconv2_act']],
  ] as const) assert.equal(inbound.get(name), [...from], `${name}'s inputs`);
  // Keras's defaults where xception.py sets nothing: BatchNormalization(momentum 0.99, epsilon 1e-3); no bias but on predictions.
  for (const l of m.layers) {
    if (l.className === 'BatchNormalization') assert.equal([l.config.momentum, l.config.epsilon, l.config.center, l.config.scale], [0.99, 1e-3, true, true], l.name);
    if (/Conv2D$/.test(l.className)) assert.is(l.config.use_bias, false, l.name);
  }
  assert.equal(xception({ includeTop: false, pooling: 'avg', inputShape: [71, 71, 3] }).layerOutputShape('global_average_pooling2d'), [null, 2048]);
  assert.equal(notop.layerOutputShape('block14_sepconv2_act'), [null, 10, 10, 2048]);
  assert.throws(() => xception({ inputShape: [71, 70, 3] }), /at least 71×71, got 71×70/);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

/**
 * heWeights with every batch norm's moving mean and variance measured on a calibration batch, as a
 * trained network's are. With heWeights' made-up statistics the batch norms do not normalise, and
 * Xception's 12 residual additions grow the activations about 2.7× per block (measured: rms 1e5
 * at add_10 at 71×71) until the softmax is one-hot for every image. Measured by one training-mode
 * pass (batch statistics) of the same topology with momentum 0, so the moving statistics become
 * that batch's.
 */
async function calibratedWeights(m: Model, seed: number): Promise<Map<string, WeightValue>> {
  const topology = JSON.parse(JSON.stringify(m.toKerasConfig())) as { config: { layers: { class_name: string; config: { momentum?: number } }[] } };
  for (const l of topology.config.layers) if (l.class_name === 'BatchNormalization') l.config.momentum = 0;
  const c = Model.fromKerasConfig(topology);
  c.setWeights(heWeights(m, seed));
  const shape = [4, ...(m.inputShape.slice(1) as number[])];
  const x = upload(randn(shape.reduce((a, b) => a * b, 1), seed + 100, 0, 1), shape);
  const { output } = c.run(x, { training: true });
  const w = await c.readWeights();
  output.dispose();
  x.dispose();
  c.dispose();
  return w;
}

// Tolerance: 1e-5 on probabilities. Measured on lavapipe: 4.8e-7 (a 0.0972 probability), float32
// sums in another order (WGSL tiles vs tfjs CPU; batch norms folded into the separable
// convolutions here, applied apart in tfjs) through 40 convolutions (34 separable) and 12 residual additions.
// The control: the reference's images differ from their mean by 2.8e-2 (> 20 × atol).
s('Xception at 71×71 predicts as tfjs-layers does on the same seeded weights, batch norms calibrated (softmax atol 1e-5)', async () => {
  const m = xception({ inputShape: [71, 71, 3], classes: 10 });
  await agreeWithTfjs(m, 2, 11, 1e-5, 'xception probabilities', await calibratedWeights(m, 11));
  m.dispose();
});

/**
 * A weights-only .h5 laid out as Keras's Xception ImageNet file is: one group per layer in
 * model.layers' order (`order`), layers without weights included, but with Keras 1's layer and
 * weight names (convolution2d_1, separableconvolution2d_1, batchnormalization_1 with
 * …_running_std, …), which keras-team/keras#9683 found in that file in place of block1_conv1, ….
 */
async function kerasOneH5(m: Model, order: string[], weights: Map<string, { data: Float32Array; shape: number[] }>): Promise<Uint8Array> {
  const counts = new Map<string, number>();
  const short: Record<string, string> = { kernel: 'W', bias: 'b', moving_mean: 'running_mean', moving_variance: 'running_std' };
  const layers: H5LayerSpec[] = order.map((name) => {
    const cls = name === 'input_1' ? 'InputLayer' : m.getLayer(name).className;
    const base = { SeparableConv2D: 'separableconvolution2d', Conv2D: 'convolution2d', Add: 'merge', GlobalAveragePooling2D: 'globalaveragepooling2d' }[cls] ?? cls.toLowerCase();
    const k = (counts.get(base) ?? 0) + 1;
    counts.set(base, k);
    const old = `${base}_${k}`;
    const ws = m.weightList().filter((w) => w.layer.name === name)
      .map((w) => ({ name: `${old}_${short[w.weight] ?? w.weight}:0`, data: weights.get(w.name)!.data, shape: w.shape }));
    return { name: old, weights: ws };
  });
  return kerasH5(layers);
}

s('a weights-only .h5 in Keras\'s layer order with Keras 1 names pairs every weight by position, as the manifest says', async () => {
  const entry = (await pretrainedModels({})).get('xception')!;
  assert.is(entry.match, 'order');
  const m = xception({ inputShape: [71, 71, 3], classes: 10 });
  const want = heWeights(m, 23);
  const h5 = await kerasOneH5(m, kerasLayerOrder(), want);
  await loadH5Weights(m, h5, { match: entry.match, name: 'xception.h5' });
  const got = await m.readWeights();
  assert.equal([...got.keys()].sort(), [...want.keys()].sort());
  for (const [name, w] of want) assert.ok(got.get(name)!.data.every((v, i) => v === w.data[i]), `${name} holds the file's values`);
  m.dispose();

  // Controls: by name nothing in that file matches; in Keras's creation order instead (each
  // shortcut conv2d before its block's separable convolutions), position pairing meets a shape mismatch.
  const fresh = xception({ inputShape: [71, 71, 3], classes: 10 });
  await rejects(loadH5Weights(fresh, h5, { match: 'name', name: 'xception.h5' }), ModelLoadError, [/xception\.h5/, /no weights for layer 'block1_conv1'/], 'by name');
  const created = kerasLayerOrder();
  created.splice(created.indexOf('conv2d'), 1);
  created.splice(created.indexOf('block2_sepconv1'), 0, 'conv2d');
  await rejects(loadH5Weights(fresh, await kerasOneH5(fresh, created, want), { match: 'order', name: 'created.h5' }), Error, [/created\.h5/, /'convolution2d_3' holds 1 weights .* layer 'block2_sepconv1' needs 2/], 'creation order');
  fresh.dispose();
});

s.run();
