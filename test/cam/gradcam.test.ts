// Grad-CAM end to end against TensorFlow.js: tf.grad of the target's pre-softmax logit with
// respect to the layer's output, channel means, weighted sum, ReLU, ÷ max, resizeBilinear, on a
// small random CNN, VGG-19 at 32×32 and InceptionV3 at 75×75 (random weights); batches equal
// one image at a time; top-K gives one map per class.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cam, gradCam } from '../../src/cam/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { inceptionV3, vgg19 } from '../../src/nn/zoo/index.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { smallCnn, tfActsAndGrads, tfGradCam, toTf, withExactAvgPoolGrad } from './cam-helpers.ts';

const s = suite('cam/gradcam');
s.before(async () => { await gpu(); });

s('small CNN, batch 3: Grad-CAM maps match tfjs within 1e-4 (and the up-sampled maps, and the top classes)', async () => {
  const tm = smallCnn(12, 5);
  randomizeTf(tm, 3);
  const model = fromTf(tm);
  const shape = [3, 12, 12, 3];
  const xh = randn(3 * 12 * 12 * 3, 4, 0, 1);
  const ref = tfActsAndGrads(tm, tf.tensor4d(xh, shape as [number, number, number, number]), 'feat', null);
  const want = tfGradCam(ref, [12, 12]);
  const r = await gradCam(model, upload(xh, shape), { layer: 'feat' });
  assert.equal(r.layer, { name: 'feat', height: 6, width: 6, channels: 6 });
  assert.is(r.images.length, 3);
  r.images.forEach((im, n) => {
    assert.is(im.target, ref.targets[n], `image ${n} target`);
    assert.is(im.topk[0]!.index, ref.targets[n]);
    assertClose([im.topk[0]!.prob], [Math.max(...ref.probs.subarray(n * 5, n * 5 + 5))], { rtol: 1e-5, what: 'top prob' });
    assertClose(im.map.values, want.map.subarray(n * 36, (n + 1) * 36), { rtol: 0, atol: 1e-4, what: `map ${n}` });
    assertClose(im.upsampled!.values, want.up.subarray(n * 144, (n + 1) * 144), { rtol: 0, atol: 1e-4, what: `up-sampled ${n}` });
  });
  // The batch gives the same maps as one image at a time.
  for (let n = 0; n < 3; n++) {
    const one = await gradCam(model, upload(xh.subarray(n * 432, (n + 1) * 432), [1, 12, 12, 3]), { layer: 'feat' });
    assertClose(one.images[0]!.map.values, r.images[n]!.map.values, { rtol: 0, atol: 1e-6, what: `image ${n} alone vs in the batch` });
  }
});

s('small CNN: { topK: 3 } gives three maps per image, one per class, each matching tfjs for that class', async () => {
  const tm = smallCnn(12, 5, 2);
  randomizeTf(tm, 7);
  const model = fromTf(tm);
  const xh = randn(2 * 432, 8, 0, 1);
  const r = await cam(model, upload(xh, [2, 12, 12, 3]), { layer: 'feat', target: { topK: 3 }, labels: ['a', 'b', 'c', 'd', 'e'] });
  assert.is(r.images.length, 6);
  const classes = r.images.map((im) => im.target);
  for (let n = 0; n < 2; n++) {
    const order = Array.from(tf.topk((tm.predict(tf.tensor4d(xh, [2, 12, 12, 3])) as tf.Tensor2D), 3).indices.dataSync());
    assert.equal(classes.slice(n * 3, n * 3 + 3), order.slice(n * 3, n * 3 + 3), `image ${n}: targets are its top 3`);
  }
  const ref = tfActsAndGrads(tm, tf.tensor4d(Float32Array.from([0, 0, 0, 1, 1, 1].flatMap((n) => Array.from(xh.subarray(n * 432, (n + 1) * 432)))), [6, 12, 12, 3]), 'feat', classes);
  const want = tfGradCam(ref, [12, 12]);
  r.images.forEach((im, i) => {
    assert.is(im.image, Math.floor(i / 3));
    assert.is(im.topk[0]!.label, ['a', 'b', 'c', 'd', 'e'][im.topk[0]!.index]);
    assertClose(im.map.values, want.map.subarray(i * 36, (i + 1) * 36), { rtol: 0, atol: 1e-4, what: `row ${i}` });
  });
});

