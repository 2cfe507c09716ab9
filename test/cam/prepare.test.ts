// Input preparation against TensorFlow.js: the host bilinear resize vs tf.image.resizeBilinear
// (half-pixel centres), the keras.applications presets vs their formulas written with tf ops and
// by hand, centre-crop geometry (Keras smart_resize), grey inputs, and camlight.json.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import {
  applyPreset, centerCropBox, checkPreset, inputGeometry, prepareImage, prepareImages, prepareTensor,
  readCamlightJson, readLabels, resizeBilinearHost, type PreprocessName,
} from '../../src/cam/prepare.ts';
import { decodeImage, type RgbaImage } from '../../src/io/image.ts';
import { memoryFiles } from '../../src/io/files.ts';
import { assertClose, gpu, randn, ref, rng, tf } from '../helpers.ts';
import { dataTest, missingSkimage, skimagePhoto } from '../real-data.ts';

const s = suite('cam/prepare');
s.before(async () => {
  await gpu();
});

function randomImage(w: number, h: number, seed: number, alpha = 255): RgbaImage {
  const r = rng(seed);
  const data = new Uint8ClampedArray(w * h * 4).map((_, i) => (i % 4 === 3 ? alpha : Math.floor(r() * 256)));
  return { width: w, height: h, data };
}

function rgbOf(img: RgbaImage): Float32Array {
  return Float32Array.from({ length: img.width * img.height * 3 }, (_, i) => img.data[Math.floor(i / 3) * 4 + (i % 3)]!);
}

// keras.applications.imagenet_utils.preprocess_input, written with tf ops as Keras writes it.
function kerasPreprocess(x: tf.Tensor, mode: PreprocessName): tf.Tensor {
  switch (mode) {
    case 'caffe':
      return tf.sub(tf.reverse(x, -1), tf.tensor1d([103.939, 116.779, 123.68]));
    case 'tf':
      return tf.sub(tf.div(x, 127.5), 1);
    case 'torch':
      return tf.div(tf.sub(tf.div(x, 255), tf.tensor1d([0.485, 0.456, 0.406])), tf.tensor1d([0.229, 0.224, 0.225]));
    case 'unit':
      return tf.div(x, 255);
    case 'none':
      return x;
  }
}

s('resizeBilinearHost matches tf.image.resizeBilinear(halfPixelCenters) within 1e-4', () => {
  const cases: [number, number, number, number, number][] = [
    [300, 451, 3, 224, 224], [7, 7, 1, 224, 224], [5, 3, 2, 1, 1], [1, 1, 3, 4, 5], [13, 17, 3, 26, 9], [6, 8, 4, 6, 8], [2, 9, 1, 7, 3],
  ];
  for (const [i, [H, W, C, OH, OW]] of cases.entries()) {
    const x = randn(H * W * C, 40 + i, 0, 255);
    const want = ref(tf.image.resizeBilinear(tf.tensor3d(x, [H, W, C]), [OH, OW], false, true));
    assertClose(resizeBilinearHost(x, H, W, C, OH, OW), want, { rtol: 1e-6, atol: 1e-4, what: `resize (${H},${W},${C})→(${OH},${OW})` });
  }
});

s('each preset matches Keras preprocess_input written with tf ops (after the same resize)', () => {
  const img = randomImage(47, 31, 5);
  const size: [number, number] = [20, 24];
  const resized = tf.image.resizeBilinear(tf.tensor3d(rgbOf(img), [31, 47, 3]), size, false, true);
  for (const p of ['caffe', 'tf', 'torch', 'unit', 'none'] as const) {
    const got = prepareImage(img, { size, preprocess: p });
    assertClose(got, ref(kerasPreprocess(resized, p)), { rtol: 1e-5, atol: 1e-4, what: `preset ${p}` });
  }
});

s('presets on one pixel, worked by hand', () => {
  const px = () => Float32Array.of(10, 200, 255);
  const close = (got: Float32Array, want: number[], what: string) => assertClose(got, want, { rtol: 1e-6, atol: 1e-5, what });
  close(applyPreset(px(), 3, 'caffe'), [255 - 103.939, 200 - 116.779, 10 - 123.68], 'caffe (BGR)');
  close(applyPreset(px(), 3, 'tf'), [10 / 127.5 - 1, 200 / 127.5 - 1, 1], 'tf');
  close(applyPreset(px(), 3, 'torch'), [(10 / 255 - 0.485) / 0.229, (200 / 255 - 0.456) / 0.224, (1 - 0.406) / 0.225], 'torch');
  close(applyPreset(px(), 3, 'unit'), [10 / 255, 200 / 255, 1], 'unit');
  close(applyPreset(px(), 3, 'none'), [10, 200, 255], 'none');
  close(applyPreset(Float32Array.of(0, 255), 1, 'tf'), [-1, 1], 'tf, grey');
});

