// ResNet-50 from the zoo against keras.applications.ResNet50's published figures (25,636,712
// parameters of which 53,120 are batch-norm statistics, 177 layers, Keras's names and shapes at
// 224×224) and against tfjs-layers running the same topology with the same seeded weights at
// 32×32 (the smallest input Keras allows), with the zoo tests' controls.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { resnet50 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { agreeWithTfjs, total } from './zoo-helpers.ts';
import { heWeights } from './he-weights.ts';
import { modelWeightsH5, sameWeights } from './loader-fixtures.ts';
import { loadH5Weights } from '../../src/nn/loaders/index.ts';
import { pretrainedModels } from '../../src/cli/pretrained.ts';

const s = suite('nn/zoo-resnet');
s.before(async () => { await gpu(); });

s('parameter counts, layer count, names and shapes are keras.applications.ResNet50\'s (224×224, nothing allocated)', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const m = resnet50();
  assert.is(total(m), 25_636_712);
  assert.is(m.parameterCount().nonTrainable, 53_120);
  assert.is(total(resnet50({ includeTop: false })), 23_587_712);
  assert.is(m.name, 'resnet50');
  assert.is(m.layers.length, 177);
  assert.equal(m.layers.slice(0, 7).map((l) => l.name), ['input_1', 'conv1_pad', 'conv1_conv', 'conv1_bn', 'conv1_relu', 'pool1_pad', 'pool1_pool']);
  for (const [name, shape] of [
    ['conv1_pad', [null, 230, 230, 3]], ['conv1_conv', [null, 112, 112, 64]], ['pool1_pool', [null, 56, 56, 64]],
    ['conv2_block1_0_conv', [null, 56, 56, 256]], ['conv2_block3_out', [null, 56, 56, 256]], ['conv3_block1_1_conv', [null, 28, 28, 128]],
    ['conv3_block4_out', [null, 28, 28, 512]], ['conv4_block6_out', [null, 14, 14, 1024]], ['conv5_block1_add', [null, 7, 7, 2048]],
    ['conv5_block3_out', [null, 7, 7, 2048]], ['avg_pool', [null, 2048]], ['predictions', [null, 1000]],
  ] as const) {
    assert.equal(m.layerOutputShape(name), [...shape], name);
  }
  assert.throws(() => resnet50({ inputShape: [31, 64, 3] }), /at least 32×32, got 31×64/);
  assert.is(rt.stats().liveBytes, before, 'no GPU memory allocated');
});

// Tolerance: 1e-4 on probabilities. Measured: 3.2e-5 (a 0.2756 probability), i.e. 1.2e-4
// relative: float32 sums in another order (WGSL tiles vs tfjs CPU; batch norms folded into the
// convolutions here, applied apart in tfjs) through 53 convolutions and 16 residual additions,
// against VGG-19's 19 layers that meet 1e-5. A structural error (stride, padding, a shortcut)
// moves the outputs by far more: the control asserts the reference varies by > 20 × atol.
s('ResNet50 at 32×32 predicts as tfjs-layers does on the same He-scaled weights (softmax atol 1e-4; outputs input-dependent)', async () => {
  const m = resnet50({ inputShape: [32, 32, 3], classes: 10 });
  await agreeWithTfjs(m, 2, 7, 1e-4, 'resnet50 probabilities');
  m.dispose();
});

// The file Keras's resnet.py downloads (keras-applications/resnet/, MD5 2cb95161…) was written by
// keras-applications' resnet_common.py, which names every layer as resnet.py does except the
// classifier: Dense(..., name='probs'), resnet.py's 'predictions'. The manifest's `renames` pairs it.
s('a ResNet50 weights file whose classifier is "probs" loads by name through the manifest\'s renames; without them it fails naming the layer', async () => {
  const entry = (await pretrainedModels({})).get('resnet50')!;
  assert.equal(entry.renames, { probs: 'predictions' });
  const src = resnet50({ inputShape: [32, 32, 3] });
  src.setWeights(heWeights(src, 11));
  const bytes = await modelWeightsH5(src, { predictions: 'probs' });
  const want = await src.readWeights();
  const m = resnet50({ inputShape: [32, 32, 3] });
  await loadH5Weights(m, bytes, { match: entry.match, name: 'resnet50.h5', renames: entry.renames });
  await sameWeights(m, want, 'renamed classifier');
  // Control: by name alone, 'predictions' is missing from the file.
  const bare = resnet50({ inputShape: [32, 32, 3] });
  let msg = '';
  try { await loadH5Weights(bare, bytes, { match: 'name', name: 'resnet50.h5' }); } catch (e) { msg = (e as Error).message; }
  assert.match(msg, /no weights for layer 'predictions'/);
  // A rename onto a name the file already has is refused rather than guessed.
  let clash = '';
  try { await loadH5Weights(bare, bytes, { match: 'name', name: 'resnet50.h5', renames: { probs: 'conv1_conv' } }); } catch (e) { clash = (e as Error).message; }
  assert.match(clash, /cannot rename layer 'probs' to 'conv1_conv'/);
  for (const x of [src, m, bare]) x.dispose();
});

s.run();
