// The training loop on real Fashion-MNIST: loss falls and accuracy beats chance within a CI-sized
// budget; a checkpoint opens in tfjs-layers and predicts the same; the frozen-base path (cached
// features, head only) gives the full path's result and is faster; schedules reach the optimiser.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as tfl from '@tensorflow/tfjs-layers';
import { memoryFiles, utf8 } from '../../src/io/files.ts';
import { Model } from '../../src/nn/model.ts';
import { fashionCnn } from '../../src/nn/zoo/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { loadFashionMnist, subset, type Dataset } from '../../src/train/data.ts';
import { adam, sgd } from '../../src/train/optimizers.ts';
import { cosine } from '../../src/train/schedules.ts';
import { evaluate, train } from '../../src/train/trainer.ts';
import { dataTest, fashionMnistDir, missingFashionMnist, requireRealData } from '../real-data.ts';
import { assertClose, gpu, tf } from '../helpers.ts';

const s = suite('train/trainer');
let trainSet: Dataset | null = null;
let testSet: Dataset | null = null;
s.before(async () => {
  await gpu();
  if (!fashionMnistDir()) {
    if (requireRealData) throw new Error('Fashion-MNIST is missing (apt-get install dataset-fashion-mnist)');
    return;
  }
  trainSet = await loadFashionMnist({ split: 'train', limit: 2048 });
  testSet = await loadFashionMnist({ split: 'test', limit: 512 });
});

/**
 * A small CNN for 28×28 grey images (the zoo's fashionCnn costs ~20 s per 1024 images per epoch
 * on lavapipe, too slow for a unit test): conv 8 → pool → conv 16 → pool → flatten → dropout → dense 10.
 */
function smallCnn(f1 = 8, f2 = 16): Model {
  const conv = (name: string, filters: number, extra = {}) => ({
    class_name: 'Conv2D',
    config: { name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, ...extra },
  });
  const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, pool_size: [2, 2], strides: [2, 2], padding: 'valid' } });
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'small_cnn',
      layers: [
        conv('c1', f1, { batch_input_shape: [null, 28, 28, 1] }), pool('p1'), conv('c2', f2), pool('p2'),
        { class_name: 'Flatten', config: { name: 'flatten' } },
        { class_name: 'Dropout', config: { name: 'drop', rate: 0.25 } },
        { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax', use_bias: true } },
      ],
    },
  });
  m.initWeights(3);
  return m;
}

dataTest(s, 'the loss falls and accuracy beats chance on 2048 Fashion-MNIST images in 3 epochs', missingFashionMnist, async () => {
  if (!trainSet || !testSet) throw new Error('Fashion-MNIST was not loaded');
  const m = smallCnn();
  const t0 = performance.now();
  const seen: number[] = [];
  const h = await train(m, trainSet, {
    epochs: 3, batchSize: 64, optimizer: adam({ lr: 3e-3 }), validation: testSet, seed: 5,
    onEpochEnd: (e) => { seen.push(e.epoch); },
  });
  const ms = performance.now() - t0;
  const [e1, , e3] = h.epochs;
  console.log(`  small CNN, 2048 images × 3 epochs: ${(ms / 1000).toFixed(1)} s; loss ${h.epochs.map((e) => e.loss.toFixed(3)).join(' → ')}; val accuracy ${h.epochs.map((e) => e.valAccuracy!.toFixed(3)).join(' → ')}`);
  assert.equal(seen, [1, 2, 3]);
  assert.ok(e3!.loss < e1!.loss * 0.8, `loss ${e1!.loss} → ${e3!.loss}`);
  assert.ok(e3!.valAccuracy! > 0.55, `validation accuracy ${e3!.valAccuracy} (chance 0.1)`);
  assert.ok(e3!.valLoss! < Math.log(10), `validation loss ${e3!.valLoss} below chance's ln 10`);
  // evaluate() agrees with the history's validation numbers (same model, inference mode).
  const ev = await evaluate(m, testSet);
  assert.ok(Math.abs(ev.accuracy - e3!.valAccuracy!) < 1e-9 && Math.abs(ev.loss - e3!.valLoss!) < 1e-4);
});

