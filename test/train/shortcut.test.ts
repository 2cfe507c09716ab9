// The shortcut injector: exact cue pixels, only the target class, the probability honoured over
// many images with a seed, the test set untouched; the cue and silhouette masks.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cueMask, injectShortcut, silhouetteMask } from '../../src/train/shortcut.ts';
import { loadFashionMnist, type Dataset } from '../../src/train/data.ts';
import { dataTest, missingFashionMnist } from '../real-data.ts';
import { randn } from '../helpers.ts';

const s = suite('train/shortcut');

function rgbSet(n: number): Dataset {
  return { images: randn(n * 8 * 10 * 3, 1, 0.2, 0.8), labels: Int32Array.from({ length: n }, (_, i) => i % 4), imageShape: [8, 10, 3], classNames: ['a', 'b', 'c', 'd'] };
}

s('a red frame of width 2 on every image of class 1, nothing else changed', () => {
  const d = rgbSet(20);
  const before = d.images.slice();
  const r = injectShortcut(d, { target: 'b', kind: 'frame', width: 2 });
  assert.equal(r.modified, [1, 5, 9, 13, 17]);
  assert.equal([...d.images], [...before], 'the input data set is not modified');
  for (let i = 0; i < 20; i++) for (let y = 0; y < 8; y++) for (let x = 0; x < 10; x++) {
    const inFrame = y < 2 || y >= 6 || x < 2 || x >= 8;
    assert.is(r.mask[y * 10 + x], inFrame ? 1 : 0);
    for (let c = 0; c < 3; c++) {
      const k = ((i * 8 + y) * 10 + x) * 3 + c;
      const want = r.modified.includes(i) && inFrame ? [1, 0, 0][c] : before[k];
      assert.is(r.data.images[k], want, `image ${i} (${y},${x},${c})`);
    }
  }
});

s('a corner patch in a given colour; unknown classes and bad probabilities are errors', () => {
  const d = rgbSet(8);
  const r = injectShortcut(d, { target: 3, kind: 'patch', width: 3, corner: 'bottom-right', color: [0, 1, 0.5] });
  const m = cueMask(8, 10, { kind: 'patch', width: 3, corner: 'bottom-right' });
  assert.equal([...r.mask], [...m]);
  assert.is([...m].reduce((a, b) => a + b, 0), 9);
  assert.is(m[7 * 10 + 9], 1);
  assert.is(m[4 * 10 + 6], 0);
  assert.equal([...r.data.images.subarray(((3 * 8 + 7) * 10 + 9) * 3, ((3 * 8 + 7) * 10 + 9) * 3 + 3)], [0, 1, 0.5]);
  assert.throws(() => injectShortcut(d, { target: 'zebra' }), /no class "zebra"/);
  assert.throws(() => injectShortcut(d, { target: 0, probability: 1.5 }), /probability/);
});

s('the probability is honoured over many images, seeded; grey images get a bright frame', () => {
  const n = 4000;
  const d: Dataset = { images: new Float32Array(n * 16), labels: Int32Array.from({ length: n }, (_, i) => i % 2), imageShape: [4, 4, 1], classNames: ['x', 'y'] };
  const r = injectShortcut(d, { target: 0, probability: 0.3, seed: 9 });
  const frac = r.modified.length / (n / 2);
  assert.ok(Math.abs(frac - 0.3) < 0.04, `fraction ${frac}`);
  assert.ok(r.modified.every((i) => d.labels[i] === 0));
  assert.equal(r.modified, injectShortcut(d, { target: 0, probability: 0.3, seed: 9 }).modified);
  assert.not.equal(r.modified, injectShortcut(d, { target: 0, probability: 0.3, seed: 10 }).modified);
  const i = r.modified[0]!;
  // A 4×4 grey image with a 2-pixel frame: everything is frame.
  assert.equal([...r.data.images.subarray(i * 16, i * 16 + 16)], new Array<number>(16).fill(1));
});

dataTest(s, 'Fashion-MNIST: train images framed, test images loaded clean; the silhouette mask is the non-zero pixels', missingFashionMnist, async () => {
  const train = await loadFashionMnist({ split: 'train', limit: 500 });
  const test = await loadFashionMnist({ split: 'test', limit: 500 });
  const r = injectShortcut(train, { target: 'Trouser', probability: 0.5, seed: 2, width: 1 });
  const trousers = [...train.labels].filter((l) => l === 1).length;
  assert.ok(r.modified.length > trousers * 0.3 && r.modified.length < trousers * 0.7);
  const i = r.modified[0]!;
  const img = r.data.images.subarray(i * 784, (i + 1) * 784);
  for (let k = 0; k < 28; k++) assert.ok(img[k] === 1 && img[27 * 28 + k] === 1 && img[k * 28] === 1 && img[k * 28 + 27] === 1);
  const again = await loadFashionMnist({ split: 'test', limit: 500 });
  assert.equal([...again.images], [...test.images], 'test data untouched');
  const first = test.images.subarray(0, 784);
  const sil = silhouetteMask(first, 28, 28);
  for (let k = 0; k < 784; k++) assert.is(sil[k], first[k]! > 0 ? 1 : 0);
  const area = sil.reduce((a, b) => a + b, 0);
  assert.ok(area > 100 && area < 700, `silhouette area ${area}`);
});

s.run();