s('VGG-19 at 32×32 (random weights): auto picks block5_conv4 (block5_pool is 1×1); Grad-CAM matches tfjs within 1e-4', async () => {
  const m = vgg19({ inputShape: [32, 32, 3], classes: 10 });
  m.initWeights(3);
  const tm = await toTf(m);
  const xh = randn(2 * 32 * 32 * 3, 5, 0, 1);
  const r = await gradCam(m, upload(xh, [2, 32, 32, 3]));
  assert.equal(r.layer, { name: 'block5_conv4', height: 2, width: 2, channels: 512 });
  const ref = tfActsAndGrads(tm, tf.tensor4d(xh, [2, 32, 32, 3]), 'block5_conv4', null);
  const want = tfGradCam(ref, [32, 32]);
  r.images.forEach((im, n) => {
    assert.is(im.target, ref.targets[n]);
    assertClose(im.map.values, want.map.subarray(n * 4, (n + 1) * 4), { rtol: 0, atol: 1e-4, what: `vgg19 map ${n}` });
    assertClose(im.upsampled!.values, want.up.subarray(n * 1024, (n + 1) * 1024), { rtol: 0, atol: 1e-4, what: `vgg19 up ${n}` });
  });
  tm.dispose();
  m.dispose();
});

s('InceptionV3 at 75×75 (random weights): auto picks mixed7 (3×3; mixed8-10 are 1×1); Grad-CAM matches tfjs within 1e-4', async () => {
  const m = inceptionV3({ inputShape: [75, 75, 3], classes: 20 });
  m.initWeights(5);
  const tm = await toTf(m);
  const xh = randn(75 * 75 * 3, 6, 0, 1);
  const r = await gradCam(m, upload(xh, [1, 75, 75, 3]), { target: 7 });
  assert.equal(r.layer, { name: 'mixed7', height: 3, width: 3, channels: 768 });
  // tfjs's AvgPoolGrad ignores the padding its forward excludes (see cam-helpers.ts): corrected here.
  const ref = withExactAvgPoolGrad(() => tfActsAndGrads(tm, tf.tensor4d(xh, [1, 75, 75, 3]), 'mixed7', [7]));
  const want = tfGradCam(ref, [75, 75]);
  assert.is(r.images[0]!.target, 7);
  assert.ok(Math.max(...want.map) === 1, 'the reference map is not all zero');
  assertClose(r.images[0]!.map.values, want.map, { rtol: 0, atol: 1e-4, what: 'inception map' });
  assertClose(r.images[0]!.upsampled!.values, want.up, { rtol: 0, atol: 1e-4, what: 'inception up-sampled' });
  tm.dispose();
  m.dispose();
});

s('a map that is zero everywhere is named in a warning (class with only negative head weights); a positive class is not (control)', async () => {
  const tm = smallCnn(12, 3, 4);
  randomizeTf(tm, 11);
  // feat is after a ReLU (A ≥ 0); flatten → dense: Grad-CAM's channel weights for class c are the
  // means of its dense column, so a column of negative weights leaves Σ α_k A_k ≤ 0 everywhere.
  const dense = tm.getLayer('predictions');
  const [k, b] = dense.getWeights();
  const kh = Float32Array.from(k!.dataSync());
  const units = 3;
  for (let i = 0; i < kh.length; i += units) { kh[i] = -Math.abs(kh[i]!) - 0.01; kh[i + 1] = Math.abs(kh[i + 1]!) + 0.01; }
  dense.setWeights([tf.tensor2d(kh, k!.shape as [number, number]), b!]);
  const model = fromTf(tm);
  const xh = randn(432, 12, 0, 1);
  const neg = await gradCam(model, upload(xh, [1, 12, 12, 3]), { layer: 'feat', target: 0, labels: ['neg', 'pos', 'other'] });
  assert.ok(neg.images[0]!.map.values.every((v) => v === 0), 'the negative class has an all-zero map');
  const w = neg.warnings.filter((m) => /zero everywhere/.test(m));
  assert.is(w.length, 1, neg.warnings.join('\n'));
  assert.match(w[0]!, /image 0 class neg .*layer 'feat'/);
  const pos = await gradCam(model, upload(xh, [1, 12, 12, 3]), { layer: 'feat', target: 1 });
  assert.ok(pos.images[0]!.map.values.some((v) => v > 0), 'control: the positive class has evidence');
  assert.not.ok(pos.warnings.some((m) => /zero everywhere/.test(m)), pos.warnings.join('\n'));
});

s.run();