s('grey models get luminance (0.299 R + 0.587 G + 0.114 B); caffe and torch need RGB', () => {
  const img = randomImage(5, 4, 9);
  const got = prepareImage(img, { size: [4, 5], channels: 1, preprocess: 'unit' });
  const want = Array.from({ length: 20 }, (_, i) => (0.299 * img.data[4 * i]! + 0.587 * img.data[4 * i + 1]! + 0.114 * img.data[4 * i + 2]!) / 255);
  assertClose(got, want, { rtol: 1e-6, atol: 1e-6, what: 'luminance' });
  const grey: RgbaImage = { width: 3, height: 1, data: Uint8ClampedArray.of(7, 7, 7, 255, 130, 130, 130, 0, 255, 255, 255, 255) };
  assert.equal([...prepareImage(grey, { size: [1, 3], channels: 1 })], [7, 130, 255], 'grey pixels stay exact; alpha is dropped');
  for (const p of ['caffe', 'torch'] as const) {
    assert.throws(() => prepareImage(img, { size: [4, 5], channels: 1, preprocess: p }), (e: Error) => e.message.includes(`'${p}'`) && /3-channel/.test(e.message));
  }
});

s('centre crop: Keras smart_resize geometry, then resize', () => {
  assert.equal(centerCropBox(300, 451, [224, 224]), { top: 0, left: 75, height: 300, width: 300 });
  assert.equal(centerCropBox(451, 300, [224, 224]), { top: 75, left: 0, height: 300, width: 300 });
  // target aspect 1:2 on 300×451: crop height int(451·100/200) = 225, width min(451, 600) = 451
  assert.equal(centerCropBox(300, 451, [100, 200]), { top: 37, left: 0, height: 225, width: 451 });
  assert.equal(centerCropBox(256, 256, [224, 224], 0.875), { top: 16, left: 16, height: 224, width: 224 });
  assert.equal(centerCropBox(10, 10, [3, 3]), { top: 0, left: 0, height: 10, width: 10 });
  const img = randomImage(23, 14, 3);
  const box = centerCropBox(14, 23, [8, 8]);
  const cropped: RgbaImage = { width: box.width, height: box.height, data: new Uint8ClampedArray(box.width * box.height * 4) };
  for (let y = 0; y < box.height; y++) {
    cropped.data.set(img.data.subarray(((box.top + y) * 23 + box.left) * 4, ((box.top + y) * 23 + box.left + box.width) * 4), y * box.width * 4);
  }
  const want = ref(tf.image.resizeBilinear(tf.tensor3d(rgbOf(cropped), [box.height, box.width, 3]), [8, 8], false, true));
  assertClose(prepareImage(img, { size: [8, 8], crop: 'center' }), want, { rtol: 1e-6, atol: 1e-4, what: 'crop + resize' });
  assert.throws(() => centerCropBox(10, 10, [3, 3], 1.5), /cropFraction/);
});

s('batches: prepareImages and prepareTensor give (N,H,W,C)', async () => {
  const imgs = [randomImage(9, 6, 1), randomImage(4, 11, 2)];
  const opts = { size: [5, 7] as [number, number], preprocess: 'tf' as const };
  const batch = prepareImages(imgs, opts);
  assert.is(batch.length, 2 * 5 * 7 * 3);
  assertClose(batch.subarray(105), prepareImage(imgs[1]!, opts), { rtol: 0, atol: 0, what: 'second image' });
  const t = prepareTensor(imgs, opts);
  assert.equal([...t.shape], [2, 5, 7, 3]);
  assertClose(await t.data(), batch, { rtol: 0, atol: 0, what: 'uploaded batch' });
  t.dispose();
  assert.equal(inputGeometry([null, 224, 224, 3]), { height: 224, width: 224, channels: 3 });
});

