// The IDX reader on the real Fashion-MNIST files (against a direct node:zlib gunzip) and on
// synthetic files of every type; the Fashion-MNIST loader's counts, labels and pixels.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { memoryFiles } from '../../src/io/files.ts';
import { encodeIdx, gunzip, IdxFormatError, parseIdx, readIdx, type IdxArray } from '../../src/train/idx.ts';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../../src/train/data.ts';
import { nodeFiles } from '../../src/io/node-files.ts';
import { dataTest, fashionMnistDir, missingFashionMnist } from '../real-data.ts';

const s = suite('train/idx');
const dir = fashionMnistDir();

s('synthetic IDX of every type round-trips, big-endian, gzipped or not', async () => {
  const cases: IdxArray[] = [
    { type: 'uint8', shape: [2, 3], data: Uint8Array.from([0, 1, 2, 253, 254, 255]) },
    { type: 'int8', shape: [4], data: Int8Array.from([-128, -1, 0, 127]) },
    { type: 'int16', shape: [3], data: Int16Array.from([-300, 2, 32000]) },
    { type: 'int32', shape: [1, 2], data: Int32Array.from([-70000, 1 << 30]) },
    { type: 'float32', shape: [2], data: Float32Array.from([1.5, -2.25]) },
    { type: 'float64', shape: [2, 1, 1], data: Float64Array.from([Math.PI, -1e300]) },
  ];
  for (const c of cases) {
    const bytes = encodeIdx(c);
    const back = parseIdx(bytes);
    assert.is(back.type, c.type);
    assert.equal(back.shape, c.shape);
    assert.equal([...back.data], [...c.data]);
    const viaGz = await readIdx(memoryFiles({ 'a.idx.gz': new Uint8Array(gzipSync(bytes)) }), 'a.idx.gz');
    assert.equal([...viaGz.data], [...c.data], `${c.type} gz`);
  }
  // Big-endian by hand: int16 0x0102 = 258.
  assert.equal([...parseIdx(Uint8Array.from([0, 0, 0x0b, 1, 0, 0, 0, 1, 1, 2])).data], [258]);
});

s('malformed IDX files are IdxFormatErrors that say what is wrong', () => {
  assert.throws(() => parseIdx(Uint8Array.from([0x1f, 0x8b, 8, 0])), (e: Error) => e instanceof IdxFormatError && /gzipped/.test(e.message));
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x07, 1, 0, 0, 0, 1])), /type code 0x7/);
  assert.throws(() => parseIdx(Uint8Array.from([0, 0, 0x08, 1, 0, 0, 0, 5, 1, 2])), /needs 13 bytes, the file has 10/);
});

dataTest(s, 'real Fashion-MNIST: counts, shapes, first labels and pixels agree with node:zlib', missingFashionMnist, async () => {
  const src = nodeFiles(dir!);
  for (const [name, n] of [['train', 60000], ['t10k', 10000]] as const) {
    const img = await readIdx(src, `${name}-images-idx3-ubyte.gz`);
    const lab = await readIdx(src, `${name}-labels-idx1-ubyte.gz`);
    assert.equal(img.shape, [n, 28, 28]);
    assert.equal(lab.shape, [n]);
    const rawImg = gunzipSync(readFileSync(`${dir}/${name}-images-idx3-ubyte.gz`));
    const rawLab = gunzipSync(readFileSync(`${dir}/${name}-labels-idx1-ubyte.gz`));
    assert.equal([...lab.data.subarray(0, 20)], [...rawLab.subarray(8, 28)]);
    // Pixels of images 0, 1 and the last, straight from the gunzipped bytes (16-byte header).
    for (const i of [0, 1, n - 1]) {
      assert.equal([...img.data.subarray(i * 784, (i + 1) * 784)], [...rawImg.subarray(16 + i * 784, 16 + (i + 1) * 784)], `${name} image ${i}`);
    }
    // Every class appears 6000 (train) or 1000 (test) times.
    const hist = new Array<number>(10).fill(0);
    for (const l of lab.data) hist[l]!++;
    assert.equal(hist, new Array<number>(10).fill(n / 10));
  }
  // The first training labels of Fashion-MNIST are well known: ankle boot, T-shirt, T-shirt, dress.
  const train = await loadFashionMnist({ split: 'train', limit: 100 });
  assert.equal([...train.labels.subarray(0, 4)], [9, 0, 0, 3]);
  assert.equal(train.imageShape, [28, 28, 1]);
  assert.is(train.images.length, 100 * 784);
  assert.equal(train.classNames, FASHION_MNIST_CLASSES);
  const raw = gunzipSync(readFileSync(`${dir}/train-images-idx3-ubyte.gz`));
  for (const k of [0, 400, 783, 784 * 99 + 5]) assert.is(train.images[k], Math.fround(raw[16 + k]! / 255));
  const test = await loadFashionMnist({ split: 'test' });
  assert.is(test.labels.length, 10000);
  assert.ok(Math.max(...test.images.subarray(0, 784)) <= 1 && Math.min(...test.images.subarray(0, 784)) >= 0);
});

s('gunzip is the web-standard DecompressionStream and matches node:zlib', async () => {
  const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 37) % 251);
  assert.equal([...(await gunzip(new Uint8Array(gzipSync(data))))], [...data]);
});

s.run();
