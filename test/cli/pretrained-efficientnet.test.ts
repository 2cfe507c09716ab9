// The named-model path for efficientnet_b0 without the internet, at its real size: a local HTTP
// server serves a weights-only .h5 in the layout of Keras's efficientnetb0.h5 (every layer of the
// 224×224 model, seeded weights, normalization/count as int64), registered through CAMLIGHT_MODELS
// with arch efficientnet_b0; ensurePretrained downloads it, checks its MD5, pairs all 314 weights
// by layer name into the zoo builder and writes the TensorFlow.js-format copy, which reloads with
// the served values.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePretrained } from '../../src/cli/pretrained.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { efficientnetB0 } from '../../src/nn/zoo/index.ts';
import { gpu, randn } from '../helpers.ts';
import { kerasH5, type H5LayerSpec } from '../nn/loader-fixtures.ts';

const s = suite('cli/pretrained-efficientnet');
let dir = '';
let server: Server;
let requests = 0;
const served = new Map<string, Float32Array>();

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-effnet-'));
  // Host-side values only (the builder allocates nothing): Keras's layer order, weightless layers
  // listed with no weights, as save_weights writes them.
  const m = efficientnetB0();
  const layers: H5LayerSpec[] = m.layers.map((l) => ({ name: l.name, weights: [] }));
  m.weightList().forEach((w, i) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    const data = w.weight === 'count' ? Float32Array.of(1_281_167) : w.weight.endsWith('variance') ? randn(n, i, 0.5, 1.5) : randn(n, i, -0.1, 0.1);
    served.set(w.name, data);
    layers.find((l) => l.name === w.layer.name)!.weights.push({ name: `${w.name}:0`, data, shape: w.shape, int64: w.weight === 'count' });
  });
  const h5 = await kerasH5(layers);
  server = createServer((req, res) => {
    if (req.url === '/keras-applications/efficientnetb0.h5') {
      requests++;
      res.writeHead(200, { 'content-length': String(h5.length), 'content-type': 'application/octet-stream' }).end(h5);
    } else res.writeHead(404).end();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/keras-applications/efficientnetb0.h5`;
  const committed = JSON.parse(readFileSync(new URL('../../weights/models.json', import.meta.url), 'utf8')).models.efficientnet_b0;
  // The committed entry with this server's URL and this file's hash.
  writeFileSync(join(dir, 'models.json'), JSON.stringify({
    models: { effnet_local: { ...committed, url, md5: createHash('md5').update(h5).digest('hex'), labels: undefined } },
  }));
});
s.after(async () => {
  await new Promise<void>((ok) => server.close(() => ok()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

s('efficientnet_b0 by name: downloaded, hash-checked, paired by layer name at 224×224, converted, reloaded with the served weights', async () => {
  const env = { ...process.env, CAMLIGHT_MODELS: join(dir, 'models.json'), CAMLIGHT_CACHE: join(dir, 'cache'), CAMLIGHT_WEIGHTS_URL: '' };
  const { modelJson, entry } = await ensurePretrained('effnet_local', env, '--model', { quiet: true });
  assert.equal([entry.arch, entry.preprocess, entry.camLayer], ['efficientnet_b0', 'none', 'top_activation']);
  assert.is(requests, 1);
  assert.is(JSON.parse(readFileSync(join(dir, 'cache/effnet_local/camlight.json'), 'utf8')).preprocess, 'none');
  const m = await loadLayersModel(modelJson);
  assert.is(m.layers.length, 241);
  assert.equal(m.layerOutputShape('top_activation'), [null, 7, 7, 1280]);
  const got = await m.readWeights();
  assert.is(got.size, 314);
  for (const [name, want] of served) assert.equal(Array.from(got.get(name)!.data), Array.from(want), name);
  m.dispose();
  await ensurePretrained('effnet_local', env, '--model', { quiet: true });
  assert.is(requests, 1, 'the second use reads the cache');
});

s.run();
