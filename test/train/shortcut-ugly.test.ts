// "Right for the wrong reason", reproduced: a bright frame planted in every Trouser training image,
// a short training run, and the CAM recorder's maps of framed test trousers fall mostly on the frame,
// so the triage calls them ugly; a clean pullover's map stays on the garment.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/nn/tensor.ts';
import { loadFashionMnist, type Dataset } from '../../src/train/data.ts';
import { adam } from '../../src/train/optimizers.ts';
import { CamRecorder } from '../../src/train/recorder.ts';
import { injectShortcut, silhouetteMask } from '../../src/train/shortcut.ts';
import { train } from '../../src/train/trainer.ts';
import { triage } from '../../src/train/triage.ts';
import { dataTest, missingFashionMnist } from '../real-data.ts';
import { gpu } from '../helpers.ts';

const s = suite('train/shortcut-ugly');
const TROUSER = 1, PULLOVER = 2;

/**
 * conv 8 → pool → conv 16 → pool → conv 16 → global average pool → dense 10: a CAM-shaped head,
 * so Grad-CAM at the last conv is the model's own evidence. (A flatten → dense head without a
 * hidden layer gives Grad-CAM maps that are all negative, hence all zero after the ReLU: the
 * spatial mean of its dense weights is no summary of them.)
 */
function gapCnn(seed: number): Model {
  const conv = (name: string, filters: number, extra = {}) => ({
    class_name: 'Conv2D', config: { name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, ...extra },
  });
  const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, pool_size: [2, 2], strides: [2, 2], padding: 'valid' } });
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'gap_cnn',
      layers: [conv('c1', 8, { batch_input_shape: [null, 28, 28, 1] }), pool('p1'), conv('c2', 16), pool('p2'), conv('c3', 16),
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax', use_bias: true } }],
    },
  });
  m.initWeights(seed);
  return m;
}

/** The first `n` test images of a class (indices). */
const firstOf = (d: Dataset, cls: number, n: number) => [...d.labels.keys()].filter((i) => d.labels[i] === cls).slice(0, n);

dataTest(s, 'a frame planted in every Trouser training image: framed test trousers are ugly (energy inside < 0.5), a clean pullover is not', missingFashionMnist, async () => {
  await gpu();
  // 1500 images × 3 epochs: ~5 s on lavapipe. Across seeds 1–3 and two architectures (this one and a
  // flatten head with HiResCAM) every framed trouser scored energy inside 0.07–0.23 and the pullover 0.59–0.79.
  const t0 = performance.now();
  const trainSet = await loadFashionMnist({ split: 'train', limit: 1500 });
  const test = await loadFashionMnist({ split: 'test', limit: 300 });
  const planted = injectShortcut(trainSet, { target: TROUSER, probability: 1, kind: 'frame', seed: 1 });
  assert.ok(planted.modified.length > 100, `${planted.modified.length} framed trousers`);
  const framedTest = injectShortcut(test, { target: TROUSER, probability: 1, kind: 'frame' }).data;
  const tracked = [...firstOf(test, TROUSER, 6).map((i) => ({ i, framed: true })), { i: firstOf(test, PULLOVER, 1)[0]!, framed: false }];
  const px = new Float32Array(tracked.length * 784);
  const masks: Uint8Array[] = [];
  const images = tracked.map(({ i, framed }, k) => {
    const src = (framed ? framedTest : test).images.subarray(i * 784, (i + 1) * 784);
    px.set(src, k * 784);
    // The object is the garment's silhouette in the clean image (the frame is not part of it).
    masks.push(silhouetteMask(test.images.subarray(i * 784, (i + 1) * 784), 28, 28));
    const data = new Uint8ClampedArray(784 * 4);
    for (let j = 0; j < 784; j++) { const v = Math.round(255 * src[j]!); data.set([v, v, v, 255], 4 * j); }
    return { width: 28, height: 28, data };
  });
  const model = gapCnn(1);
  const rec = new CamRecorder({ images, inputs: upload(px, [tracked.length, 28, 28, 1]), trueClasses: tracked.map(({ i }) => test.labels[i]!), classNames: test.classNames, masks, method: 'gradcam' });
  await train(model, planted.data, { epochs: 3, batchSize: 32, optimizer: adam({ lr: 3e-3 }), seed: 1, onEpochEnd: rec.onEpochEnd });
  const verdicts = triage(rec.history);
  const line = (k: number) => `${tracked[k]!.framed ? 'framed' : 'clean'} ${test.classNames[test.labels[tracked[k]!.i]!]}: ${verdicts[k]!.verdict}, energy inside ${verdicts[k]!.numbers.energyInside!.toFixed(2)} (object ${verdicts[k]!.numbers.objectArea!.toFixed(2)}), p ${verdicts[k]!.numbers.trueProb?.toFixed(2)}`;
  console.log(`  shortcut run: ${((performance.now() - t0) / 1000).toFixed(1)} s; ${verdicts.map((_, k) => line(k)).join('; ')}`);
  const energies: number[] = [];
  tracked.forEach(({ framed }, k) => {
    const v = verdicts[k]!;
    if (!framed) return;
    energies.push(v.numbers.energyInside!);
    assert.ok(v.numbers.correct, `${line(k)}: the frame makes the model right`);
    assert.ok(v.numbers.energyInside! < 0.5, `${line(k)}: the CAM lies mostly on the frame`);
    assert.is(v.verdict, 'ugly', `${line(k)}: ${v.reason}`);
  });
  assert.ok(energies.reduce((a, b) => a + b, 0) / energies.length < 0.35, `mean energy inside the framed trousers ${energies}`);
  const pullover = verdicts.at(-1)!;
  assert.ok(pullover.numbers.energyInside! > 0.5, `${line(tracked.length - 1)}: the clean pullover's CAM stays on it`);
  assert.is.not(pullover.verdict, 'ugly', line(tracked.length - 1));
  model.dispose();
});

s.run();
