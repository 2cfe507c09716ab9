// A named model whose publisher gives no hash (mobilenet_v2: keras.applications calls get_file
// without file_hash), without the internet: the committed manifest entry is fetched from a local
// mirror serving a weights-only .h5 built here with MobileNetV2's Keras layer names. The download
// is announced as unverified with its SHA-256, which camlight.json records along with the
// converted files' hashes; a changed cache is then refused, as is a manifest entry that gives
// neither a hash nor the explicit "unverified" reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePretrained, pretrainedModels } from '../../src/cli/pretrained.ts';
import { UsageError } from '../../src/cli/args.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { mobilenetV2 } from '../../src/nn/zoo/index.ts';
import { assertClose, gpu } from '../helpers.ts';
import { filesUnder } from './files.ts';
import { input, kerasH5, predict, rejects, type H5LayerSpec } from '../nn/loader-fixtures.ts';

const s = suite('cli/pretrained-unverified');
const FILE = 'mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5';
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
let dir = '';
let server: Server;
let base = '';
let h5: Uint8Array = new Uint8Array(0);
let requests = 0;
const X_SHAPE = [1, 224, 224, 3];
const x = input(X_SHAPE, 5);
let want: Float32Array = new Float32Array(0);

/** Runs f with process.stderr captured; resolves to what was written. */
async function stderrOf(f: () => Promise<unknown>): Promise<string> {
  const write = process.stderr.write.bind(process.stderr);
  let out = '';
  process.stderr.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stderr.write;
  try {
    await f();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-unverified-'));
  // As Keras's save_weights writes it: every layer in order (those without weights too), each
  // weight named '<layer>/<weight>:0' (Conv1/kernel:0, expanded_conv_depthwise/depthwise_kernel:0, …).
  const m = mobilenetV2();
  m.initWeights(23);
  const w = await m.readWeights();
  const layers: H5LayerSpec[] = m.layers.map((l) => ({
    name: l.name,
    weights: [...w].filter(([k]) => k.startsWith(`${l.name}/`)).map(([k, v]) => ({ name: `${k}:0`, data: v.data, shape: v.shape })),
  }));
  h5 = await kerasH5(layers);
  want = await predict(m, x, X_SHAPE);
  m.dispose();

  server = createServer((req, res) => {
    if (req.url === `/mirror/${FILE}`) {
      requests++;
      res.writeHead(200, { 'content-length': String(h5.length), 'content-type': 'application/octet-stream' }).end(h5);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
s.after(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

s('mobilenet_v2 from a mirror: a one-line unverified notice with the SHA-256, recorded in camlight.json; every weight paired by name', async () => {
  const cache = join(dir, 'cache');
  const env = { ...process.env, CAMLIGHT_CACHE: cache, CAMLIGHT_MODELS: '', CAMLIGHT_WEIGHTS_URL: `${base}/mirror` };
  let modelJson = '';
  const err = await stderrOf(async () => ({ modelJson } = await ensurePretrained('mobilenet_v2', env, '--model', { quiet: true })));
  assert.is(requests, 1);
  const notices = err.split('\n').filter((l) => /not verified/.test(l));
  assert.is(notices.length, 1, err);
  assert.match(notices[0]!, `camlight: warning: ${FILE} is not verified against a published hash (keras.applications publishes no hash for this file`);
  assert.ok(notices[0]!.includes(`its SHA-256 is ${sha256(h5)}`), notices[0]);

  const folder = join(cache, 'mobilenet_v2');
  const cfg = JSON.parse(readFileSync(join(folder, 'camlight.json'), 'utf8'));
  assert.equal(cfg.source, { url: `${base}/mirror/${FILE}`, sha256: sha256(h5), verified: false, unverified: cfg.source.unverified });
  assert.match(cfg.source.unverified, /get_file without file_hash/);
  assert.equal([cfg.preprocess, cfg.inputSize, cfg.labels], ['tf', [224, 224], 'labels.txt']);
  const shards = filesUnder(folder).filter((f) => f.endsWith('.bin'));
  assert.ok(shards.length >= 1);
  assert.equal(Object.keys(cfg.pinned).sort(), ['model.json', ...shards].sort());
  for (const f of Object.keys(cfg.pinned)) assert.is(cfg.pinned[f], sha256(readFileSync(join(folder, f))), f);
  // Nothing half-written stays: no download, no partial file, no temporary folder.
  assert.equal(filesUnder(cache).filter((f) => !f.startsWith('mobilenet_v2/')), []);

  // The converted model holds the served weights, each paired by its Keras layer name.
  const model = await loadLayersModel(modelJson);
  assert.is(model.layers.length, 156);
  assertClose(await predict(model, x, X_SHAPE), want, { rtol: 0, atol: 1e-6, what: 'converted mobilenet_v2 vs the weights served' });
  model.dispose();

  // A later load reads the cache: no request, no notice, the pinned files checked.
  const again = await stderrOf(() => ensurePretrained('mobilenet_v2', env, '--model', { quiet: true }));
  assert.is(requests, 1, 'no second request');
  assert.is(again, '');

  // A changed cache file is refused, naming it.
  const shard = join(folder, shards[0]!);
  const bytes = readFileSync(shard);
  const last = bytes.length - 1;
  bytes[last] = bytes[last]! ^ 1;
  writeFileSync(shard, bytes);
  await rejects(ensurePretrained('mobilenet_v2', env), UsageError, [/changed since camlight converted it/, new RegExp(shards[0]!.replace('.', '\\.')), /delete .*mobilenet_v2 to download/], 'changed shard');
  bytes[last] = bytes[last]! ^ 1;
  writeFileSync(shard, bytes);
  await ensurePretrained('mobilenet_v2', env);
});

for (const [i, [what, hashes, re]] of ([
  ['neither a hash nor "unverified"', {}, /model "nohash": give the file's "md5" or "sha256" \(or, only where its publisher gives no hash, "unverified": "<why>"\)/],
  ['an empty "unverified"', { unverified: ' ' }, /"unverified" must say why the file has no published hash/],
  ['both a hash and "unverified"', { md5: '0'.repeat(32), unverified: 'none published' }, /give a hash \("md5" or "sha256"\) or "unverified", not both/],
] as const).entries()) {
  s(`a manifest entry with ${what} is refused before any download`, async () => {
    const path = join(dir, `bad-${i}.json`);
    writeFileSync(path, JSON.stringify({
      models: { nohash: { arch: 'mobilenet_v2', url: `${base}/mirror/${FILE}`, ...hashes, match: 'name', preprocess: 'tf', inputSize: [224, 224], camLayer: 'out_relu' } },
    }));
    const before = requests;
    await rejects(pretrainedModels({ CAMLIGHT_MODELS: path }), UsageError, [re, new RegExp(path.replace(/[.]/g, '\\.'))], what);
    await rejects(ensurePretrained('nohash', { ...process.env, CAMLIGHT_MODELS: path, CAMLIGHT_CACHE: join(dir, 'cache-bad') }), UsageError, [re], what);
    assert.is(requests, before, 'no request');
    assert.equal(filesUnder(join(dir, 'cache-bad')), []);
  });
}

s.run();
