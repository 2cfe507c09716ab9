// `camlight train` end to end in a child process: quick runs on Fashion-MNIST (with and without a
// planted shortcut) and on an image folder with --compare write the checkpoint, the APNGs, history.json
// and report.html in the documented shape; mistakes are one line naming the option, exit code 1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import UPNG from 'upng-js';
import * as tfl from '@tensorflow/tfjs-layers';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Model } from '../../src/nn/model.ts';
import { saveLayersModel } from '../../src/nn/loaders/index.ts';
import { encodePng } from '../../src/io/image.ts';
import { loadFashionMnist } from '../../src/train/data.ts';
import { dataTest, fashionMnistDir, missingFashionMnist, requireRealData } from '../real-data.ts';
import { gpu, tf } from '../helpers.ts';

const s = suite('cli/train');
const root = resolve(import.meta.dirname, '../..');
let dir = '';
let haveData = false;

function camlight(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 240_000,
  });
  const stderr = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n');
  return { code: r.status, stdout: r.stdout, stderr };
}

/** A small GAP-headed CNN (fashionCnn costs ~23 s per 1024 images per epoch on lavapipe). */
function smallCnn(classes: number): Model {
  const conv = (name: string, filters: number, extra = {}) => ({
    class_name: 'Conv2D', config: { name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, ...extra },
  });
  const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, pool_size: [2, 2], strides: [2, 2], padding: 'valid' } });
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'small_cnn',
      layers: [conv('c1', 8, { batch_input_shape: [null, 28, 28, 1] }), pool('p1'), conv('c2', 16), pool('p2'), conv('c3', 16),
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Dense', config: { name: 'out', units: classes, activation: 'softmax', use_bias: true } }],
    },
  });
  m.initWeights(3);
  return m;
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-train-cli-'));
  for (const [name, k] of [['small', 10], ['small2', 2]] as const) {
    const m = smallCnn(k);
    await saveLayersModel(m, join(dir, name));
    m.dispose();
  }
  haveData = !!fashionMnistDir();
  if (!haveData) {
    if (requireRealData) throw new Error('Fashion-MNIST is missing (apt-get install dataset-fashion-mnist)');
    return;
  }
  // An image folder: 10 sandals and 10 sneakers as PNGs.
  const d = await loadFashionMnist({ split: 'test', limit: 200 });
  for (const [cls, folder] of [[5, 'sandal'], [7, 'sneaker']] as const) {
    mkdirSync(join(dir, 'shoes', folder), { recursive: true });
    [...d.labels.keys()].filter((i) => d.labels[i] === cls).slice(0, 10).forEach((i, k) => {
      const data = new Uint8ClampedArray(784 * 4);
      for (let j = 0; j < 784; j++) { const v = Math.round(255 * d.images[i * 784 + j]!); data.set([v, v, v, 255], 4 * j); }
      writeFileSync(join(dir, 'shoes', folder, `${k}.png`), encodePng({ width: 28, height: 28, data }));
    });
  }
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

type Doc = {
  config: Record<string, unknown>;
  epochs: { epoch: number; loss: number; accuracy: number; valLoss: number; valAccuracy: number; ms: number }[];
  cam: { layer: { name: string; height: number; width: number }; images: {
    name: string; trueClass: number; cue: boolean; epochs: { epoch: number; top3: { index: number; label: string; prob: number }[]; map: { height: number; width: number; values: number[] } }[];
    triage: { verdict: string; reason: string; numbers: Record<string, number | boolean | null> };
  }[] };
  compare?: Doc;
};

