// Layer selection ('auto' on the zoo's graphs at full size, built without weights), targets and
// their errors, and a planted-evidence model whose class is decided by a bright patch in the
// top-left quadrant: every method (but two left out with a reason) must peak there, not on a distractor.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { autoLayer, cam, METHOD_NAMES, resolveLayers, type CamMethodName } from '../../src/cam/index.ts';
import { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { fashionCnn, inceptionV3, vgg16, vgg19 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { smallCnn, tfl } from './cam-helpers.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';

const s = suite('cam/select');

/** Asserts that a promise rejects with a message matching re. */
async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}
s.before(async () => { await gpu(); });

s("'auto' picks block5_pool (VGG-16/19 at 224), mixed10 (InceptionV3 at 299), max_pooling2d_1 (Fashion CNN); no weights allocated", async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  assert.is(autoLayer(vgg19()), 'block5_pool');
  assert.is(autoLayer(vgg16()), 'block5_pool');
  assert.is(autoLayer(inceptionV3()), 'mixed10');
  assert.is(autoLayer(vgg19({ includeTop: false, pooling: 'avg' })), 'block5_pool');
  assert.is(autoLayer(fashionCnn()), 'max_pooling2d_1');
  assert.is(autoLayer(vgg19({ inputShape: [32, 32, 3] })), 'block5_conv4', 'block5_pool is 1×1 at 32×32');
  assert.is(autoLayer(inceptionV3({ inputShape: [75, 75, 3] })), 'mixed7', 'mixed8-10 are 1×1 at 75×75; branch layers never count');
  assert.is(rt.stats().liveBytes, before);
});

s('layers by name, index (negative from the end) and list; errors name candidates', async () => {
  const m = vgg19();
  assert.equal(resolveLayers(m, 'block4_conv2'), ['block4_conv2']);
  assert.equal(resolveLayers(m, -5), ['block5_pool']);
  assert.equal(resolveLayers(m, 21), ['block5_pool']);
  assert.equal(resolveLayers(m, ['auto', 'block4_pool']), ['block5_pool', 'block4_pool']);
  assert.throws(() => resolveLayers(m, 'block5_conv5'), /no layer named 'block5_conv5'; closest: .*block5_conv4.*4-D output.*block5_pool/);
  assert.throws(() => resolveLayers(m, 'fc1'), /layer 'fc1' has output \(None, 4096\); a CAM needs a 4-D.*'auto' picks block5_pool/);
  assert.throws(() => resolveLayers(m, 99), /layer index 99 is out of range: model 'vgg19' has 26 layers/);
  const dense = Model.fromKerasConfig({ class_name: 'Sequential', config: { name: 'mlp', layers: [{ class_name: 'Dense', config: { name: 'd', units: 3, batch_input_shape: [null, 4] } }] } });
  assert.throws(() => autoLayer(dense), /no layer with a 4-D \(N,H,W,C\) output.*saliency/);
});

s('targets: class names need labels; indices and per-image lists are checked; unknown methods are named', async () => {
  const tm = smallCnn(8, 4, 3);
  randomizeTf(tm, 2);
  const model = fromTf(tm);
  const x = upload(new Float32Array(2 * 8 * 8 * 3).fill(0.5), [2, 8, 8, 3]);
  await rejects(cam(model, x, { target: 'cat' }), /target 'cat' is a class name but no labels were given; pass labels/);
  await rejects(cam(model, x, { target: 'cow', labels: ['cat', 'dog', 'cow-like', 'x'] }), /not among the 4 labels; did you mean 'cow-like'/);
  await rejects(cam(model, x, { target: 4 }), /target index 4 is not a class index of this model \(0…3\)/);
  await rejects(cam(model, x, { target: [1] }), /1 class indices given for a batch of 2 images/);
  await rejects(cam(model, x, { target: { topK: 5 } }), /K must be an integer in 1…4/);
  await rejects(cam(model, x, { method: 'gradcam+++' as CamMethodName }), /unknown CAM method 'gradcam\+\+\+'; use one of gradcam, gradcam\+\+/);
  const r = await cam(model, x, { target: 'Dog', labels: ['cat', 'dog', 'cow', 'x'], layer: 'feat' });
  assert.equal(r.images.map((im) => im.target), [1, 1]);
  assert.equal(r.images[0]!.topk.length, 4);
  assert.ok(r.images[0]!.topk.every((t) => t.label === ['cat', 'dog', 'cow', 'x'][t.index]));
  const none = await cam(model, x, { layer: 'feat', upsample: false });
  assert.is(none.images[0]!.upsampled, undefined);
  void tfl;
});

