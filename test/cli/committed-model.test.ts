// The small Fashion-MNIST CNN committed under weights/ (trained by `camlight train`): its recorded
// test accuracy is reproduced by tfjs-layers' CPU backend (an independent implementation), and
// `camlight cam` runs with it offline on Fashion-MNIST test images written as PNGs, predicting
// what tfjs predicts for the same pixels.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import * as tfl from '@tensorflow/tfjs-layers';
import { encodePng } from '../../src/io/image.ts';
import { nodeFiles } from '../../src/io/node-files.ts';
import { FASHION_MNIST_CLASSES } from '../../src/train/data.ts';
import { readIdx } from '../../src/train/idx.ts';
import { gpu, tf } from '../helpers.ts';
import { fashionMnistDir, requireRealData } from '../real-data.ts';

const s = suite('cli/committed-model');
const root = resolve(import.meta.dirname, '../..');
const MODEL_DIR = join(root, 'weights/fashion-mnist-cnn');
let dir = '';

async function tfModel(): Promise<tfl.LayersModel> {
  const json = JSON.parse(readFileSync(join(MODEL_DIR, 'model.json'), 'utf8'));
  const specs = json.weightsManifest.flatMap((g: { weights: unknown[] }) => g.weights);
  const bufs = json.weightsManifest.flatMap((g: { paths: string[] }) => g.paths.map((p) => readFileSync(join(MODEL_DIR, p))));
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  return tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData }));
}

async function testSet(): Promise<{ images: Uint8Array; labels: Uint8Array } | null> {
  const d = fashionMnistDir();
  if (!d) {
    if (requireRealData) assert.unreachable('Fashion-MNIST missing (apt-get install dataset-fashion-mnist)');
    return null;
  }
  const src = nodeFiles(d);
  const images = (await readIdx(src, 't10k-images-idx3-ubyte.gz')).data as Uint8Array;
  const labels = (await readIdx(src, 't10k-labels-idx1-ubyte.gz')).data as Uint8Array;
  return { images, labels };
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-committed-'));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('weights/fashion-mnist-cnn is small, has its preset and labels, and reaches the recorded test accuracy in tfjs', async () => {
  const record = JSON.parse(readFileSync(join(MODEL_DIR, 'training.json'), 'utf8'));
  const cfg = JSON.parse(readFileSync(join(MODEL_DIR, 'camlight.json'), 'utf8'));
  assert.is(cfg.preprocess, 'unit');
  assert.equal(readFileSync(join(MODEL_DIR, cfg.labels), 'utf8').trim().split('\n'), FASHION_MNIST_CLASSES);
  const data = await testSet();
  if (!data) return;
  const m = await tfModel();
  assert.ok(m.countParams() < 50_000, `small: ${m.countParams()} parameters`);
  const n = record.evaluationImages as number;
  let correct = 0;
  for (let start = 0; start < n; start += 1000) {
    const k = Math.min(1000, n - start);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(Float32Array.from(data.images.subarray(start * 784, (start + k) * 784), (v) => v / 255), [k, 28, 28, 1]);
      return tf.argMax(m.predict(x) as tf.Tensor, -1).dataSync();
    });
    for (let i = 0; i < k; i++) correct += pred[i] === data.labels[start + i] ? 1 : 0;
  }
  const acc = correct / n;
  // GPU (training) and CPU float sums differ in the last bits: a handful of borderline images may flip.
  assert.ok(Math.abs(acc - record.testAccuracy) <= 0.003, `tfjs accuracy ${acc} vs recorded ${record.testAccuracy} on ${n} test images`);
  assert.ok(acc > 0.7, `accuracy ${acc}, chance is 0.1`);
  m.dispose();
});

s('`camlight cam` runs offline with the committed model on Fashion-MNIST PNGs and predicts as tfjs does', async () => {
  const data = await testSet();
  if (!data) return;
  const N = 6;
  const files: string[] = [];
  for (let i = 0; i < N; i++) {
    const px = new Uint8Array(28 * 28 * 4);
    for (let p = 0; p < 784; p++) {
      const v = data.images[i * 784 + p]!;
      px.set([v, v, v, 255], 4 * p);
    }
    files.push(`test${i}.png`);
    writeFileSync(join(dir, files[i]!), encodePng(px, 28, 28));
  }
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), 'cam', ...files, '--model', join(MODEL_DIR, 'model.json'), '--out', 'out'], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 240_000,
  });
  assert.is(r.status, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'out/cams.json'), 'utf8'));
  assert.is(doc.images.length, N);
  assert.is(doc.preprocess, 'unit');
  const m = await tfModel();
  const want = tf.tidy(() => tf.argMax(m.predict(tf.tensor4d(Float32Array.from(data.images.subarray(0, N * 784), (v) => v / 255), [N, 28, 28, 1])) as tf.Tensor, -1).dataSync());
  m.dispose();
  doc.images.forEach((im: { file: string; topk: { index: number; label: string }[]; map: { values: number[] } }, i: number) => {
    assert.is(im.file, files[i]);
    assert.is(im.topk[0]!.index, want[i], `${im.file}: camlight's top class vs tfjs's`);
    assert.is(im.topk[0]!.label, FASHION_MNIST_CLASSES[want[i]!]);
    assert.ok(im.map.values.every((v) => v >= 0 && v <= 1) && Math.max(...im.map.values) > 0, `${im.file}: a non-empty map in [0, 1]`);
  });
});

s.run();
