// The zoo against Keras's published numbers (parameter counts, layer names and shapes of
// keras.applications) and against tfjs-layers running the same topology with the same seeded
// weights: VGG-19 at 32×32, InceptionV3 at 75×75, the Fashion-MNIST CNN. The weights make the
// outputs depend on the input (He-scaled kernels, non-zero biases, batch norms that are neither
// identities nor dead), and each comparison has a control: the reference's logits and
// probabilities differ between the two images and from uniform by far more than the tolerance,
// so a constant output fails it.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { fashionCnn, inceptionV3, vgg16, vgg19 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';

const s = suite('nn/zoo');
s.before(async () => { await gpu(); });

s('parameter counts match keras.applications at 224/299 (from shapes alone, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  assert.is(total(vgg16()), 138_357_544);
  assert.is(total(vgg19()), 143_667_240);
  const inc = inceptionV3();
  assert.is(total(inc), 23_851_784);
  assert.is(inc.parameterCount().nonTrainable, 34_432);
  assert.is(total(vgg19({ includeTop: false })), 20_024_384);
  assert.is(total(inceptionV3({ includeTop: false })), 21_802_784);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

s('layer names and output shapes are Keras\'s (VGG-19 at 224, InceptionV3 at 299)', () => {
  const v = vgg19();
  assert.is(v.name, 'vgg19');
  assert.is(v.layers.length, 26);
  assert.equal(v.layerOutputShape('block5_conv4'), [null, 14, 14, 512]);
  assert.equal(v.layerOutputShape('block5_pool'), [null, 7, 7, 512]);
  assert.equal(v.layerOutputShape('flatten'), [null, 25088]);
  assert.equal(v.layerOutputShape('fc1'), [null, 4096]);
  assert.equal(v.layerOutputShape('predictions'), [null, 1000]);
  assert.equal(vgg16().layers.map((l) => l.name).slice(9, 13), ['block3_conv3', 'block3_pool', 'block4_conv1', 'block4_conv2']);
  const i = inceptionV3();
  assert.is(i.name, 'inception_v3');
  assert.is(i.layers.length, 313);
  assert.equal(i.layers.slice(0, 5).map((l) => l.name), ['input_1', 'conv2d', 'batch_normalization', 'activation', 'conv2d_1']);
  for (const [name, shape] of [
    ['conv2d', [null, 149, 149, 32]], ['max_pooling2d', [null, 73, 73, 64]], ['max_pooling2d_1', [null, 35, 35, 192]],
    ['mixed0', [null, 35, 35, 256]], ['mixed2', [null, 35, 35, 288]], ['mixed3', [null, 17, 17, 768]], ['mixed7', [null, 17, 17, 768]],
    ['mixed8', [null, 8, 8, 1280]], ['mixed9_0', [null, 8, 8, 768]], ['concatenate_1', [null, 8, 8, 768]], ['mixed10', [null, 8, 8, 2048]],
    ['conv2d_93', [null, 8, 8, 192]], ['batch_normalization_93', [null, 8, 8, 192]], ['activation_93', [null, 8, 8, 192]],
    ['average_pooling2d_8', [null, 8, 8, 2048]], ['avg_pool', [null, 2048]], ['predictions', [null, 1000]],
  ] as const) {
    assert.equal(i.layerOutputShape(name), [...shape], name);
  }
  const headless = inceptionV3({ includeTop: false, pooling: 'max' });
  assert.is(headless.layers[headless.layers.length - 1]!.name, 'global_max_pooling2d');
  assert.equal(headless.outputShape, [null, 2048]);
  assert.equal(vgg16({ includeTop: false, pooling: 'avg', inputShape: [48, 64, 3] }).outputShape, [null, 512]);
});

s('minimum input sizes are errors that say what to do', () => {
  assert.throws(() => vgg19({ inputShape: [31, 64, 3] }), /at least 32×32, got 31×64/);
  assert.throws(() => inceptionV3({ inputShape: [74, 74, 3] }), /at least 75×75/);
  assert.equal(inceptionV3({ inputShape: [75, 75, 3] }).layerOutputShape('mixed10'), [null, 1, 1, 2048]);
});

s('VGG-19 at 32×32 predicts as tfjs-layers does on the same He-scaled weights (logits atol 1e-4, softmax atol 1e-5; outputs input-dependent)', async () => {
  const m = vgg19({ inputShape: [32, 32, 3], classes: 10 });
  assert.is(total(m), 143_667_240 - (25088 - 512) * 4096 - 990 * 4097);
  await agreeWithTfjs(m, 2, 3, 1e-5, 'vgg19 probabilities');
  m.dispose();
  const lin = vgg19({ inputShape: [32, 32, 3], classes: 10, classifierActivation: 'linear' });
  await agreeWithTfjs(lin, 2, 3, 1e-4, 'vgg19 logits');
  lin.dispose();
});

s('InceptionV3 at 75×75 predicts as tfjs-layers does (batch norms folded; logits atol 1e-4, softmax atol 1e-5; outputs input-dependent)', async () => {
  const m = inceptionV3({ inputShape: [75, 75, 3], classes: 20 });
  await agreeWithTfjs(m, 2, 5, 1e-5, 'inception_v3 probabilities');
  assert.is(m.foldedCount, 94, 'every conv2d_bn runs as one folded conv');
  m.dispose();
  const lin = inceptionV3({ inputShape: [75, 75, 3], classes: 20, classifierActivation: 'linear' });
  await agreeWithTfjs(lin, 2, 5, 1e-4, 'inception_v3 logits');
  lin.dispose();
});

s('the Fashion-MNIST CNN: 28×28×1 → 10, Keras names, tfjs agrees', async () => {
  const m = fashionCnn();
  assert.equal(m.inputShape, [null, 28, 28, 1]);
  assert.equal(m.outputShape, [null, 10]);
  assert.is(total(m), 467_818);
  assert.equal(m.layers.map((l) => l.name), ['conv2d', 'conv2d_1', 'max_pooling2d', 'conv2d_2', 'conv2d_3', 'max_pooling2d_1', 'flatten', 'dense', 'dropout', 'dense_1']);
  await agreeWithTfjs(m, 3, 8, 1e-5, 'fashion_cnn probabilities');
  m.dispose();
});

s.run();
