// Every CAM method other than Grad-CAM against its formula worked on the host from tfjs-computed
// activations and gradients (small random CNN, batch 2), Score-CAM's masked passes and Eigen-CAM's
// principal direction included; guided backprop against a tfjs forward with a custom ReLU
// gradient; SmoothGrad's and multi-layer averaging's contracts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cam, GUIDED_WARNING, type CamMethodName } from '../../src/cam/index.ts';
import { upload } from '../../src/nn/tensor.ts';
import type { Model } from '../../src/nn/model.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { smallCnn, tfActsAndGrads, tfl as tflayers, type TfCam } from './cam-helpers.ts';
import type * as tfl from '@tensorflow/tfjs-layers';

const s = suite('cam/methods');
let tm: tfl.LayersModel, model: Model;
const N = 2, S = 12, SHAPE: [number, number, number, number] = [N, S, S, 3];
const xh = randn(N * S * S * 3, 21, 0, 1);
let ref: TfCam;
s.before(async () => {
  await gpu();
  tm = smallCnn(S, 5, 9);
  randomizeTf(tm, 11);
  model = fromTf(tm);
  ref = tfActsAndGrads(tm, tf.tensor4d(xh, SHAPE), 'feat', null);
});

const normalise = (m: number[]) => {
  const r = m.map((v) => Math.max(v, 0));
  const p = Math.max(...r);
  return p > 0 ? r.map((v) => v / p) : r;
};
/** Per image: A[p][c], G[p][c] from the tfjs reference. */
function slices(r: TfCam, n: number) {
  const [, h, w, C] = r.shape;
  const P = h * w;
  const A = Array.from({ length: P }, (_, p) => Array.from(r.acts.subarray((n * P + p) * C, (n * P + p + 1) * C)));
  const G = Array.from({ length: P }, (_, p) => Array.from(r.grads.subarray((n * P + p) * C, (n * P + p + 1) * C)));
  return { A, G, P, C };
}
const chan = (A: number[][], w: number[]) => A.map((row) => row.reduce((s, a, c) => s + a * w[c]!, 0));
const sumP = (M: number[][], c: number, f: (v: number, p: number) => number = (v) => v) => M.reduce((s, row, p) => s + f(row[c]!, p), 0);
const FORMULAS: Partial<Record<CamMethodName, (A: number[][], G: number[][], P: number, C: number) => number[]>> = {
  'gradcam++': (A, G, _P, C) => chan(A, Array.from({ length: C }, (_, c) => {
    const sa = sumP(A, c);
    return sumP(G, c, (g) => (g === 0 ? 0 : (g * g) / (2 * g * g + sa * g ** 3 + 1e-7)) * Math.max(g, 0));
  })),
  xgradcam: (A, G, _P, C) => chan(A, Array.from({ length: C }, (_, c) => sumP(G, c, (g, p) => g * A[p]![c]!) / (sumP(A, c) + 1e-7))),
  hirescam: (A, G) => A.map((row, p) => row.reduce((s, a, c) => s + a * G[p]![c]!, 0)),
  layercam: (A, G) => A.map((row, p) => row.reduce((s, a, c) => s + a * Math.max(G[p]![c]!, 0), 0)),
};

for (const method of Object.keys(FORMULAS) as CamMethodName[]) {
  s(`${method} matches its formula on tfjs activations and gradients (batch 2, atol 1e-4)`, async () => {
    const r = await cam(model, upload(xh, SHAPE), { method, layer: 'feat' });
    assert.equal(r.layer, { name: 'feat', height: 6, width: 6, channels: 6 });
    for (let n = 0; n < N; n++) {
      const { A, G, P, C } = slices(ref, n);
      assert.is(r.images[n]!.target, ref.targets[n]);
      assertClose(r.images[n]!.map.values, normalise(FORMULAS[method]!(A, G, P, C)), { rtol: 0, atol: 1e-4, what: `${method} image ${n}` });
    }
  });
}

/** Logits of the small CNN for a batch (tfjs): flatten output · W + b. */
let flatModel: tfl.LayersModel | null = null;
function tfLogits(x: tf.Tensor4D): tf.Tensor2D {
  flatModel ??= tflayers.model({ inputs: tm.inputs, outputs: tm.getLayer('flat').getOutputAt(0) as tfl.SymbolicTensor });
  const [k, b] = tm.getLayer('predictions').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  return tf.add(tf.matMul(flatModel.predict(x) as tf.Tensor2D, k), b);
}

