// Every CAM method other than Grad-CAM against its paper's formula worked on the host from
// tfjs-computed activations and gradients (small random CNN, batch 2, per-image targets and
// top-K on a layer whose gradients differ per image), Score-CAM's masked passes and Eigen-CAM's
// principal direction (both branches of the Gram-matrix choice) included; guided backprop against
// a tfjs forward with a custom ReLU gradient; SmoothGrad against Smilkov et al.'s Eq. 3 on tfjs;
// multi-layer averaging's contract. Parity with pytorch-grad-cam itself: oracle.test.ts.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cam, GUIDED_WARNING, METHOD_NAMES, smoothGradNoise, type CamMethodName } from '../../src/cam/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import type { Model } from '../../src/nn/model.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { tfActsAndGrads, tfl as tflayers, type TfCam } from './cam-helpers.ts';
import { eigenProjection } from './eigen-ref.ts';
import type * as tfl from '@tensorflow/tfjs-layers';

type Sym = tfl.SymbolicTensor;
/**
 * conv 3×3×8 relu 'c1' → maxpool 2 → conv 3×3×6 relu 'feat' → conv 3×3×48 relu 'c3' → flatten →
 * dense softmax. 'feat' does not feed the Dense directly: its gradient passes c3's ReLU mask, so
 * it differs per image (a layer feeding Flatten → Dense gets the kernel's column for every image).
 * 'c3' has h·w = 36 ≤ C = 48 (Eigen-CAM's A·Aᵀ branch); 'feat' 36 > 6 (the AᵀA branch).
 */
// Seeded initialisers: every run checks the same weights (an unseeded draw can make a map zero
// everywhere, which adds a warning that a test comparing warnings would read as a failure).
const seeded = (seed: number) => ({ kernelInitializer: tflayers.initializers.glorotUniform({ seed }) });