dataTest(s, 'a checkpoint of the trained fashionCnn opens in tfjs-layers and predicts the same', missingFashionMnist, async () => {
  if (!trainSet || !testSet) throw new Error('Fashion-MNIST was not loaded');
  const m = fashionCnn();
  m.initWeights(1);
  const files = memoryFiles();
  await train(m, subset(trainSet, Array.from({ length: 64 }, (_, i) => i)), { epochs: 1, batchSize: 32, optimizer: sgd({ lr: 0.05, momentum: 0.9 }), checkpoint: { dir: files } });
  const json = JSON.parse(utf8(await files.read('checkpoint/model.json')));
  const shards = await Promise.all((json.weightsManifest[0].paths as string[]).map((p) => files.read(`checkpoint/${p}`)));
  const bytes = new Uint8Array(shards.reduce((a, b) => a + b.length, 0));
  let o = 0;
  for (const b of shards) { bytes.set(b, o); o += b.length; }
  const tm = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: bytes.buffer }));
  const x = testSet.images.subarray(0, 8 * 784);
  const want = (tm.predict(tf.tensor(x, [8, 28, 28, 1])) as tf.Tensor).dataSync();
  const got = await m.predict(upload(x, [8, 28, 28, 1])).data();
  assertClose(got, want, { rtol: 1e-4, atol: 1e-6, what: 'checkpoint predictions' });
  // Training changed the weights (the checkpoint is not just the initial model).
  const init = fashionCnn();
  init.initWeights(1);
  const w0 = await init.readWeights();
  const w1 = await m.readWeights();
  assert.ok(w1.get('dense_1/bias')!.data.some((v, i) => v !== w0.get('dense_1/bias')!.data[i]));
  tm.dispose();
});

dataTest(s, 'frozen base: cached features give the full path\'s result for the head, faster', missingFashionMnist, async () => {
  if (!trainSet) throw new Error('Fashion-MNIST was not loaded');
  const d = subset(trainSet, Array.from({ length: 1024 }, (_, i) => i));
  const val = subset(trainSet, Array.from({ length: 256 }, (_, i) => 1024 + i));
  const run = async (cacheFeatures: boolean) => {
    // Wider convolutions, so that the base's forward outweighs the per-step overheads clearly.
    const m = smallCnn(16, 32);
    const t0 = performance.now();
    const h = await train(m, d, { epochs: 3, batchSize: 64, optimizer: adam({ lr: 3e-3 }), seed: 11, freezeUpTo: 'flatten', cacheFeatures, validation: val });
    return { h, ms: performance.now() - t0, w: await m.readWeights() };
  };
  const full = await run(false);
  const cached = await run(true);
  const epochMs = (h: typeof full.h) => h.epochs.reduce((a, e) => a + e.ms, 0);
  console.log(`  frozen base, 1024 images × 3 epochs: full ${(full.ms / 1000).toFixed(2)} s (epochs ${(epochMs(full.h) / 1000).toFixed(2)} s), ` +
    `cached ${(cached.ms / 1000).toFixed(2)} s (epochs ${(epochMs(cached.h) / 1000).toFixed(2)} s)`);
  assert.is(full.h.cachedFeatures, false);
  assert.is(cached.h.cachedFeatures, true);
  assert.is(cached.h.trainable, 7 * 7 * 32 * 10 + 10);
  assertClose(cached.h.epochs.map((e) => e.loss), full.h.epochs.map((e) => e.loss), { rtol: 1e-4, what: 'epoch losses' });
  assertClose(cached.h.epochs.map((e) => e.valLoss!), full.h.epochs.map((e) => e.valLoss!), { rtol: 1e-4, what: 'validation losses' });
  assertClose(cached.w.get('out/kernel')!.data, full.w.get('out/kernel')!.data, { rtol: 1e-3, atol: 1e-5, what: 'head kernel' });
  // The frozen base did not move; the head did.
  const init = smallCnn(16, 32);
  const w0 = await init.readWeights();
  assert.equal([...cached.w.get('c1/kernel')!.data], [...w0.get('c1/kernel')!.data]);
  assert.ok(cached.w.get('out/kernel')!.data.some((v, i) => v !== w0.get('out/kernel')!.data[i]));
  // Each epoch runs only the head (the one-off feature pass is outside the epochs' times).
  assert.ok(epochMs(cached.h) < 0.7 * epochMs(full.h), `epochs: cached ${epochMs(cached.h)} ms vs full ${epochMs(full.h)} ms`);
});

dataTest(s, 'the schedule sets each step\'s rate; augmentation runs and turns feature caching off', missingFashionMnist, async () => {
  if (!trainSet) throw new Error('Fashion-MNIST was not loaded');
  const d = subset(trainSet, Array.from({ length: 256 }, (_, i) => i));
  const rates: number[] = [];
  const sched = cosine({ lr: 0.01, finalLr: 0.001 });
  const h = await train(smallCnn(), d, {
    epochs: 2, batchSize: 128, optimizer: sgd({ lr: 1 }), schedule: sched, freezeUpTo: 'p1',
    augment: { flipHorizontal: true, translate: 2, brightness: 0.1, contrast: 0.2, cutout: { size: 6 }, clamp: [0, 1] },
    onStep: (st) => { rates.push(st.lr); assert.ok(Number.isFinite(st.loss)); },
  });
  assert.equal(rates, [0, 1, 2, 3].map((k) => sched({ epoch: Math.floor(k / 2), step: k % 2, stepsPerEpoch: 2, epochs: 2 })));
  assert.is(h.cachedFeatures, false);
  assert.match(h.cacheNote ?? '', /augmentation/);
  assert.ok(h.epochs.every((e) => Number.isFinite(e.loss)));
});

s.run();