s('scorecam: masked forward passes in batches give softmax(target logits) weights (Wang et al. Eq. 6-8; atol 1e-4)', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: 'scorecam', layer: 'feat', scoreCamBatch: 4 });
  const [, h, w, C] = ref.shape;
  for (let n = 0; n < N; n++) {
    const t = ref.targets[n]!;
    const a = tf.slice(tf.tensor4d(ref.acts, ref.shape), [n, 0, 0, 0], [1, h, w, C]);
    const lo = tf.min(a, [1, 2], true), hi = tf.max(a, [1, 2], true);
    const norm = tf.where(tf.greater(hi, lo), tf.div(tf.sub(a, lo), tf.sub(hi, lo)), tf.zerosLike(a));
    const up = tf.transpose(tf.image.resizeBilinear(norm as tf.Tensor4D, [S, S], false, true), [3, 1, 2, 0]); // (C,S,S,1)
    const masked = tf.mul(up, tf.slice(tf.tensor4d(xh, SHAPE), [n, 0, 0, 0], [1, S, S, 3])) as tf.Tensor4D;
    const scores = tf.reshape(tf.slice(tfLogits(masked), [0, t], [C, 1]), [C]);
    const wts = Array.from(tf.softmax(scores).dataSync());
    const { A } = slices(ref, n);
    assertClose(r.images[n]!.map.values, normalise(chan(A, wts)), { rtol: 0, atol: 1e-4, what: `scorecam image ${n}` });
  }
});

s('eigencam: ReLU of the projection on the first right singular vector, sign towards the mean activation (atol 1e-3)', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: 'eigencam', layer: 'feat', target: { topK: 2 } });
  assert.is(r.images.length, 4);
  for (let n = 0; n < N; n++) {
    const { A, P, C } = slices(ref, n);
    let v = new Array<number>(C).fill(1);
    for (let it = 0; it < 500; it++) {
      const Av = chan(A, v);
      const t = Array.from({ length: C }, (_, c) => A.reduce((s, row, p) => s + row[c]! * Av[p]!, 0));
      const nrm = Math.hypot(...t);
      v = t.map((x) => x / nrm);
    }
    let proj = chan(A, v);
    const corr = proj.reduce((s, x, p) => s + x * A[p]!.reduce((a, b) => a + b, 0), 0);
    if (corr < 0) proj = proj.map((x) => -x);
    for (const k of [0, 1]) assertClose(r.images[n * 2 + k]!.map.values, normalise(proj), { rtol: 0, atol: 1e-3, what: `eigencam image ${n} row ${k} (P ${P})` });
  }
});

s('saliency: max over channels of |d logit / d input| at the input resolution (atol 1e-4)', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: 'saliency', target: [1, 3] });
  assert.is(r.layer.height, S);
  assert.is(r.layer.channels, 3);
  const onehot = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 5);
  const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(tfLogits(x as tf.Tensor4D), onehot)))(tf.tensor4d(xh, SHAPE));
  const m = tf.max(tf.abs(g), 3).dataSync();
  for (let n = 0; n < N; n++) {
    assert.is(r.images[n]!.target, [1, 3][n]);
    assertClose(r.images[n]!.map.values, normalise(Array.from(m.subarray(n * S * S, (n + 1) * S * S))), { rtol: 0, atol: 1e-4, what: `saliency ${n}` });
  }
});

