// Named pretrained models without the internet: a local HTTP server serves a small weights-only
// .h5 built here (the Fashion-MNIST CNN with seeded weights) through the same code path as the
// Keras ImageNet files. A wrong hash, a truncated body and a server error leave nothing in the
// cache; a good download is converted once and later runs read the cache without a request.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { cacheDir, ensurePretrained, pretrainedModels } from '../../src/cli/pretrained.ts';
import { UsageError } from '../../src/cli/args.ts';
import { DownloadError } from '../../src/io/node-download.ts';
import { encodePng } from '../../src/io/image.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { fashionCnn } from '../../src/nn/zoo/index.ts';
import { assertClose, gpu } from '../helpers.ts';
import { filesUnder } from './files.ts';
import { input, kerasH5, predict, rejects, type H5LayerSpec } from '../nn/loader-fixtures.ts';

const s = suite('cli/pretrained');
const root = resolve(import.meta.dirname, '../..');
let dir = '';
let server: Server;
let base = '';
let h5: Uint8Array = new Uint8Array(0);
const requests = new Map<string, number>();
const X_SHAPE = [2, 28, 28, 1];
const x = input(X_SHAPE, 41);
let want: Float32Array = new Float32Array(0);

function env(cache: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, CAMLIGHT_MODELS: join(dir, 'models.json'), CAMLIGHT_CACHE: cache, CAMLIGHT_WEIGHTS_URL: '', ...extra };
}