function cnn(size: number, classes: number): tfl.LayersModel {
  const inp = tflayers.input({ shape: [size, size, 3] });
  let x = tflayers.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1', ...seeded(31) }).apply(inp) as Sym;
  x = tflayers.layers.maxPooling2d({ poolSize: 2, name: 'p1' }).apply(x) as Sym;
  x = tflayers.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat', ...seeded(32) }).apply(x) as Sym;
  x = tflayers.layers.conv2d({ filters: 48, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c3', ...seeded(33) }).apply(x) as Sym;
  x = tflayers.layers.flatten({ name: 'flat' }).apply(x) as Sym;
  const out = tflayers.layers.dense({ units: classes, activation: 'softmax', name: 'predictions', ...seeded(34) }).apply(x) as Sym;
  return tflayers.model({ inputs: inp, outputs: out, name: 'methods_cnn' });
}

const s = suite('cam/methods');
let tm: tfl.LayersModel, model: Model;
const N = 2, S = 12, SHAPE: [number, number, number, number] = [N, S, S, 3];
const xh = randn(N * S * S * 3, 21, 0, 1);
/** Per-image targets: image 0 its second class, image 1 a fixed other class (set in before). */
let perImage: number[];
let top1: TfCam;
const refs = new Map<string, TfCam>();
const refFor = (layer: string, t: number[]) => {
  const k = `${layer}:${t.join(',')}`;
  if (!refs.has(k)) refs.set(k, tfActsAndGrads(tm, tf.tensor4d(xh, SHAPE), layer, t));
  return refs.get(k)!;
};
s.before(async () => {
  await gpu();
  tm = cnn(S, 5);
  randomizeTf(tm, 11);
  model = fromTf(tm);
  top1 = tfActsAndGrads(tm, tf.tensor4d(xh, SHAPE), 'feat', null);
  const order = (n: number) => Array.from(top1.probs.subarray(n * 5, n * 5 + 5)).map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]).map((e) => e[1]);
  perImage = [order(0)[1]!, order(1)[3]!];
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
/** Each method's map before ReLU and normalisation, from its paper (pytorch-grad-cam for the one without). */
const FORMULAS: Partial<Record<CamMethodName, (A: number[][], G: number[][], P: number, C: number) => number[]>> = {
  gradcam: (A, G, P, C) => chan(A, Array.from({ length: C }, (_, c) => sumP(G, c) / P)), // Selvaraju et al. Eq. 1-2
  // Chattopadhay et al. Eq. 19 with the exponential score (no ε in the paper; camlight's ε = 1e-6 is
  // below this tolerance here, and is checked against pytorch-grad-cam in oracle.test.ts).
  'gradcam++': (A, G, _P, C) => chan(A, Array.from({ length: C }, (_, c) => {
    const sa = sumP(A, c);
    return sumP(G, c, (g) => (g === 0 ? 0 : (g * g) / (2 * g * g + sa * g ** 3)) * Math.max(g, 0));
  })),
  // Fu et al. Eq. 16 (the ratio A/ΣA; a channel with ΣA = 0 has A = 0 and contributes nothing).
  xgradcam: (A, G, _P, C) => chan(A, Array.from({ length: C }, (_, c) => { const sa = sumP(A, c); return sa > 0 ? sumP(G, c, (g, p) => g * A[p]![c]!) / sa : 0; })),
  hirescam: (A, G) => A.map((row, p) => row.reduce((s, a, c) => s + a * G[p]![c]!, 0)), // Draelos & Carin Eq. 3
  layercam: (A, G) => A.map((row, p) => row.reduce((s, a, c) => s + a * Math.max(G[p]![c]!, 0), 0)), // Jiang et al. Eq. 5-6
  'gradcam-elementwise': (A, G) => A.map((row, p) => row.reduce((s, a, c) => s + Math.max(a * G[p]![c]!, 0), 0)),
};

/** Methods checked by a test of their own below rather than by FORMULAS (the name is in its title). */
const OWN_TEST = new Set<CamMethodName>(['scorecam', 'eigencam', 'eigengradcam', 'saliency', 'guided-gradcam']);

s('every method in METHOD_NAMES has a reference: a formula in FORMULAS or a test of its own', () => {
  const missing = METHOD_NAMES.filter((m) => !FORMULAS[m] && !OWN_TEST.has(m));
  assert.equal(missing, [], `no reference for ${missing.join(', ')}: add its paper's formula to FORMULAS (or a test of its own)`);
  for (const m of OWN_TEST) assert.ok(METHOD_NAMES.includes(m), `${m} is not a method`);
});

s('control: the gradients at feat differ between the two images (so per-row targets are exercised)', () => {
  const r = refFor('feat', perImage);
  const P = r.shape[1] * r.shape[2] * r.shape[3];
  const g0 = r.grads.subarray(0, P), g1 = r.grads.subarray(P, 2 * P);
  const rel = Math.hypot(...g0.map((v, i) => v - g1[i]!)) / Math.hypot(...g0);
  assert.ok(rel > 0.1, `images' gradients differ by only ${rel}`);
  assert.ok(perImage[0] !== perImage[1], 'the two images get different classes');
});

for (const method of Object.keys(FORMULAS) as CamMethodName[]) {
  s(`${method} matches its formula on tfjs activations and gradients: per-image targets and top-2 (atol 1e-4)`, async () => {
    const perRow = await cam(model, upload(xh, SHAPE), { method, layer: 'feat', target: perImage });
    const topK = await cam(model, upload(xh, SHAPE), { method, layer: 'feat', target: { topK: 2 } });
    assert.equal(perRow.layer, { name: 'feat', height: 6, width: 6, channels: 6 });
    const ref = refFor('feat', perImage);
    for (let n = 0; n < N; n++) {
      const { A, G, P, C } = slices(ref, n);
      assert.is(perRow.images[n]!.target, perImage[n]);
      assertClose(perRow.images[n]!.map.values, normalise(FORMULAS[method]!(A, G, P, C)), { rtol: 0, atol: 1e-4, what: `${method} image ${n} class ${perImage[n]}` });
      for (let k = 0; k < 2; k++) {
        const row = topK.images[n * 2 + k]!;
        const t = refFor('feat', [0, 1].map((i) => (i === n ? row.target : perImage[i]!)));
        const { A: Ak, G: Gk } = slices(t, n);
        assertClose(row.map.values, normalise(FORMULAS[method]!(Ak, Gk, P, C)), { rtol: 0, atol: 1e-4, what: `${method} image ${n} top-${k + 1} class ${row.target}` });
      }
      assert.is(topK.images[n * 2]!.target, top1.targets[n]);
    }
  });
}

/** Logits of the CNN for a batch (tfjs): flatten output · W + b. */
let flatModel: tfl.LayersModel | null = null;
function tfLogits(x: tf.Tensor4D): tf.Tensor2D {
  flatModel ??= tflayers.model({ inputs: tm.inputs, outputs: tm.getLayer('flat').getOutputAt(0) as tfl.SymbolicTensor });
  const [k, b] = tm.getLayer('predictions').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  return tf.add(tf.matMul(flatModel.predict(x) as tf.Tensor2D, k), b);
}

s('scorecam: masks s(Up(A)) (Wang et al. Eq. 6-8: up-sample, then min-max), softmax(target logits) weights, per-image targets (atol 1e-4)', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: 'scorecam', layer: 'feat', scoreCamBatch: 4, target: perImage });
  const ref = refFor('feat', perImage);
  const [, h, w, C] = ref.shape;
  for (let n = 0; n < N; n++) {
    const t = perImage[n]!;
    const a = tf.slice(tf.tensor4d(ref.acts, ref.shape), [n, 0, 0, 0], [1, h, w, C]);
    // Up(·): bilinear with aligned corners (pytorch-grad-cam's UpsamplingBilinear2d), then s(·) on the up-sampled map.
    const up = tf.image.resizeBilinear(a as tf.Tensor4D, [S, S], true);
    const lo = tf.min(up, [1, 2], true), hi = tf.max(up, [1, 2], true);
    const norm = tf.where(tf.greater(hi, lo), tf.div(tf.sub(up, lo), tf.sub(hi, lo)), tf.zerosLike(up));
    const masks = tf.transpose(norm, [3, 1, 2, 0]); // (C,S,S,1)
    const masked = tf.mul(masks, tf.slice(tf.tensor4d(xh, SHAPE), [n, 0, 0, 0], [1, S, S, 3])) as tf.Tensor4D;
    const scores = tf.reshape(tf.slice(tfLogits(masked), [0, t], [C, 1]), [C]);
    const wts = Array.from(tf.softmax(scores).dataSync());
    const { A } = slices(ref, n);
    assert.is(r.images[n]!.target, t);
    assertClose(r.images[n]!.map.values, normalise(chan(A, wts)), { rtol: 0, atol: 1e-4, what: `scorecam image ${n}` });
  }
});

