// "Right for the wrong reason", reproduced with a control: the same model, data and budget trained
// twice, once with a bright frame planted in every Trouser training image and once clean. Framed
// test trousers must come out "ugly" under the planted arm and not under the clean arm: the
// difference is what the test asserts, so a detector that calls trousers ugly whatever the
// training (the old rule did) fails it. Replacing the planted arm by a clean run fails it too
// (tried: "planted arm: 0 of 6 framed trousers ugly").
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { loadFashionMnist, type Dataset } from '../../src/train/data.ts';
import { occlusionProbes } from '../../src/train/occlusion.ts';
import { adam } from '../../src/train/optimizers.ts';
import { CamRecorder } from '../../src/train/recorder.ts';
import { cueMask, injectShortcut, silhouetteMask } from '../../src/train/shortcut.ts';
import { train } from '../../src/train/trainer.ts';
import { triage, type TriageResult } from '../../src/train/triage.ts';
import { dataTest, missingFashionMnist } from '../real-data.ts';
import { gpu } from '../helpers.ts';

const s = suite('train/shortcut-ugly');
const TROUSER = 1, PULLOVER = 2, SNEAKER = 7;
const FRAMED = 6;

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

interface Arm { verdicts: TriageResult[]; line: (k: number) => string }

/**
 * Trains one arm (planted or clean; everything else identical) and triages the tracked images:
 * FRAMED framed test trousers, then a clean pullover and a clean sneaker. Every image has its
 * object (the clean garment's silhouette) and the frame as its cue region.
 */
async function arm(trainSet: Dataset, test: Dataset, planted: boolean): Promise<Arm> {
  const data = planted ? injectShortcut(trainSet, { target: TROUSER, probability: 1, kind: 'frame', seed: 1 }).data : trainSet;
  const framedTest = injectShortcut(test, { target: TROUSER, probability: 1, kind: 'frame' }).data;
  const tracked = [...firstOf(test, TROUSER, FRAMED).map((i) => ({ i, framed: true })), { i: firstOf(test, PULLOVER, 1)[0]!, framed: false }, { i: firstOf(test, SNEAKER, 1)[0]!, framed: false }];
  const px = new Float32Array(tracked.length * 784);
  const frame = { mask: cueMask(28, 28, { kind: 'frame' }), height: 28, width: 28 };
  const objects = tracked.map(({ i }) => ({ mask: silhouetteMask(test.images.subarray(i * 784, (i + 1) * 784), 28, 28), height: 28, width: 28 }));
  const images = tracked.map(({ i, framed }, k) => {
    const src = (framed ? framedTest : test).images.subarray(i * 784, (i + 1) * 784);
    px.set(src, k * 784);
    const d = new Uint8ClampedArray(784 * 4);
    for (let j = 0; j < 784; j++) { const v = Math.round(255 * src[j]!); d.set([v, v, v, 255], 4 * j); }
    return { width: 28, height: 28, data: d };
  });
  const trueClasses = tracked.map(({ i }) => test.labels[i]!);
  const model = gapCnn(1);
  const inputs = upload(px, [tracked.length, 28, 28, 1]);
  const rec = new CamRecorder({ images, inputs, trueClasses, classNames: test.classNames, masks: objects, cues: tracked.map(() => frame), method: 'gradcam' });
  await rec.record(model, 0);
  await train(model, data, { epochs: 3, batchSize: 32, optimizer: adam({ lr: 3e-3 }), seed: 1, onEpochEnd: rec.onEpochEnd });
  const probes = await occlusionProbes(model, px, [tracked.length, 28, 28, 1], trueClasses, objects, tracked.map(() => frame));
  const verdicts = triage(rec.history, { probes });
  inputs.dispose();
  model.dispose();
  const line = (k: number) => {
    const v = verdicts[k]!, n = v.numbers;
    return `${planted ? 'planted' : 'clean'} arm, ${tracked[k]!.framed ? 'framed' : 'clean'} ${test.classNames[trueClasses[k]!]}: ${v.verdict} (${v.rule}), p ${n.pFull?.toFixed(2)}, ` +
      `no cue ${n.pNoCue?.toFixed(2)}, no object ${n.pNoObject?.toFixed(2)}, object ratio ${n.objectRatio?.toFixed(2)}, cue ratio ${n.cueRatio?.toFixed(2)}`;
  };
  return { verdicts, line };
}

dataTest(s, 'a frame planted on Trouser makes framed trousers ugly; the same budget without the frame does not', missingFashionMnist, async () => {
  await gpu();
  // 1500 images × 3 epochs per arm: 45–81 s for both arms on a lavapipe shared with other jobs (~20 s of CPU).
  const t0 = performance.now();
  const trainSet = await loadFashionMnist({ split: 'train', limit: 1500 });
  const test = await loadFashionMnist({ split: 'test', limit: 300 });
  const planted = await arm(trainSet, test, true);
  const clean = await arm(trainSet, test, false);
  console.log(`  two arms in ${((performance.now() - t0) / 1000).toFixed(1)} s\n  ${[planted, clean].flatMap((a) => a.verdicts.map((_, k) => a.line(k))).join('\n  ')}`);
  const uglyFramed = (a: Arm) => a.verdicts.slice(0, FRAMED).filter((v) => v.verdict === 'ugly').length;
  // Planted: the frame makes the model right on framed trousers, and the triage says why.
  assert.ok(uglyFramed(planted) >= FRAMED - 1, `planted arm: ${uglyFramed(planted)} of ${FRAMED} framed trousers ugly\n${planted.verdicts.map((_, k) => planted.line(k)).join('\n')}`);
  // Control: the clean model on the same framed trousers.
  assert.ok(uglyFramed(clean) <= 1, `clean arm: ${uglyFramed(clean)} of ${FRAMED} framed trousers ugly\n${clean.verdicts.map((_, k) => clean.line(k)).join('\n')}`);
  assert.ok(uglyFramed(planted) - uglyFramed(clean) >= FRAMED - 2, 'the planted frame is what makes the difference');
  // Clean garments are not ugly under either arm.
  for (const a of [planted, clean]) for (const k of [FRAMED, FRAMED + 1]) assert.is.not(a.verdicts[k]!.verdict, 'ugly', a.line(k));
});

s.run();