s('guided-gradcam: guided backprop (tfjs custom ReLU gradient) × up-sampled Grad-CAM, with the randomisation warning', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: 'guided-gradcam', layer: 'feat' });
  assert.equal(r.warnings, [GUIDED_WARNING]);
  assert.match(r.warnings[0]!, /Adebayo/);
  const gradcam = await cam(model, upload(xh, SHAPE), { method: 'gradcam', layer: 'feat' });
  const guidedRelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([x]);
    return { value: tf.relu(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.mul(tf.step(saved[0]!), tf.step(dy))) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as (x: tf.Tensor) => tf.Tensor;
  const [k1, b1] = tm.getLayer('c1').getWeights() as [tf.Tensor4D, tf.Tensor1D];
  const [k2, b2] = tm.getLayer('feat').getWeights() as [tf.Tensor4D, tf.Tensor1D];
  const [k3, b3] = tm.getLayer('predictions').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const onehot = tf.oneHot(tf.tensor1d(ref.targets, 'int32'), 5);
  const f = (x: tf.Tensor) => {
    let y = guidedRelu(tf.add(tf.conv2d(x as tf.Tensor4D, k1, 1, 'same'), b1)) as tf.Tensor4D;
    y = tf.maxPool(y, 2, 2, 'valid');
    y = guidedRelu(tf.add(tf.conv2d(y, k2, 1, 'same'), b2)) as tf.Tensor4D;
    return tf.sum(tf.mul(tf.add(tf.matMul(tf.reshape(y, [N, -1]), k3), b3), onehot));
  };
  const gb = tf.max(tf.abs(tf.grad(f)(tf.tensor4d(xh, SHAPE))), 3).dataSync();
  for (let n = 0; n < N; n++) {
    const g = normalise(Array.from(gb.subarray(n * S * S, (n + 1) * S * S)));
    const up = gradcam.images[n]!.upsampled!.values;
    assertClose(r.images[n]!.map.values, normalise(g.map((v, i) => v * up[i]!)), { rtol: 0, atol: 1e-4, what: `guided ${n}` });
    assert.is(r.images[n]!.map.height, S);
  }
});

s('smoothGrad: noise 0 reproduces the method; noise > 0 is seeded (same seed same map, other seed differs); targets from the clean image', async () => {
  const x = upload(xh, SHAPE);
  const plain = await cam(model, x, { method: 'gradcam', layer: 'feat' });
  const still = await cam(model, x, { method: 'gradcam', layer: 'feat', smoothGrad: { samples: 3, noise: 0 } });
  still.images.forEach((im, n) => assertClose(im.map.values, plain.images[n]!.map.values, { rtol: 0, atol: 1e-5, what: `noise 0, image ${n}` }));
  const a = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 5 } });
  const b = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 5 } });
  const c = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 6 } });
  a.images.forEach((im, n) => {
    assert.equal(Array.from(im.map.values), Array.from(b.images[n]!.map.values), 'same seed, same map');
    assert.is(im.target, plain.images[n]!.target, 'target of the clean image');
    assert.ok(im.map.values.some((v, i) => Math.abs(v - c.images[n]!.map.values[i]!) > 1e-3), 'another seed gives another map');
    assert.is(Math.max(...im.map.values), 1);
  });
});

s('several layers: each map up-sampled to the input size, averaged, normalised', async () => {
  const x = upload(xh, SHAPE);
  const both = await cam(model, x, { layer: ['c1', 'feat'] });
  assert.equal(both.layer, { name: 'c1+feat', height: S, width: S, channels: 14 });
  const c1 = await cam(model, x, { layer: 'c1' });
  const feat = await cam(model, x, { layer: 'feat' });
  for (let n = 0; n < N; n++) {
    const avg = c1.images[n]!.upsampled!.values.map((v, i) => v + feat.images[n]!.upsampled!.values[i]!);
    assertClose(both.images[n]!.map.values, normalise(Array.from(avg)), { rtol: 0, atol: 1e-5, what: `image ${n}` });
  }
});

s('no method leaks GPU memory (live bytes unchanged after each, SmoothGrad and several layers included)', async () => {
  const rt = await gpu();
  const x = upload(xh, SHAPE);
  const methods: CamMethodName[] = ['gradcam', 'gradcam++', 'hirescam', 'xgradcam', 'layercam', 'scorecam', 'eigencam', 'saliency', 'guided-gradcam'];
  for (const method of methods) {
    await cam(model, x, { method, layer: 'feat' }); // warm caches (pipelines, folds)
    const before = rt.stats().liveBytes;
    await cam(model, x, { method, layer: ['c1', 'feat'], target: { topK: 2 }, smoothGrad: { samples: 2, noise: 0.1 } });
    assert.is(rt.stats().liveBytes, before, `${method} leaks`);
  }
});

s.run();