for (const layer of ['feat', 'c3']) {
  s(`eigencam at ${layer} (${layer === 'c3' ? 'h·w ≤ C' : 'h·w > C'}): centred (default) and uncentred projections on v₁ by a full eigen-decomposition (atol 1e-4)`, async () => {
    const centred = await cam(model, upload(xh, SHAPE), { method: 'eigencam', layer, target: { topK: 2 } });
    const uncentred = await cam(model, upload(xh, SHAPE), { method: 'eigencam', layer, eigenCentring: 'uncentred' });
    assert.is(centred.images.length, 4);
    const ref = refFor(layer, perImage);
    const [, h, w, C] = ref.shape;
    assert.ok(layer === 'c3' ? h * w <= C : h * w > C);
    for (let n = 0; n < N; n++) {
      const M = ref.acts.subarray(n * h * w * C, (n + 1) * h * w * C);
      for (const k of [0, 1]) assertClose(centred.images[n * 2 + k]!.map.values, eigenProjection(M, h * w, C, true), { rtol: 0, atol: 1e-4, what: `eigencam ${layer} image ${n} row ${k}` });
      assertClose(uncentred.images[n]!.map.values, eigenProjection(M, h * w, C, false), { rtol: 0, atol: 1e-4, what: `uncentred eigencam ${layer} image ${n}` });
    }
  });
}

