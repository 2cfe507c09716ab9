// EfficientNetB0 from the zoo against keras.applications.EfficientNetB0's published figures
// (5,330,571 parameters of which 42,023 non-trainable, 314 weight variables; B1 and B7 totals for
// the width/depth scaling) and shapes at 224×224, and against tfjs-layers running the same
// topology with the same seeded weights at 32×32 (the smallest input Keras allows).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryFiles } from '../../src/io/files.ts';
import { loadH5Weights, loadLayersModel, readH5, saveLayersModel } from '../../src/nn/loaders/index.ts';
import { efficientnetB0, efficientnetB1, efficientnetB7 } from '../../src/nn/zoo/index.ts';
import { gpu, tf } from '../helpers.ts';
import { heWeights } from './he-weights.ts';
import { tfl } from './keras-helpers.ts';
import { input, kerasH5, predict, type H5LayerSpec } from './loader-fixtures.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';

const s = suite('nn/zoo-efficientnet');
s.before(async () => { await gpu(); });

// Published figures: `model = EfficientNetB0(); model.summary(); len(model.weights)` printed in
// several public notebooks (Keras 2.x/3 with weights='imagenet'): "Total params: 5,330,571,
// Trainable params: 5,288,548, Non-trainable params: 42,023" and 314 weights; EfficientNetB1
// 7,856,239 (62,055 non-trainable), EfficientNetB7 66,658,687; with include_top=False the B0
// base holds 4,049,571. The non-trainable 42,023 are the batch norms' moving statistics plus the
// Normalization layer's mean (3), variance (3) and count (1). No layer count is published: 241
// is derived from efficientnet.py (input, rescaling, normalization, rescaling_1, 4 stem layers,
// 227 in the 16 blocks: 10 + 14 + 15 + 14 + 15 + 14 + 15·2 + 13 + 15·2 + 14 + 15·3 + 13, and
// top_conv, top_bn, top_activation, avg_pool, top_dropout, predictions). Shapes at 224×224 from
// a published model.summary() (stem_conv_pad 225×225, block2a_dwconv_pad 113×113,
// block2a_se_reduce 1×1×4) and from the architecture (Tan & Le 2019, Table 1).
s('parameter counts, names and shapes are keras.applications.EfficientNetB0\'s (224×224, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const m = efficientnetB0();
  assert.is(total(m), 5_330_571);
  assert.is(m.parameterCount().nonTrainable, 42_023);
  assert.is(m.weightList().length, 314);
  assert.is(total(efficientnetB0({ includeTop: false })), 4_049_571);
  assert.is(total(efficientnetB1()), 7_856_239);
  assert.is(efficientnetB1().parameterCount().nonTrainable, 62_055);
  assert.is(total(efficientnetB7()), 66_658_687);
  assert.is(m.name, 'efficientnetb0');
  assert.is(m.layers.length, 241);
  assert.is(efficientnetB0({ imagenetRescaling: false }).layers.length, 240, 'weights=None has no rescaling_1');
  assert.equal(m.layers.slice(0, 12).map((l) => l.name), [
    'input_1', 'rescaling', 'normalization', 'rescaling_1', 'stem_conv_pad', 'stem_conv', 'stem_bn', 'stem_activation',
    'block1a_dwconv', 'block1a_bn', 'block1a_activation', 'block1a_se_squeeze',
  ]);
  assert.equal(m.layers.slice(-6).map((l) => l.name), ['top_conv', 'top_bn', 'top_activation', 'avg_pool', 'top_dropout', 'predictions']);
  for (const [name, shape] of [
    ['normalization', [null, 224, 224, 3]], ['stem_conv_pad', [null, 225, 225, 3]], ['stem_conv', [null, 112, 112, 32]],
    ['block1a_se_squeeze', [null, 32]], ['block1a_se_reduce', [null, 1, 1, 8]], ['block1a_se_excite', [null, 112, 112, 32]],
    ['block1a_project_bn', [null, 112, 112, 16]], ['block2a_expand_conv', [null, 112, 112, 96]], ['block2a_dwconv_pad', [null, 113, 113, 96]],
    ['block2a_dwconv', [null, 56, 56, 96]], ['block2a_se_reduce', [null, 1, 1, 4]], ['block3a_dwconv_pad', [null, 59, 59, 144]],
    ['block3b_add', [null, 28, 28, 40]], ['block5c_add', [null, 14, 14, 112]], ['block6d_add', [null, 7, 7, 192]],
    ['block7a_project_bn', [null, 7, 7, 320]], ['top_activation', [null, 7, 7, 1280]], ['avg_pool', [null, 1280]], ['predictions', [null, 1000]],
  ] as const) {
    assert.equal(m.layerOutputShape(name), [...shape], name);
  }
  // Drop-connect: block b of 16 drops its branch with rate 0.2·b/16, one draw per image.
  const drop = m.getLayer('block6d_drop').config;
  assert.equal([drop.rate, drop.noise_shape], [0.2 * 14 / 16, [null, 1, 1, 1]]);
  assert.equal(m.getLayer('rescaling_1').config.scale, [0.229, 0.224, 0.225].map((x) => 1 / Math.sqrt(x)));
  // correct_pad (imagenet_utils.py): ((k//2 − 1 + h%2, k//2), same for w): an even side pads one
  // less before than after; an odd one pads k//2 on both (shapes alone cannot tell (0,1) from (1,0)).
  assert.equal(m.getLayer('stem_conv_pad').config.padding, [[0, 1], [0, 1]]);
  assert.equal(m.getLayer('block3a_dwconv_pad').config.padding, [[1, 2], [1, 2]]);
  const odd = efficientnetB0({ inputShape: [225, 99, 3], includeTop: false });
  assert.equal(odd.getLayer('stem_conv_pad').config.padding, [[1, 1], [1, 1]]);
  assert.equal(odd.getLayer('block2a_dwconv_pad').config.padding, [[1, 1], [0, 1]], '113 odd, 50 even');
  assert.equal(odd.layerOutputShape('top_activation'), [null, 8, 4, 1280]);
  assert.throws(() => efficientnetB0({ inputShape: [224, 31, 3] }), /at least 32×32, got 224×31/);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

/**
 * tfjs-layers has no Normalization class (it has Rescaling, whose `mul` broadcasts a per-channel
 * scale list as Keras's does). Rather than replace camlight's Normalization by an identity on both
 * sides, the reference gets one written here from Keras's formula
 * (keras/src/layers/preprocessing/normalization.py `call`: (x − mean) / max(√variance, 1e-7),
 * weights mean, variance (C) and count ()), in tfjs ops on the CPU backend, so the comparison also
 * runs camlight's Normalization inside the network with non-trivial statistics.
 */
class TfjsNormalization extends tfl.layers.Layer {
  static className = 'Normalization';
  private stats: tfl.LayerVariable[] = [];
  override build(shape: tfl.Shape | tfl.Shape[]): void {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as number[];
    const c = s[s.length - 1]!;
    this.stats = [
      this.addWeight('mean', [c], 'float32', tfl.initializers.zeros(), undefined, false),
      this.addWeight('variance', [c], 'float32', tfl.initializers.ones(), undefined, false),
      this.addWeight('count', [], 'float32', tfl.initializers.zeros(), undefined, false),
    ];
    this.built = true;
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0]! : inputs;
    return tf.tidy(() => tf.div(tf.sub(x, this.stats[0]!.read()), tf.maximum(tf.sqrt(this.stats[1]!.read()), 1e-7)));
  }
}
tf.serialization.registerClass(TfjsNormalization);