/** The CLI in a child process, asynchronously so this process's server can answer it. */
function camlight(args: string[], e: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
      cwd: dir, env: { ...e, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => p.kill('SIGKILL'), 240_000);
    p.on('close', (code) => {
      clearTimeout(timer);
      ok({ code, stdout, stderr: stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n') });
    });
  });
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-pretrained-'));
  // The weights-only file, as keras.applications ships them: one group per layer.
  const m = fashionCnn();
  m.initWeights(17);
  const layers = new Map<string, H5LayerSpec>();
  for (const [name, w] of await m.readWeights()) {
    const layer = name.slice(0, name.lastIndexOf('/'));
    if (!layers.has(layer)) layers.set(layer, { name: layer, weights: [] });
    layers.get(layer)!.weights.push({ name: `${name}:0`, data: w.data, shape: w.shape });
  }
  h5 = await kerasH5([...layers.values()]);
  want = await predict(m, x, X_SHAPE);
  m.dispose();

  server = createServer((req, res) => {
    const path = req.url ?? '';
    requests.set(path, (requests.get(path) ?? 0) + 1);
    if (path.startsWith('/error/')) {
      res.writeHead(500, 'Internal Server Error').end('boom');
    } else if (path.startsWith('/truncated/')) {
      // Announces the whole file, sends half, then drops the connection.
      res.writeHead(200, { 'content-length': String(h5.length), 'content-type': 'application/octet-stream' });
      res.write(h5.subarray(0, h5.length >> 1), () => res.socket?.destroy());
    } else if (path.endsWith('/tiny.h5')) {
      res.writeHead(200, { 'content-length': String(h5.length), 'content-type': 'application/octet-stream' }).end(h5);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const md5 = createHash('md5').update(h5).digest('hex');
  const entry = (url: string, hash = md5) => ({
    arch: 'fashion_cnn', url, md5: hash, match: 'name', preprocess: 'unit', inputSize: [28, 28], camLayer: 'conv2d_2', labels: 'labels.txt',
  });
  writeFileSync(join(dir, 'labels.txt'), ['tee', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'].join('\n'));
  writeFileSync(join(dir, 'models.json'), JSON.stringify({
    models: {
      tiny: entry(`${base}/files/tiny.h5`),
      tiny_bad_hash: entry(`${base}/bad/tiny.h5`, '0'.repeat(32)),
      tiny_truncated: entry(`${base}/truncated/tiny.h5`),
      tiny_error: entry(`${base}/error/tiny.h5`),
      tiny_mirrored: entry('https://unreachable.invalid/keras/tiny.h5'),
    },
  }));
  // Two 28×28 grey images: a bright square on the left, and on the right.
  for (const [name, x0] of [['left.png', 3], ['right.png', 16]] as const) {
    const px = new Uint8Array(28 * 28 * 4);
    for (let i = 0; i < 28 * 28; i++) {
      const [r, c] = [Math.floor(i / 28), i % 28];
      const v = r >= 8 && r < 20 && c >= x0 && c < x0 + 9 ? 230 : 20;
      px.set([v, v, v, 255], 4 * i);
    }
    writeFileSync(join(dir, name), encodePng(px, 28, 28));
  }
});
s.after(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

s('the cache folder: CAMLIGHT_CACHE, else $XDG_CACHE_HOME/camlight, else ~/.cache/camlight', () => {
  assert.is(cacheDir({ CAMLIGHT_CACHE: '/a/b', XDG_CACHE_HOME: '/x' }), '/a/b');
  assert.is(cacheDir({ XDG_CACHE_HOME: '/x' }), '/x/camlight');
  assert.ok(cacheDir({}).endsWith('/.cache/camlight'));
});

s('the committed manifest names vgg16, vgg19, inception_v3, resnet50, mobilenet_v2, xception, densenet121/169/201 and efficientnet_b0 with Keras hashes, presets and CAM layers', async () => {
  const m = await pretrainedModels({});
  assert.equal([...m.keys()], ['vgg16', 'vgg19', 'inception_v3', 'resnet50', 'mobilenet_v2', 'xception', 'densenet121', 'densenet169', 'densenet201', 'efficientnet_b0']);
  for (const e of m.values()) {
    // EfficientNet's files sit under storage.googleapis.com/keras-applications/ (no tensorflow/), as efficientnet.py says.
    assert.match(e.url, /^https:\/\/storage\.googleapis\.com\/(tensorflow\/)?keras-applications\//);
    // A published MD5, or (mobilenet_v2 only) the explicit statement that Keras publishes none.
    if (e.unverified) assert.match(e.unverified, /publishes no hash/);
    else assert.match(e.md5!, /^[0-9a-f]{32}$/);
    const labels = readFileSync(join(e.dir, e.labels!), 'utf8').trim().split('\n');
    assert.is(labels.length, 1000);
  }
  assert.is(m.get('inception_v3')!.preprocess, 'tf');
  assert.is(m.get('vgg19')!.camLayer, 'block5_conv4');
  // keras/src/applications/resnet.py: BASE_WEIGHTS_PATH + 'resnet50_weights_tf_dim_ordering_tf_kernels.h5', WEIGHTS_HASHES['resnet50'][0].
  const r = m.get('resnet50')!;
  assert.equal([r.url, r.md5, r.preprocess, r.inputSize, r.camLayer], [
    'https://storage.googleapis.com/tensorflow/keras-applications/resnet/resnet50_weights_tf_dim_ordering_tf_kernels.h5',
    '2cb95161c43110f7111970584f804107', 'caffe', [224, 224], 'conv5_block3_out',
  ]);
  // keras/src/applications/mobilenet_v2.py: BASE_WEIGHT_PATH + 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_'
  // f'{float(alpha)}_{rows}.h5', fetched by get_file(model_name, weight_path, cache_subdir="models") with no
  // file_hash, so there is no hash to give; preprocess_input is mode="tf".
  const mn = m.get('mobilenet_v2')!;
  assert.equal([mn.url, mn.md5, mn.sha256, mn.preprocess, mn.inputSize, mn.camLayer, mn.match], [
    'https://storage.googleapis.com/tensorflow/keras-applications/mobilenet_v2/mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5',
    undefined, undefined, 'tf', [224, 224], 'out_relu', 'name',
  ]);
  // keras/src/applications/xception.py: WEIGHTS_PATH, file_hash="0a58e3b7378bc2990ea3b43d5981f1f6", preprocess_input mode="tf";
  // paired by position: the file's layer names are Keras 1's (keras-team/keras#9683).
  const xc = m.get('xception')!;
  assert.equal([xc.url, xc.md5, xc.match, xc.preprocess, xc.inputSize, xc.camLayer], [
    'https://storage.googleapis.com/tensorflow/keras-applications/xception/xception_weights_tf_dim_ordering_tf_kernels.h5',
    '0a58e3b7378bc2990ea3b43d5981f1f6', 'order', 'tf', [299, 299], 'block14_sepconv2_act',
  ]);
  // keras/src/applications/densenet.py: DENSENET121_WEIGHT_PATH = BASE_WEIGHTS_PATH + 'densenet121_weights_tf_dim_ordering_tf_kernels.h5',
  // get_file(..., file_hash='9d60b8095a5708f2dcce2bca79d332c7'); preprocess_input(mode='torch'). By position:
  // the file's classifier is 'fc1000' (keras-applications' name), the model's 'predictions'.
  const d = m.get('densenet121')!;
  assert.equal([d.arch, d.url, d.md5, d.match, d.preprocess, d.inputSize, d.camLayer], [
    'densenet121', 'https://storage.googleapis.com/tensorflow/keras-applications/densenet/densenet121_weights_tf_dim_ordering_tf_kernels.h5',
    '9d60b8095a5708f2dcce2bca79d332c7', 'order', 'torch', [224, 224], 'relu',
  ]);
  // Same file, DENSENET169_WEIGHT_PATH / DENSENET201_WEIGHT_PATH and their get_file file_hash.
  for (const [name, md5] of [['densenet169', 'd699b8f76981ab1b30698df4c175e90b'], ['densenet201', '1ceb130c1ea1b78c3bf6114dbdfd8807']] as const) {
    const e = m.get(name)!;
    assert.equal([e.arch, e.url, e.md5, e.match, e.preprocess, e.camLayer], [
      name, `https://storage.googleapis.com/tensorflow/keras-applications/densenet/${name}_weights_tf_dim_ordering_tf_kernels.h5`, md5, 'order', 'torch', 'relu',
    ]);
  }
  // keras/src/applications/efficientnet.py: BASE_WEIGHTS_PATH ("https://storage.googleapis.com/keras-applications/")
  // + 'efficientnetb0' + '.h5', WEIGHTS_HASHES['b0'][0] (32 hex: an MD5, get_file's 'auto'); preprocess_input is a
  // pass-through (the model rescales 0–255 pixels itself), hence 'none'.
  const b0 = m.get('efficientnet_b0')!;
  assert.equal([b0.url, b0.md5, b0.sha256, b0.match, b0.preprocess, b0.inputSize, b0.camLayer], [
    'https://storage.googleapis.com/keras-applications/efficientnetb0.h5',
    '902e53a9f72be733fc0bcb005b3ebbac', undefined, 'name', 'none', [224, 224], 'top_activation',
  ]);
});

for (const [name, re] of [
  ['tiny_bad_hash', /MD5 of the \d+ bytes received is [0-9a-f]{32}, expected 0{32}/],
  ['tiny_truncated', /connection broke|truncated/],
  ['tiny_error', /server answered 500/],
] as const) {
  s(`a failed download (${name.slice(5)}) names the URL and CAMLIGHT_WEIGHTS_URL and leaves no file in the cache`, async () => {
    const cache = join(dir, `cache-${name}`);
    const e = await rejects(ensurePretrained(name, env(cache)), DownloadError, [re, /CAMLIGHT_WEIGHTS_URL/], name);
    assert.ok(e.message.includes(`${base}/`), `names the URL: ${e.message}`);
    assert.equal(filesUnder(cache), [], 'nothing half-written stays in the cache');
  });
}

s('an unknown name is a usage error listing the named models', async () => {
  await rejects(ensurePretrained('resnet9000', env(join(dir, 'cache-unknown'))), UsageError, [/resnet9000/, /vgg16, vgg19, inception_v3, resnet50, mobilenet_v2, xception, densenet121, densenet169, densenet201, efficientnet_b0, tiny/], 'unknown');
});

s('CAMLIGHT_WEIGHTS_URL fetches the same file name from a mirror; the converted model predicts as the original', async () => {
  const cache = join(dir, 'cache-mirror');
  const before = requests.get('/mirror/tiny.h5') ?? 0;
  const { modelJson } = await ensurePretrained('tiny_mirrored', env(cache, { CAMLIGHT_WEIGHTS_URL: `${base}/mirror/` }));
  assert.is(requests.get('/mirror/tiny.h5'), before + 1);
  assert.equal(filesUnder(cache).filter((f) => !f.startsWith('tiny_mirrored/group1-shard')).sort(),
    ['tiny_mirrored/camlight.json', 'tiny_mirrored/labels.txt', 'tiny_mirrored/model.json']);
  const model = await loadLayersModel(modelJson);
  assertClose(await predict(model, x, X_SHAPE), want, { rtol: 0, atol: 1e-6, what: 'converted cache model vs the weights served' });
  model.dispose();
});

s('`camlight cam --model NAME` downloads with progress, converts once, then runs from the cache without a request', async () => {
  const cache = join(dir, 'cache-cli');
  const first = await camlight(['cam', 'left.png', 'right.png', '--model', 'tiny', '--out', 'out1'], env(cache));
  assert.is(first.code, 0, first.stderr);
  assert.match(first.stderr, /downloading tiny: \d+\.\d MB of \d+\.\d MB \(100%\) at [\d.]+ MB\/s, done/);
  assert.is(requests.get('/files/tiny.h5'), 1);
  const doc = JSON.parse(readFileSync(join(dir, 'out1/cams.json'), 'utf8'));
  assert.is(doc.model, 'tiny');
  assert.is(doc.preprocess, 'unit', 'preset from the manifest');
  assert.is(doc.layer.name, 'conv2d_2', "the manifest's CAM layer is the default");
  assert.is(doc.images.length, 2);
  assert.type(doc.images[0].topk[0].label, 'string');
  assert.ok(!filesUnder(cache).some((f) => f.startsWith('downloads/') || f.includes('.part') || f.includes('.tmp')), filesUnder(cache).join(', '));

  const second = await camlight(['cam', 'left.png', '--model', 'tiny', '--out', 'out2'], env(cache));
  assert.is(second.code, 0, second.stderr);
  assert.is(requests.get('/files/tiny.h5'), 1, 'no second request');
  assert.not.match(second.stderr, /downloading|converting/);
});

s.run();