s('eigengradcam at feat and c3: the centred projection of ∂y/∂A ⊙ A, per-image targets (atol 1e-4)', async () => {
  for (const layer of ['feat', 'c3']) {
    const r = await cam(model, upload(xh, SHAPE), { method: 'eigengradcam', layer, target: perImage });
    const ref = refFor(layer, perImage);
    const [, h, w, C] = ref.shape;
    for (let n = 0; n < N; n++) {
      const o = n * h * w * C;
      const M = Array.from({ length: h * w * C }, (_, i) => ref.acts[o + i]! * ref.grads[o + i]!);
      assertClose(r.images[n]!.map.values, eigenProjection(M, h * w, C, true), { rtol: 0, atol: 1e-4, what: `eigengradcam ${layer} image ${n}` });
    }
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
  const [kc, bc] = tm.getLayer('c3').getWeights() as [tf.Tensor4D, tf.Tensor1D];
  const [k3, b3] = tm.getLayer('predictions').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const onehot = tf.oneHot(tf.tensor1d(top1.targets, 'int32'), 5);
  const f = (x: tf.Tensor) => {
    let y = guidedRelu(tf.add(tf.conv2d(x as tf.Tensor4D, k1, 1, 'same'), b1)) as tf.Tensor4D;
    y = tf.maxPool(y, 2, 2, 'valid');
    y = guidedRelu(tf.add(tf.conv2d(y, k2, 1, 'same'), b2)) as tf.Tensor4D;
    y = guidedRelu(tf.add(tf.conv2d(y, kc, 1, 'same'), bc)) as tf.Tensor4D;
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

s('smoothGrad: Smilkov et al. Eq. 3 on tfjs (mean of the un-normalised Grad-CAMs of x + σ·noise, σ = noise·(max − min) per image, targets of the clean image; atol 1e-4)', async () => {
  const x = upload(xh, SHAPE);
  const samples = 3, noise = 0.2, seed = 5;
  const r = await cam(model, x, { method: 'gradcam', layer: 'feat', smoothGrad: { samples, noise, seed } });
  // The noise itself is camlight's seeded stream (an input to the formula, like xh); the rest is tfjs.
  const per = S * S * 3;
  const sigma = [0, 1].map((n) => { const v = xh.subarray(n * per, (n + 1) * per); return noise * (Math.max(...v) - Math.min(...v)); });
  const acc = [new Array<number>(36).fill(0), new Array<number>(36).fill(0)];
  for (let k = 0; k < samples; k++) {
    const z = smoothGradNoise(xh.length, seed, k);
    const xs = xh.map((v, i) => v + sigma[Math.floor(i / per)]! * z[i]!);
    const ref = tfActsAndGrads(tm, tf.tensor4d(xs, SHAPE), 'feat', top1.targets);
    for (let n = 0; n < N; n++) {
      const { A, G, P, C } = slices(ref, n);
      FORMULAS.gradcam!(A, G, P, C).forEach((v, p) => { acc[n]![p]! += Math.max(v, 0) / samples; });
    }
  }
  for (let n = 0; n < N; n++) {
    assert.is(r.images[n]!.target, top1.targets[n]);
    assertClose(r.images[n]!.map.values, normalise(acc[n]!), { rtol: 0, atol: 1e-4, what: `smoothgrad image ${n}` });
  }
  // Control: the noise changes the map (the formula is not just the clean Grad-CAM).
  const plain = await cam(model, x, { method: 'gradcam', layer: 'feat' });
  assert.ok(plain.images[0]!.map.values.some((v, i) => Math.abs(v - r.images[0]!.map.values[i]!) > 1e-3), 'noise 0.2 left the map unchanged');
});

s('smoothGrad: noise 0 reproduces the method; noise > 0 is seeded (same seed same map, other seed differs)', async () => {
  const x = upload(xh, SHAPE);
  const plain = await cam(model, x, { method: 'gradcam', layer: 'feat' });
  const still = await cam(model, x, { method: 'gradcam', layer: 'feat', smoothGrad: { samples: 3, noise: 0 } });
  still.images.forEach((im, n) => assertClose(im.map.values, plain.images[n]!.map.values, { rtol: 0, atol: 1e-5, what: `noise 0, image ${n}` }));
  const a = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 5 } });
  const b = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 5 } });
  const c = await cam(model, x, { method: 'layercam', layer: 'feat', smoothGrad: { samples: 4, noise: 0.3, seed: 6 } });
  a.images.forEach((im, n) => {
    assert.equal(Array.from(im.map.values), Array.from(b.images[n]!.map.values), 'same seed, same map');
    assert.ok(im.map.values.some((v, i) => Math.abs(v - c.images[n]!.map.values[i]!) > 1e-3), 'another seed gives another map');
    assert.is(Math.max(...im.map.values), 1);
  });
});

s('top-2 for every method without a FORMULAS check (those tested above with per-image targets): each row is the map of its class asked for directly', async () => {
  const x = upload(xh, SHAPE);
  for (const method of METHOD_NAMES.filter((m) => !FORMULAS[m])) {
    const top = await cam(model, x, { method, layer: 'feat', target: { topK: 2 } });
    for (let k = 0; k < 2; k++) {
      const classes = [0, 1].map((n) => top.images[n * 2 + k]!.target);
      const direct = await cam(model, x, { method, layer: 'feat', target: classes });
      for (let n = 0; n < N; n++) assertClose(top.images[n * 2 + k]!.map.values, direct.images[n]!.map.values, { rtol: 0, atol: 1e-5, what: `${method} image ${n} top-${k + 1}` });
    }
    assert.not.equal(top.images[0]!.target, top.images[1]!.target, `${method}: image 0's top-1 and top-2 classes`);
  }
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
  for (const method of METHOD_NAMES) {
    await cam(model, x, { method, layer: 'feat' }); // warm caches (pipelines, folds)
    const before = rt.stats().liveBytes;
    await cam(model, x, { method, layer: ['c1', 'feat'], target: { topK: 2 }, smoothGrad: { samples: 2, noise: 0.1 } });
    assert.is(rt.stats().liveBytes, before, `${method} leaks`);
  }
});

s.run();