/**
 * 16×16×1 inputs. c1 (3×3, 'same', ReLU): filter 0 detects bright areas (mean > 0.5), filter 1
 * dark ones (mean < −0.5); 2×2 max pool; 'feat' a 1×1 identity conv (ReLU); the dense head
 * scores class 0 by the bright channel, class 1 by the dark channel, everywhere.
 */
function plantedModel(): Model {
  const conv = (name: string, filters: number, k: number, extra = {}) => ({ class_name: 'Conv2D', config: { name, filters, kernel_size: [k, k], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, ...extra } });
  const m = Model.fromKerasConfig({ class_name: 'Sequential', config: { name: 'planted', layers: [
    conv('c1', 2, 3, { batch_input_shape: [null, 16, 16, 1] }),
    { class_name: 'MaxPooling2D', config: { name: 'pool', pool_size: [2, 2], strides: [2, 2], padding: 'valid' } },
    conv('feat', 2, 1),
    { class_name: 'Flatten', config: { name: 'flat' } },
    { class_name: 'Dense', config: { name: 'predictions', units: 2, activation: 'softmax', use_bias: true } },
  ] } });
  const k1 = new Float32Array(18);
  for (let i = 0; i < 9; i++) { k1[i * 2] = 1 / 9; k1[i * 2 + 1] = -1 / 9; }
  const dense = new Float32Array(128 * 2);
  for (let p = 0; p < 64; p++) { dense[(p * 2) * 2] = 1; dense[(p * 2 + 1) * 2 + 1] = 1; }
  m.setWeights(new Map([
    ['c1/kernel', k1], ['c1/bias', new Float32Array([-0.5, -0.5])],
    ['feat/kernel', new Float32Array([1, 0, 0, 1])], ['feat/bias', new Float32Array(2)],
    ['predictions/kernel', dense], ['predictions/bias', new Float32Array(2)],
  ]));
  return m;
}

/** Methods the planted-evidence check leaves out, with why; every other method in METHOD_NAMES must pass it. */
const NOT_PLANTED: Partial<Record<CamMethodName, string>> = {
  // Its softmax over only two channel scores never gives the distractor's channel a weight near
  // zero, so with a stronger distractor its map can peak there.
  scorecam: 'channel softmax over two scores',
  // Class-agnostic: the activations' principal component, the same map whichever class is asked
  // for (here it follows the larger, darker distractor; measured).
  eigencam: 'class-agnostic principal component',
};

s('planted evidence: a bright patch decides class 0 (top-left); every method in METHOD_NAMES but those left out with a reason peaks there, not on the dark distractor', async () => {
  const model = plantedModel();
  const img = new Float32Array(256);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) {
    if (y >= 2 && y < 6 && x >= 3 && x < 7) img[y * 16 + x] = 1; // evidence, top-left
    if (y >= 10 && y < 15 && x >= 9 && x < 14) img[y * 16 + x] = -1.5; // distractor, bottom-right (class 1's)
  }
  const x = upload(img, [1, 16, 16, 1]);
  const failures: string[] = [];
  for (const method of METHOD_NAMES.filter((m) => !NOT_PLANTED[m])) {
    const r = await cam(model, x, { method, layer: 'feat', target: 0 });
    const im = r.images[0]!;
    for (const m of [im.map, im.upsampled!]) {
      let best = 0;
      m.values.forEach((v, i) => { if (v > m.values[best]!) best = i; });
      const [row, col] = [Math.floor(best / m.width), best % m.width];
      if (!(row < m.height / 2 && col < m.width / 2)) failures.push(`${method} (${m.height}×${m.width}) peaks at (${row}, ${col}), outside the top-left quadrant`);
      const br = m.values.filter((_, i) => Math.floor(i / m.width) >= m.height / 2 && i % m.width >= m.width / 2);
      if (!(Math.max(...br) < 0.05)) failures.push(`${method}: the distractor quadrant reaches ${Math.max(...br)}`);
    }
  }
  assert.equal(failures, [], failures.join('; '));
  // And class 1's map finds the distractor instead.
  const r1 = await cam(model, x, { layer: 'feat', target: 1 });
  const v = r1.images[0]!.map.values;
  assert.ok(v.indexOf(1) >= 32 && v.indexOf(1) % 8 >= 4, 'class 1 peaks bottom-right');
  model.dispose();
});

s.run();
