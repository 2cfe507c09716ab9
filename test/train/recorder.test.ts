// The CAM recorder on the Fashion-MNIST CNN (random weights): one batched cam() per epoch, the
// top-3 and true-class probabilities as the model's softmax gives them, maps at the layer's size,
// the every-N hook, history.json round trip, and animations of what it recorded.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import UPNG from 'upng-js';
import { cam } from '../../src/cam/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { fashionCnn } from '../../src/nn/zoo/index.ts';
import { CamRecorder, historyFromJSON, historyToJSON } from '../../src/train/recorder.ts';
import { animations } from '../../src/report/animation.ts';
import { triage } from '../../src/train/triage.ts';
import type { Model } from '../../src/nn/model.ts';
import { assertClose, gpu, randn } from '../helpers.ts';

const s = suite('train/recorder');
const NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const N = 3;
let model: Model;
let xh: Float32Array;
s.before(async () => {
  await gpu();
  model = fashionCnn();
  model.initWeights(1);
  xh = randn(N * 28 * 28, 7, 0, 1);
});

const display = () => Array.from({ length: N }, (_, n) => {
  const data = new Uint8ClampedArray(28 * 28 * 4);
  for (let i = 0; i < 784; i++) { const v = Math.round(255 * xh[n * 784 + i]!); data.set([v, v, v, 255], 4 * i); }
  return { width: 28, height: 28, data };
});

function recorder(o: { every?: number } = {}) {
  const masks = display().map((im) => Uint8Array.from({ length: 784 }, (_, i) => (im.data[4 * i]! > 128 ? 1 : 0)));
  return new CamRecorder({ images: display(), inputs: upload(xh, [N, 28, 28, 1]), trueClasses: [7, 0, 3], classNames: NAMES, method: 'gradcam', masks, names: ['a', 'b', 'c'], ...o });
}

s('records N images per epoch: top-3 = the softmax\'s best three, true-class probability and rank, map = cam() of the true class', async () => {
  const rec = recorder();
  const r0 = await rec.record(model, 0);
  model.initWeights(2);
  const r1 = await rec.record(model, 1);
  const h = rec.history;
  assert.is(h.epochs.length, 2);
  assert.ok(h.layer !== null && h.layer.height > 1, 'the layer is known after recording');
  const probs = await model.predict(upload(xh, [N, 28, 28, 1])).data();
  const direct = await cam(model, upload(xh, [N, 28, 28, 1]), { method: 'gradcam', target: [7, 0, 3], upsample: false });
  for (const [e, r] of [r0, r1].entries()) {
    assert.is(r.images.length, N);
    assert.is(r.epoch, e);
    assert.ok(r.ms > 0);
    for (const im of r.images) {
      assert.is(im.map.height, h.layer!.height);
      assert.is(im.map.width, h.layer!.width);
      assert.is(im.map.values.length, h.layer!.height * h.layer!.width);
      assert.is(im.top3.length, 3);
      assert.ok(im.top3[0]!.prob >= im.top3[1]!.prob && im.top3[1]!.prob >= im.top3[2]!.prob);
      assert.ok(im.top3.every((t) => t.label === NAMES[t.index]));
    }
  }
  // The last epoch against the model's own softmax and a direct cam() call.
  r1.images.forEach((im, n) => {
    const p = Array.from(probs.subarray(n * 10, n * 10 + 10));
    const order = p.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]);
    assert.equal(im.top3.map((t) => t.index), order.slice(0, 3).map((o) => o[1]), `image ${n} top-3`);
    assertClose(im.top3.map((t) => t.prob), order.slice(0, 3).map((o) => o[0]), { rtol: 1e-4, atol: 1e-6, what: `image ${n} top-3 probabilities` });
    const t = [7, 0, 3][n]!;
    assertClose([im.trueProb!], [p[t]!], { rtol: 1e-4, atol: 1e-6, what: 'true-class probability' });
    assert.is(im.trueRank, order.findIndex((o) => o[1] === t) + 1);
    assertClose(im.map.values, direct.images[n]!.map.values, { rtol: 0, atol: 1e-5, what: `image ${n} map` });
  });
  // The two epochs used different weights: the records differ.
  assert.ok(r0.images.some((im, n) => im.top3[0]!.prob !== r1.images[n]!.top3[0]!.prob));
});

s('onEpochEnd records every N-th epoch; history.json round-trips; animations and triage read the history', async () => {
  const rec = recorder({ every: 2 });
  for (let e = 0; e < 5; e++) await rec.onEpochEnd({ epoch: e, model });
  assert.equal(rec.history.epochs.map((e) => e.epoch), [0, 2, 4]);
  const json = JSON.parse(JSON.stringify(rec.toJSON()));
  assert.is(json.images.length, N);
  assert.equal(json.images.map((i: { name: string }) => i.name), ['a', 'b', 'c']);
  assert.is(json.images[0].epochs.length, 3);
  const m = json.images[1].epochs[2].map;
  assert.is(m.values.length, m.height * m.width);
  assert.equal(historyToJSON(historyFromJSON(json)), json);
  const back = historyFromJSON(json, rec.history.display);
  assert.ok(back.epochs[2]!.images[1]!.map.values.every((v, i) => v === rec.history.epochs[2]!.images[1]!.map.values[i]));
  const pngs = await animations(rec.history);
  assert.is(pngs.length, N);
  const d = UPNG.decode(pngs[0]!.buffer as ArrayBuffer);
  assert.is(UPNG.toRGBA8(d).length, 3);
  assert.is(d.width, 224);
  const t = triage(rec.history);
  assert.is(t.length, N);
  t.forEach((v) => assert.ok(v.numbers.energyInside !== null && v.numbers.energyInside >= 0 && v.numbers.energyInside <= 1));
});

s('rejects mismatched inputs with messages that say what to fix', () => {
  const inputs = upload(xh, [N, 28, 28, 1]);
  assert.throws(() => new CamRecorder({ images: display().slice(0, 2), inputs, trueClasses: [1, 2], classNames: NAMES }), /must be \(N,H,W,C\) with N = 2/);
  assert.throws(() => new CamRecorder({ images: display(), inputs, trueClasses: [1, 2, 12], classNames: NAMES }), /true class 12/);
  assert.throws(() => new CamRecorder({ images: display(), inputs, trueClasses: [1, 2, 3], classNames: NAMES, masks: [new Uint8Array(5), null, null] }), /mask 0 holds 5/);
});

s.run();
