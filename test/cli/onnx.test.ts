// The CLI on ONNX models: `camlight info model.onnx`, `camlight cam … --model model.onnx` and
// fine-tuning with `camlight train --model model.onnx` (checkpoint in the TensorFlow.js layers
// format, reloaded by camlight), on small CNNs written with the test builder.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { loadOnnxModel } from '../../src/nn/onnx/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { gpu, randn } from '../helpers.ts';
import { fashionMnistDir, requireRealData, skimagePhoto } from '../real-data.ts';
import { Builder } from '../nn/onnx-builder.ts';

const s = suite('cli/onnx');
const root = resolve(import.meta.dirname, '../..');
let dir = '';

function camlight(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
  });
  const stderr = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n');
  return { code: r.status, stdout: r.stdout, stderr };
}

/** conv-bn-relu → maxpool → conv-bn-hardswish → GAP → Flatten → Gemm: (1,C,S,S) → (1,10) logits. */
function smallCnn(c: number, size: number): Uint8Array {
  const b = new Builder();
  let x = b.one('Relu', [b.bn(b.conv('input', c, 8, 3, { pads: [1, 1, 1, 1] }), 8)]);
  x = b.one('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  x = b.one('HardSwish', [b.bn(b.conv(x, 8, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }), 16)]);
  x = b.one('Flatten', [b.one('GlobalAveragePool', [x])], { axis: 1 });
  x = b.one('Gemm', [x, b.weight([10, 16]), b.weight([10], 0.1)], { transB: 1 });
  return b.bytes([1, c, size, size], x, [1, 10]);
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-onnx-cli-'));
  writeFileSync(join(dir, 'grey28.onnx'), smallCnn(1, 28));
  writeFileSync(join(dir, 'rgb64.onnx'), smallCnn(3, 64));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('camlight info model.onnx: producer, ops, input, parameters and the Grad-CAM layer', () => {
  const r = camlight('info', 'grey28.onnx');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /producer: camlight-test, opset 14/);
  assert.match(r.stdout, /input: input 1×1×28×28/);
  assert.match(r.stdout, /ops: Conv 2, BatchNormalization 2, .*Gemm 1/);
  // (8·9 + 8) + 2·8 + (16·8·9 + 16) + 2·16 + (16·10 + 10) = 1466 trainable; BN moving statistics 2·8 + 2·16 = 48.
  assert.match(r.stdout, /camlight: \d+ layers, 1,466 trainable \+ 48 non-trainable parameters/);
  assert.match(r.stdout, /Grad-CAM layer \('auto'\): blk\d+\.HardSwish 7×7/);
  const bad = camlight('info', 'nothing.onnx');
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /nothing\.onnx: no such file/);
});

s('camlight cam photo --model model.onnx --preprocess torch writes the overlays', () => {
  let photo: string;
  try {
    photo = skimagePhoto('chelsea.png');
  } catch (e) {
    if (requireRealData) throw e;
    return;
  }
  const r = camlight('cam', photo, '--model', 'rgb64.onnx', '--preprocess', 'torch', '--out', 'cams', '--json');
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'cams/cams.json'), 'utf8'));
  assert.is(doc.preprocess, 'torch');
  assert.match(doc.layer.name, /HardSwish/);
  assert.is(doc.images.length, 1);
});

s('camlight train --model model.onnx fine-tunes it and saves a layers-format checkpoint camlight reloads', async () => {
  if (!fashionMnistDir()) {
    if (requireRealData) assert.unreachable('Fashion-MNIST missing (apt-get install dataset-fashion-mnist)');
    return;
  }
  const r = camlight('train', '--data', 'fashion-mnist', '--model', 'grey28.onnx', '--limit', '256', '--epochs', '1', '--batch', '32', '--track', '2', '--out', 'run');
  assert.is(r.code, 0, r.stderr);
  const ckpt = join(dir, 'run/checkpoint/model.json');
  assert.ok(existsSync(ckpt), 'checkpoint written');
  const onnx = await loadOnnxModel(join(dir, 'grey28.onnx'));
  const tuned = await loadLayersModel(ckpt);
  const x = upload(randn(2 * 28 * 28, 5, 0, 1), [2, 28, 28, 1]);
  const a = await onnx.predict(x).data(), b = await tuned.predict(x).data();
  assert.ok(b.every(Number.isFinite), 'the checkpoint predicts finite logits');
  // Training moved the weights: the logits differ from the exported model's.
  assert.ok(a.some((v, i) => Math.abs(v - b[i]!) > 1e-3), 'fine-tuning changed the model');
  onnx.dispose();
  tuned.dispose();
});

s.run();