/** Checks the files of a run and history.json's documented shape; returns history.json. */
function checkRun(out: string, epochs: number, tracked: number): Doc {
  for (const f of ['checkpoint/model.json', 'history.json', 'report.html']) assert.ok(existsSync(join(dir, out, f)), `${out}/${f} exists`);
  const doc = JSON.parse(readFileSync(join(dir, out, 'history.json'), 'utf8')) as Doc;
  assert.equal(doc.epochs.map((e) => e.epoch), Array.from({ length: epochs }, (_, i) => i + 1));
  for (const e of doc.epochs) {
    assert.ok(Number.isFinite(e.loss) && e.loss > 0, 'loss');
    assert.ok(e.accuracy >= 0 && e.accuracy <= 1 && e.valAccuracy >= 0 && e.valAccuracy <= 1, 'accuracy and validation accuracy');
    assert.ok(e.ms > 0);
  }
  assert.is(doc.cam.images.length, tracked);
  const html = readFileSync(join(dir, out, 'report.html'), 'utf8');
  for (const im of doc.cam.images) {
    // Epoch 0 (the untrained model) and one record per epoch.
    assert.equal(im.epochs.map((e) => e.epoch), Array.from({ length: epochs + 1 }, (_, i) => i));
    for (const e of im.epochs) {
      assert.is(e.top3.length, Math.min(3, (doc.config.classes as string[]).length));
      assert.ok(e.top3.every((t, k) => k === 0 || e.top3[k - 1]!.prob >= t.prob), 'best first');
      assert.is(e.map.values.length, e.map.height * e.map.width);
      assert.is(e.map.height, doc.cam.layer.height);
    }
    assert.ok(['good', 'bad', 'ugly', 'unknown'].includes(im.triage.verdict));
    assert.type(im.triage.reason, 'string');
    assert.is(im.triage.numbers.epochs, epochs + 1);
    for (const k of ['correct', 'trueTop1Share', 'turnover', 'stability', 'energyInside']) assert.ok(k in im.triage.numbers, `triage number ${k}`);
    const png = readFileSync(join(dir, out, 'animations', `${im.name}.png`));
    const d = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.length) as ArrayBuffer);
    assert.is(UPNG.toRGBA8(d).length, epochs + 1, `${im.name}: one frame per epoch plus epoch 0`);
    assert.ok(d.width >= 56, 'at least 2× the input');
    assert.ok(html.includes(`id="anim-${im.name}"`), `report.html shows ${im.name}`);
  }
  assert.ok(html.includes('data:image/png;base64,'), 'animations inlined');
  return doc;
}

dataTest(s, 'fashion-mnist quick run: checkpoint (opens in tfjs-layers), APNGs of epochs + 1 frames, history.json, report.html', missingFashionMnist, async () => {
  if (!haveData) throw new Error('Fashion-MNIST was not prepared');
  const r = camlight('train', '--data', 'fashion-mnist', '--model', 'small/model.json', '--limit', '256', '--epochs', '2', '--track', '4', '--out', 'plain');
  assert.is(r.code, 0, r.stderr);
  const lines = r.stderr.split('\n');
  assert.is(lines.filter((l) => /^epoch \d\/2 +loss [\d.]+ +accuracy [\d.]+ +val_loss [\d.]+ +val_accuracy [\d.]+ +time [\d.]+ s/.test(l)).length, 2, r.stderr);
  const doc = checkRun('plain', 2, 4);
  assert.is(doc.config.trainImages, 256);
  assert.is(doc.config.method, 'gradcam');
  // Four test images of four different classes; the silhouette is the object, so energy inside is known.
  assert.is(new Set(doc.cam.images.map((i) => i.trueClass)).size, 4);
  for (const im of doc.cam.images) assert.type(im.triage.numbers.energyInside, 'number');
  const json = JSON.parse(readFileSync(join(dir, 'plain/checkpoint/model.json'), 'utf8'));
  const weights = readFileSync(join(dir, 'plain/checkpoint', json.weightsManifest[0].paths[0]));
  const tm = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: json.weightsManifest[0].weights, weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.length) as ArrayBuffer }));
  assert.equal(tm.outputs[0]!.shape, [null, 10]);
  tm.dispose();
});

