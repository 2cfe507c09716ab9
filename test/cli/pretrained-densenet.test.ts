// The committed densenet121 entry end to end without the internet: a local HTTP server serves a
// full-size weights-only .h5 laid out as the Keras file is (tf.keras's '/' layer names, nested
// groups, classifier 'fc1000'), under the entry's own file name; ensurePretrained downloads it,
// pairs it by position as the manifest says, and converts it into the cache, whose model.json
// then holds every weight as served.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ensurePretrained, pretrainedModels, WEIGHTS_DIR } from '../../src/cli/pretrained.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { densenet121 } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { heWeights } from '../nn/he-weights.ts';
import { modelWeightsH5, sameWeights } from '../nn/loader-fixtures.ts';

const s = suite('cli/pretrained-densenet');
let dir = '';
let server: Server | undefined;

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-densenet-'));
});
s.after(async () => {
  if (server) await new Promise<void>((ok) => server!.close(() => ok()));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

s('densenet121 from models.json: a Keras-layout file (fc1000 head) is fetched, paired by position and converted with every weight in place', async () => {
  const entry = (await pretrainedModels({})).get('densenet121')!;
  // The weights do not depend on the input size (global average pooling), so a 32×32 model makes
  // the 8,062,504 parameters of the 224×224 one the manifest builds.
  const src = densenet121({ inputShape: [32, 32, 3] });
  src.setWeights(heWeights(src, 21));
  const want = await src.readWeights();
  const h5 = await modelWeightsH5(src, { predictions: 'fc1000' });
  src.dispose();

  const file = basename(new URL(entry.url).pathname);
  let requests = 0;
  server = createServer((req, res) => {
    if (req.url !== `/keras/${file}`) return void res.writeHead(404).end();
    requests++;
    res.writeHead(200, { 'content-length': String(h5.length), 'content-type': 'application/octet-stream' }).end(h5);
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The committed entry as it is (arch, match, preset, CAM layer), with the local URL and this file's MD5.
  copyFileSync(join(WEIGHTS_DIR, entry.labels!), join(dir, 'labels.txt'));
  const { dir: _dir, ...committed } = entry;
  writeFileSync(join(dir, 'models.json'), JSON.stringify({
    models: { densenet121_local: { ...committed, url: `${base}/keras/${file}`, md5: createHash('md5').update(h5).digest('hex'), labels: 'labels.txt' } },
  }));
  const cache = join(dir, 'cache');
  const env = { ...process.env, CAMLIGHT_MODELS: join(dir, 'models.json'), CAMLIGHT_CACHE: cache, CAMLIGHT_WEIGHTS_URL: '' };
  const { modelJson, entry: used } = await ensurePretrained('densenet121_local', env, '--model', { quiet: true });
  assert.is(requests, 1);
  assert.equal([used.match, used.preprocess, used.camLayer], ['order', 'torch', 'relu']);
  assert.equal(readdirSync(join(cache, 'downloads')), [], 'the .h5 is gone once converted');

  const json = JSON.parse(readFileSync(modelJson, 'utf8')) as { weightsManifest: { paths: string[]; weights: { name: string }[] }[] };
  assert.ok(json.weightsManifest[0]!.paths.length > 1, 'several 4 MiB shards');
  assert.ok(json.weightsManifest[0]!.weights.some((w) => w.name === 'conv1/conv/kernel'));
  assert.is(JSON.parse(readFileSync(join(cache, 'densenet121_local', 'camlight.json'), 'utf8')).preprocess, 'torch');
  const m = await loadLayersModel(modelJson);
  assert.equal(m.inputShape, [null, 224, 224, 3]);
  await sameWeights(m, want, 'cached densenet121');
  m.dispose();
});

s.run();