s('bad options are errors naming the option', () => {
  const img = randomImage(4, 4, 1);
  assert.throws(() => prepareImage(img, { size: [4, 4], preprocess: 'vgg' as PreprocessName }), /preprocess.*"vgg".*caffe, tf, torch, unit, none/);
  assert.throws(() => checkPreset('imagenet', '--preprocess'), /--preprocess: unknown preprocessing preset "imagenet"/);
  assert.throws(() => prepareImage(img, { size: [0, 4] }), /size must be \[height, width\]/);
  assert.throws(() => prepareImage(img, { size: [4, 4], channels: 4 as 3 }), /1 or 3 channels/);
  assert.throws(() => prepareImage({ width: 4, height: 4, data: new Uint8ClampedArray(10) }, { size: [4, 4] }), /not 4×4 RGBA/);
});

s('camlight.json: presets, labels inline or from a file, validation errors name the file', async () => {
  const enc = (o: unknown) => JSON.stringify(o);
  const files = memoryFiles({
    'vgg/model.json': '{}',
    'vgg/camlight.json': enc({ preprocess: 'caffe', labels: 'labels.txt', inputSize: [224, 224] }),
    'vgg/labels.txt': 'tench\r\ngoldfish\ngreat white shark\n\n',
    'inc/camlight.json': enc({ preprocess: 'tf', labels: ['a', 'b'], crop: 'center' }),
    'idx/camlight.json': enc({ labels: 'imagenet_class_index.json' }),
    'idx/imagenet_class_index.json': enc({ 1: ['n01443537', 'goldfish'], 0: ['n01440764', 'tench'] }),
    'bad1/camlight.json': enc({ preprocess: 'caffee' }),
    'bad2/camlight.json': enc({ preproces: 'caffe' }),
    'bad3/camlight.json': enc({ inputSize: [224] }),
    'bad4/camlight.json': '{ "preprocess": ',
    'bad5/camlight.json': enc({ labels: [1, 2] }),
  });
  assert.equal(await readCamlightJson(files, 'vgg/model.json'), { preprocess: 'caffe', labels: ['tench', 'goldfish', 'great white shark'], inputSize: [224, 224] });
  assert.equal(await readCamlightJson(files, 'inc/model.json'), { preprocess: 'tf', labels: ['a', 'b'], crop: 'center' });
  assert.equal(await readCamlightJson(files, 'idx/model.json'), { labels: ['tench', 'goldfish'] });
  assert.is(await readCamlightJson(files, 'none/model.json'), null);
  assert.is(await readCamlightJson(memoryFiles({ 'camlight.json': enc({ preprocess: 'none' }) })).then((c) => c?.preprocess), 'none');
  const fails: [string, RegExp][] = [
    ['bad1', /memory:bad1\/camlight\.json: "preprocess": unknown preprocessing preset "caffee"/],
    ['bad2', /memory:bad2\/camlight\.json: unknown key\(s\) "preproces"/],
    ['bad3', /memory:bad3\/camlight\.json: "inputSize" must be \[height, width\]/],
    ['bad4', /memory:bad4\/camlight\.json: not valid JSON/],
    ['bad5', /memory:bad5\/camlight\.json: "labels" must be/],
  ];
  for (const [dir, re] of fails) {
    try {
      await readCamlightJson(files, `${dir}/model.json`);
      assert.unreachable(`${dir}: no error`);
    } catch (e) {
      assert.match((e as Error).message, re);
    }
  }
  assert.equal(await readLabels(files, 'vgg/labels.txt'), ['tench', 'goldfish', 'great white shark']);
});

dataTest(s, 'chelsea.png (skimage): centre crop + caffe to 224×224 matches the tf pipeline', missingSkimage, () => {
  const img = decodeImage(readFileSync(skimagePhoto('chelsea.png')), 'chelsea.png');
  const got = prepareImage(img, { size: [224, 224], crop: 'center', preprocess: 'caffe' });
  const x = tf.slice(tf.tensor3d(rgbOf(img), [300, 451, 3]), [0, 75, 0], [300, 300, 3]);
  const want = ref(kerasPreprocess(tf.image.resizeBilinear(x as tf.Tensor3D, [224, 224], false, true), 'caffe'));
  assertClose(got, want, { rtol: 1e-5, atol: 2e-4, what: 'chelsea caffe' });
});

s.run();
