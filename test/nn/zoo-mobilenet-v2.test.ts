// MobileNetV2 from the zoo against keras.applications.MobileNetV2's published figures
// (3,538,984 parameters of which 34,112 are batch-norm statistics, Keras's names and shapes at
// 224×224, 154 layers without the head) and against tfjs-layers running the same topology with
// the same seeded weights at 32×32 (the smallest input Keras allows), with the zoo tests' controls.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mobilenetV2 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';

const s = suite('nn/zoo-mobilenet-v2');
s.before(async () => { await gpu(); });

// Sources of the figures:
// - totals, trainable/non-trainable, first and last layer names and shapes: model.summary() of
//   keras.applications.MobileNetV2(include_top=True, weights='imagenet') in eli5's Grad-CAM tutorial
//   (eli5-org/eli5 docs/source/tutorials/keras-image-classifiers.rst, Keras 3.9.2): "Total params:
//   3,538,984", "Trainable params: 3,504,872", "Non-trainable params: 34,112", Conv1 (None, 112,
//   112, 32) … out_relu (None, 7, 7, 1280), global_average_pooling2d (None, 1280), predictions (None, 1000);
// - the middle shapes (block_1_pad 113×113×96, block_3_pad 57×57×144, block_5_add 28×28×32, …):
//   a tf.keras model.summary() of the same call at 224×224 (a README in the corpus, "Project-Mask-Detection");
// - 154 layers with include_top=False: "Number of layers in the base model: 154", the output of
//   tensorflow.org's transfer-learning tutorial (MobileNetV2, include_top=False); with the head
//   (global_average_pooling2d, predictions) 156, derived from keras/src/applications/mobilenet_v2.py;
// - α = 1.4: 6,156,712 parameters (ZFTurbo/Keras-inference-time-optimizer README, "MobileNetV2 (1.4)").
s('parameter counts, layer count, names and shapes are keras.applications.MobileNetV2\'s (224×224, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const m = mobilenetV2();
  assert.is(total(m), 3_538_984);
  assert.is(m.parameterCount().trainable, 3_504_872);
  assert.is(m.parameterCount().nonTrainable, 34_112);
  assert.is(m.name, 'mobilenetv2_1.00_224');
  assert.is(m.layers.length, 156);
  assert.is(mobilenetV2({ includeTop: false }).layers.length, 154);
  assert.is(total(mobilenetV2({ alpha: 1.4 })), 6_156_712);
  assert.equal(m.layers.slice(0, 9).map((l) => l.name), [
    'input_1', 'Conv1', 'bn_Conv1', 'Conv1_relu', 'expanded_conv_depthwise', 'expanded_conv_depthwise_BN',
    'expanded_conv_depthwise_relu', 'expanded_conv_project', 'expanded_conv_project_BN',
  ]);
  assert.equal(m.layers.slice(-5).map((l) => l.name), ['Conv_1', 'Conv_1_bn', 'out_relu', 'global_average_pooling2d', 'predictions']);
  for (const [name, shape] of [
    ['Conv1', [null, 112, 112, 32]], ['expanded_conv_project', [null, 112, 112, 16]], ['block_1_expand', [null, 112, 112, 96]],
    ['block_1_pad', [null, 113, 113, 96]], ['block_1_depthwise', [null, 56, 56, 96]], ['block_2_add', [null, 56, 56, 24]],
    ['block_3_pad', [null, 57, 57, 144]], ['block_3_project', [null, 28, 28, 32]], ['block_5_add', [null, 28, 28, 32]],
    ['block_16_depthwise_relu', [null, 7, 7, 960]], ['block_16_project', [null, 7, 7, 320]], ['Conv_1', [null, 7, 7, 1280]],
    ['out_relu', [null, 7, 7, 1280]], ['global_average_pooling2d', [null, 1280]], ['predictions', [null, 1000]],
  ] as const) {
    assert.equal(m.layerOutputShape(name), [...shape], name);
  }
  // Per-layer parameter figures of the same summaries: depthwise 3×3×96 = 864, no biases anywhere but the head.
  const params = (name: string) => m.weightList().filter((w) => w.layer.name === name).reduce((a, w) => a + w.shape.reduce((x, y) => x * y, 1), 0);
  assert.equal(['Conv1', 'block_1_depthwise', 'block_16_project', 'Conv_1', 'predictions'].map(params), [864, 864, 307_200, 409_600, 1_281_000]);
  assert.throws(() => mobilenetV2({ inputShape: [31, 64, 3] }), /at least 32×32, got 31×64/);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

/** A layer's config as the model writes it (what tfjs and Keras read back). */
function layerConfig(m: ReturnType<typeof mobilenetV2>, name: string): Record<string, unknown> {
  const layers = (m.toKerasConfig() as { config: { layers: { name: string; config: Record<string, unknown> }[] } }).config.layers;
  return layers.find((l) => l.name === name)!.config;
}

// keras/src/applications/imagenet_utils.py, correct_pad(inputs, 3): adjust = 1 − size % 2,
// padding ((1 − adjust, 1), …): the extra row and column of an even size go after (bottom,
// right), as TensorFlow's 'same' puts them; an odd size gets one on each side. The tfjs
// comparisons below run our own topology, so only this check catches a pad on the wrong side.
s('an odd input size pads as correct_pad does: (1, 1) before a stride-2 depthwise convolution, (0, 1) for an even one', () => {
  const even = mobilenetV2();
  for (const b of ['block_1_pad', 'block_3_pad', 'block_6_pad', 'block_13_pad']) assert.equal(layerConfig(even, b).padding, [[0, 1], [0, 1]], b);
  assert.equal(layerConfig(even, 'block_1_depthwise').padding, 'valid');
  assert.equal(layerConfig(even, 'block_2_depthwise').padding, 'same');
  const m = mobilenetV2({ inputShape: [33, 34, 3], includeTop: false });
  // Per axis: 35×34 → Conv1 18×17 → rows (0, 1), columns (1, 1).
  assert.equal(layerConfig(mobilenetV2({ inputShape: [35, 34, 3], includeTop: false }), 'block_1_pad').padding, [[0, 1], [1, 1]], '35×34 → 18×17');
  assert.equal(layerConfig(m, 'block_1_pad').padding, [[1, 1], [1, 1]]);
  // Conv1 ('same', stride 2): 33×34 → 17×17; block_1_pad: 17 odd → +1+1 = 19; 17 → 9 after the 'valid' 3×3/2.
  assert.equal(m.layerOutputShape('Conv1'), [null, 17, 17, 32]);
  assert.equal(m.layerOutputShape('block_1_pad'), [null, 19, 19, 96]);
  assert.equal(m.layerOutputShape('block_3_pad'), [null, 11, 11, 144]);
  assert.equal(m.layerOutputShape('out_relu'), [null, 2, 2, 1280]);
  assert.equal(mobilenetV2({ inputShape: [32, 32, 3], includeTop: false }).layerOutputShape('block_1_pad'), [null, 17, 17, 96]);
});

// Tolerance: 1e-5 on probabilities (as VGG-19's and InceptionV3's). Measured on Mesa lavapipe:
// 7.4e-7 (a 0.0904 probability); logits differ by 1.2e-5. MobileNetV2 has 52
// convolutions (17 of them depthwise), each followed by a batch norm (folded into it here,
// applied apart in tfjs), and 10 residual additions; a structural error (a pad on the wrong
// side, a missing Add) moves the outputs by far more: the control asserts the reference varies by > 20 × atol.
s('MobileNetV2 at 32×32 predicts as tfjs-layers does on the same He-scaled weights (softmax atol 1e-5; outputs input-dependent)', async () => {
  const m = mobilenetV2({ inputShape: [32, 32, 3], classes: 10 });
  await agreeWithTfjs(m, 2, 7, 1e-5, 'mobilenet_v2 probabilities');
  m.dispose();
});

// An odd size goes through correct_pad's (1, 1) branch, which 32×32 never reaches (35 → 18 →
// 9 → 5 → 3 → 2: both branches). Tolerance 2e-5; measured 4.9e-6 (a 0.2598 probability).
s('MobileNetV2 at 35×35 (odd sizes: symmetric correct_pad) predicts as tfjs-layers does (softmax atol 2e-5)', async () => {
  const m = mobilenetV2({ inputShape: [35, 35, 3], classes: 10 });
  await agreeWithTfjs(m, 2, 11, 2e-5, 'mobilenet_v2 35×35 probabilities');
  m.dispose();
});

s.run();
