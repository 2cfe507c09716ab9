// Data sets: seeded shuffling, the validation split, batching into tensors, and the image-folder
// loader on PNG and JPEG files in a real folder (resized and preprocessed as src/cam/prepare does).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { encodePng, type RgbaImage } from '../../src/io/image.ts';
import { memoryFiles } from '../../src/io/files.ts';
import { prepareImage } from '../../src/cam/prepare.ts';
import { batchIndices, batchTensors, shuffled, splitValidation, subset, type Dataset } from '../../src/train/data.ts';
import { loadImageFolder } from '../../src/train/image-folder.ts';
import { gpu } from '../helpers.ts';

const s = suite('train/data');
s.before(async () => { await gpu(); });

function toy(n: number): Dataset {
  const images = Float32Array.from({ length: n * 2 * 2 }, (_, i) => Math.floor(i / 4));
  return { images, labels: Int32Array.from({ length: n }, (_, i) => i % 3), imageShape: [2, 2, 1], classNames: ['a', 'b', 'c'] };
}

s('shuffled is a seeded permutation', () => {
  const p = shuffled(100, 5);
  assert.equal([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
  assert.equal([...p], [...shuffled(100, 5)]);
  assert.not.equal([...p], [...shuffled(100, 6)]);
  assert.ok(p.some((v, i) => v !== i));
});

s('splitValidation partitions the images, seeded; subset copies images with labels', () => {
  const d = toy(50);
  const { train, validation } = splitValidation(d, 0.2, 3);
  assert.is(train.labels.length, 40);
  assert.is(validation.labels.length, 10);
  // Image k holds the value k everywhere: the union of ids is every image exactly once, labels follow.
  const ids = [...train.images.filter((_, i) => i % 4 === 0), ...validation.images.filter((_, i) => i % 4 === 0)];
  assert.equal(ids.sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  for (const part of [train, validation]) part.labels.forEach((l, k) => assert.is(l, part.images[k * 4]! % 3));
  assert.equal([...splitValidation(d, 0.2, 3).validation.labels], [...validation.labels]);
  assert.not.equal([...splitValidation(d, 0.2, 4).validation.images], [...validation.images]);
  assert.equal([...subset(d, [4, 1]).images], [4, 4, 4, 4, 1, 1, 1, 1]);
  assert.throws(() => splitValidation(d, 1), /fraction/);
});

s('batchIndices covers every image once per epoch, reshuffled each epoch; batchTensors uploads them', async () => {
  const b0 = batchIndices(10, 4, { seed: 1, epoch: 0 });
  assert.equal(b0.map((b) => b.length), [4, 4, 2]);
  assert.equal(b0.flatMap((b) => [...b]).sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => i));
  const b1 = batchIndices(10, 4, { seed: 1, epoch: 1 });
  assert.not.equal(b0.flatMap((b) => [...b]), b1.flatMap((b) => [...b]));
  assert.equal(batchIndices(5, 2, { shuffle: false }).map((b) => [...b]), [[0, 1], [2, 3], [4]]);
  const d = toy(6);
  const { x, y, labels } = batchTensors(d, [5, 2]);
  assert.equal(x.shape, [2, 2, 2, 1]);
  assert.equal([...(await x.data())], [5, 5, 5, 5, 2, 2, 2, 2]);
  assert.equal([...(await y.data())], [2, 2]);
  assert.equal([...labels], [2, 2]);
});

s('image folder: sorted class folders, PNG and JPEG, resized with the preset; listing via a FileSource too', async () => {
  const root = mkdtempSync(join(tmpdir(), 'camlight-folder-'));
  try {
    const mk = (w: number, h: number, f: (x: number, y: number) => [number, number, number]): RgbaImage => {
      const data = new Uint8ClampedArray(w * h * 4);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set([...f(x, y), 255], (y * w + x) * 4);
      return { width: w, height: h, data };
    };
    const red = mk(12, 8, (x) => [200, x * 10, 0]);
    const blue = mk(9, 9, (x, y) => [0, y * 20, 255]);
    mkdirSync(join(root, 'red'));
    mkdirSync(join(root, 'blue'));
    mkdirSync(join(root, '.hidden'));
    writeFileSync(join(root, 'red', 'a.png'), encodePng(red));
    writeFileSync(join(root, 'red', 'notes.txt'), 'ignored');
    const jpg = jpeg.encode({ width: 9, height: 9, data: Buffer.from(blue.data) }, 95).data;
    writeFileSync(join(root, 'blue', 'b.jpg'), jpg);
    writeFileSync(join(root, 'blue', 'c.PNG'), encodePng(blue));
    const ds = await loadImageFolder(root, { size: [6, 6], preprocess: 'unit' });
    assert.equal(ds.classNames, ['blue', 'red']);
    assert.equal([...ds.labels], [0, 0, 1]);
    assert.equal(ds.names, ['blue/b.jpg', 'blue/c.PNG', 'red/a.png']);
    assert.equal(ds.imageShape, [6, 6, 3]);
    const want = prepareImage(red, { size: [6, 6], preprocess: 'unit' });
    assert.equal([...ds.images.subarray(2 * 108)], [...want]);
    // Grey input from a model's input shape, and a FileSource with its own lister.
    const files = memoryFiles({ 'x/k1/1.png': encodePng(red), 'x/k2/2.png': encodePng(blue) });
    const list = async (dir: string) =>
      dir === 'x' ? [{ name: 'k2', folder: true }, { name: 'k1', folder: true }] : [{ name: dir.endsWith('k1') ? '1.png' : '2.png', folder: false }];
    const grey = await loadImageFolder(files, { inputShape: [null, 4, 5, 1], list }, 'x');
    assert.equal(grey.classNames, ['k1', 'k2']);
    assert.equal(grey.imageShape, [4, 5, 1]);
    assert.equal([...grey.images.subarray(0, 20)], [...prepareImage(red, { size: [4, 5], channels: 1, preprocess: 'unit' })]);
    writeFileSync(join(root, 'empty.txt'), '');
    mkdirSync(join(root, 'zzz'));
    await loadImageFolder(root, { size: [6, 6] }).then(() => assert.unreachable('empty class accepted'), (e: Error) => assert.match(e.message, /'zzz' holds no/));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

s.run();