dataTest(s, '--shortcut 1:1.0 frames the Trousers in training and tracks framed test trousers plus clean images', missingFashionMnist, () => {
  if (!haveData) throw new Error('Fashion-MNIST was not prepared');
  const r = camlight('train', '--data', 'fashion-mnist', '--model', 'small/model.json', '--limit', '256', '--epochs', '2', '--track', '4', '--shortcut', '1:1.0', '--out', 'cue');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /cue planted in \d+ 'Trouser' training images/);
  const doc = checkRun('cue', 2, 4);
  assert.equal(doc.config.shortcut, { class: 1, label: 'Trouser', probability: 1, kind: 'frame', planted: (doc.config.shortcut as { planted: number }).planted });
  const cued = doc.cam.images.filter((i) => i.cue);
  assert.is(cued.length, 2);
  assert.ok(cued.every((i) => i.trueClass === 1 && i.name.endsWith('-cue')));
  assert.ok(doc.cam.images.some((i) => !i.cue && i.trueClass !== 1), 'clean images of other classes too');
});

dataTest(s, 'image folder, fashion-cnn vs a model.json (--compare), --track FILES, --freeze: side-by-side animations', missingFashionMnist, () => {
  if (!haveData) throw new Error('Fashion-MNIST was not prepared');
  const r = camlight('train', '--data', 'shoes', '--model', 'fashion-cnn', '--compare', 'small2/model.json', '--epochs', '1', '--batch', '8',
    '--track', 'shoes/sandal/0.png,shoes/sneaker/0.png', '--freeze', 'conv2d', '--out', 'folder');
  assert.is(r.code, 0, r.stderr);
  const doc = checkRun('folder', 1, 2);
  // Two files tracked: their folder names are their classes; the second '0' is named after its folder.
  assert.equal(doc.cam.images.map((i) => [i.name, i.trueClass]), [['0', 0], ['sneaker-0', 1]]);
  assert.is((doc as unknown as { frozenUpTo: string }).frozenUpTo, 'conv2d');
  assert.ok(doc.compare, 'history.json holds the second model');
  assert.is(doc.compare!.epochs.length, 1);
  const files = readdirSync(join(dir, 'folder/animations')).sort();
  assert.ok(files.filter((f) => f.endsWith('.compare.png')).length === 2, files.join(' '));
  const png = readFileSync(join(dir, 'folder/animations', files.find((f) => f.endsWith('.compare.png'))!));
  const d = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.length) as ArrayBuffer);
  assert.is(UPNG.toRGBA8(d).length, 2, 'frames aligned by epoch: 0 and 1');
  assert.ok(d.width > 2 * 224, 'two frames side by side');
  assert.ok(readFileSync(join(dir, 'folder/report.html'), 'utf8').includes('<h2>Comparison</h2>'));
  assert.ok(existsSync(join(dir, 'folder/compare/checkpoint/model.json')));
});

s('mistakes are one line naming the option, exit code 1', () => {
  const cases: [string[], RegExp][] = [
    [['train', '--model', 'fashion-cnn'], /--data is required/],
    [['train', '--data', 'fashion-mnist'], /--model is required/],
    [['train', '--data', 'fashion-mnist', '--model', 'vgg19'], /--model vgg19: needs 3-channel inputs .* image folder/],
    [['train', '--data', 'fashion-mnist', '--model', 'resnet'], /--model resnet: use fashion-cnn, vgg19, inception_v3 or a model\.json/],
    [['train', '--data', 'nowhere', '--model', 'fashion-cnn'], /--data nowhere: not 'fashion-mnist' and no such folder/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--epochs', '0'], /--epochs 0: expected an integer/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--shortcut', 'zebra'], /--shortcut zebra: no class 'zebra'/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--shortcut', '1:2'], /--shortcut 1:2: the probability must be in \[0, 1\]/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--freeze', 'nope'], /--freeze nope: model 'fashion_cnn' has no such layer/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--method', 'magic'], /--method magic: use one of/],
    [['train', '--data', 'fashion-mnist', '--model', 'small2/model.json'], /outputs \(.*2\), the data has 10 classes/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--bogus'], /unknown option --bogus/],
  ];
  for (const [args, re] of cases) {
    const r = camlight(...args);
    assert.is(r.code, 1, `${args.join(' ')} exits 1: ${r.stderr}`);
    assert.is(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
    assert.match(r.stderr, re);
  }
});

s.run();