// At 32×32 (Keras's minimum) with a linear classifier: logits, because stages 5–7 run there on
// 2×2 and 1×1 maps where the 5×5 depthwise kernels read mostly padding, and with He-scaled
// weights two images' logits differ by only 2.2e-3 (their softmax probabilities by less than a
// probability tolerance's control could see). Tolerance: 1e-5 on logits of magnitude ~0.4.
// Measured: 1.8e-7 (float32 sums in another order through 81 convolutions, 16 squeeze-excite
// gates and 9 residual additions; batch norms folded into the convolutions here, applied apart
// in tfjs). The control asserts the images' logits differ by > 20 × atol = 2e-4, so a wrong gate,
// stride or stem statistic (which moves them by about that spread) cannot pass.
s('EfficientNetB0 at 32×32 predicts as tfjs-layers does on the same He-scaled weights (logits atol 1e-5; outputs input-dependent)', async () => {
  const m = efficientnetB0({ inputShape: [32, 32, 3], classes: 10, classifierActivation: 'linear' });
  await agreeWithTfjs(m, 2, 7, 1e-5, 'efficientnet_b0 logits', heWeights(m, 7), [0, 255]);
  m.dispose();
});

// The weight pairing of the named model, without the internet: a weights-only .h5 in the layout
// Keras's save_weights gives efficientnetb0.h5 (every layer in layer_names, weightless ones with an
// empty weight_names; '<layer>/<weight>:0' datasets; normalization/count an int64 scalar) loads
// into the zoo model by layer name, predicts exactly as the model the weights came from, and
// survives the TensorFlow.js-format round trip the named-model cache makes (count as float32).
s('a Keras-layout weights-only efficientnetb0 .h5 (int64 count) pairs by name; the tfjs-format copy predicts the same', async () => {
  const opts = { inputShape: [32, 32, 3] as [number, number, number], classes: 10, classifierActivation: 'linear' as const };
  const src = efficientnetB0(opts);
  const weights = heWeights(src, 5);
  weights.set('normalization/count', { data: Float32Array.of(1_281_167), shape: [] });
  src.setWeights(weights);
  const layers: H5LayerSpec[] = src.layers.map((l) => ({ name: l.name, weights: [] }));
  for (const w of src.weightList()) {
    layers.find((l) => l.name === w.layer.name)!.weights.push({
      name: `${w.name}:0`, data: weights.get(w.name)!.data, shape: w.shape, int64: w.weight === 'count',
    });
  }
  const bytes = await kerasH5(layers);
  const norm = (await readH5(bytes, 'efficientnetb0.h5')).layers.find((l) => l.name === 'normalization')!;
  assert.equal(norm.weights.map((w) => [w.short, w.shape]), [['mean', [3]], ['variance', [3]], ['count', []]]);
  assert.equal(Array.from(norm.weights[2]!.data), [1_281_167], 'int64 count read');

  const m = await loadH5Weights(efficientnetB0(opts), bytes, { name: 'efficientnetb0.h5' });
  const shape = [2, 32, 32, 3];
  const x = input(shape, 9).map((v) => 127.5 + 127.5 * v);
  const want = await predict(src, x, shape);
  assert.equal(Array.from(await predict(m, x, shape)), Array.from(want), 'same weights, same logits');
  const files = memoryFiles();
  await saveLayersModel(m, files);
  const back = await loadLayersModel({ source: files, path: 'model.json' });
  assert.equal(Array.from(await back.getLayer('normalization').readWeight('count')), [1_281_167]);
  assert.equal(Array.from(await predict(back, x, shape)), Array.from(want), 'tfjs-format copy');
  for (const x of [src, m, back]) x.dispose();
});

s.run();
