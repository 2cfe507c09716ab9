// Issue 15 at the loaders: shards must be exactly the size the manifest implies (inserted bytes
// used to shift every later weight), shard paths stay inside the model's folder, NaN/Inf in
// weights is an error naming the weight, malformed manifest entries give messages, not JS text.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryFiles } from '../../src/io/files.ts';
import { loadLayersModel, ModelLoadError, readWeights, saveLayersModel } from '../../src/nn/loaders/index.ts';
import { parseModelJson } from '../../src/nn/loaders/tfjs-format.ts';
import { fashionCnn } from '../../src/nn/zoo/index.ts';
import { gpu } from '../helpers.ts';
import { input, predict, rejects } from './loader-fixtures.ts';

const s = suite('nn/loaders-robust');
let dir = '';
let modelJson: { weightsManifest: { paths: string[]; weights: { name: string; shape: number[] }[] }[] } & Record<string, unknown>;
let shard: Uint8Array = new Uint8Array();
let want: Float32Array = new Float32Array();
const x = input([1, 28, 28, 1], 5);

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-loaders-robust-'));
  const m = fashionCnn();
  m.initWeights(7);
  await saveLayersModel(m, join(dir, 'ok'));
  want = await predict(m, x, [1, 28, 28, 1]);
  m.dispose();
  modelJson = JSON.parse(readFileSync(join(dir, 'ok/model.json'), 'utf8'));
  assert.is(modelJson.weightsManifest[0]!.paths.length, 1, 'fixture: one shard');
  shard = new Uint8Array(readFileSync(join(dir, 'ok', modelJson.weightsManifest[0]!.paths[0]!)));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

/** A copy of the model folder with model.json changed by `edit` and the shard replaced. */
function variant(name: string, edit: (j: typeof modelJson) => void, bytes = shard): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  const j = structuredClone(modelJson);
  edit(j);
  writeFileSync(join(d, 'model.json'), JSON.stringify(j));
  writeFileSync(join(d, modelJson.weightsManifest[0]!.paths[0]!), bytes);
  return join(d, 'model.json');
}

s('control: the saved model loads and predicts as before', async () => {
  const m = await loadLayersModel(join(dir, 'ok/model.json'));
  const got = await predict(m, x, [1, 28, 28, 1]);
  m.dispose();
  assert.equal(Array.from(got), Array.from(want));
});

s('a shard longer than its manifest is refused: bytes inserted anywhere (21 of 21 used to load)', async () => {
  for (const [k, at] of [0, 1, 4, 100, shard.length >> 1, shard.length - 1, shard.length].entries()) {
    const longer = new Uint8Array(shard.length + 4);
    longer.set(shard.subarray(0, at), 0);
    longer.set(shard.subarray(at), at + 4);
    const p = variant(`ins${k}`, () => {}, longer);
    await rejects(loadLayersModel(p), ModelLoadError, [/holds \d+ bytes/, new RegExp(`${shard.length}`), /download or copy it again/], `insert at ${at}`);
  }
  // Memory sources too, with the byte counts in the message.
  const files = memoryFiles({ 's.bin': new Uint8Array(12) });
  await rejects(readWeights(files, 'model.json', [{ paths: ['s.bin'], weights: [{ name: 'a/k', shape: [2], dtype: 'float32' }] }]), ModelLoadError, [/'s\.bin'/, /12 bytes, more than all 8/], 'memory');
  // Two shards whose sum is 4 bytes over: named with both counts.
  const two = memoryFiles({ 'a.bin': new Uint8Array(8), 'b.bin': new Uint8Array(8) });
  await rejects(readWeights(two, 'model.json', [{ paths: ['a.bin', 'b.bin'], weights: [{ name: 'a/k', shape: [3], dtype: 'float32' }] }]), ModelLoadError, [/hold 16 bytes but the manifest's weights take exactly 12/], 'two shards');
});

s('shard paths outside the model folder are refused before reading, revealing nothing of the file', async () => {
  mkdirSync(join(dir, 'outside'), { recursive: true });
  writeFileSync(join(dir, 'outside/secret.bin'), shard);
  const passwd = statSync('/etc/passwd').size;
  for (const [name, path] of [['up', '../outside/secret.bin'], ['abs', '/etc/passwd'], ['url', 'file:///etc/passwd']] as const) {
    const p = variant(`conf-${name}`, (j) => { j.weightsManifest[0]!.paths = [path]; });
    const e = await rejects(loadLayersModel(p), Error, [/weight shard path/, /a model may only name files inside its own folder/], name);
    assert.not.match(e.message, new RegExp(`\\b${passwd}\\b`), 'the size of /etc/passwd does not appear');
  }
});

s('NaN or Inf in a weight is an error naming the weight and the index (it used to give "prob": null)', async () => {
  const first = modelJson.weightsManifest[0]!.weights[0]!;
  for (const [k, v] of [NaN, Infinity, -Infinity].entries()) {
    const bad = shard.slice();
    new DataView(bad.buffer).setFloat32(4 * 3, v, true);
    const p = variant(`nan${k}`, () => {}, bad);
    await rejects(loadLayersModel(p), ModelLoadError, [new RegExp(`weight '${first.name}' holds ${v} at index 3`), /another copy or checkpoint/], String(v));
  }
});

s('malformed manifest entries are messages naming the entry (not "e.shape.reduce is not a function")', () => {
  const j = (w: unknown) => JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['s.bin'], weights: [w] }] });
  const cases: [unknown, RegExp][] = [
    [{ name: 'a', shape: 'oops', dtype: 'float32' }, /weights\[0\] \('a'\): 'shape' must be a list of non-negative integers/],
    [{ name: 'a', shape: [-2, 3], dtype: 'float32' }, /'shape' must be a list of non-negative integers, got \[-2,3\]/],
    [{ name: 7, shape: [2], dtype: 'float32' }, /'name' must be a string/],
    [{ name: 'a', shape: [2], dtype: 5 }, /'dtype' must be a string/],
    [{ name: 'a', shape: [2], dtype: 'float32', quantization: 3 }, /'quantization' must be an object/],
    ['str', /is not an object with name, shape and dtype/],
    [{ name: 'a', shape: [65536, 65536], dtype: 'float32' }, /holds more than 2\^31 values/],
  ];
  for (const [w, re] of cases) assert.throws(() => parseModelJson(j(w), 'm/model.json'), (e: Error) => e instanceof ModelLoadError && re.test(e.message) && e.message.startsWith('m/model.json'), JSON.stringify(w));
  // Control: a well-formed entry parses.
  parseModelJson(j({ name: 'a', shape: [2], dtype: 'float32' }), 'm/model.json');
});

s('a topology with fields of the wrong type names the file, not the JavaScript error', async () => {
  const p = variant('topo', (j) => {
    const t = j.modelTopology as { config: { layers: { config: Record<string, unknown> }[] } };
    t.config.layers[1]!.config.name = 12345 as unknown as string;
  });
  const e = await rejects(loadLayersModel(p), Error, [/model\.json/], 'bad name type');
  assert.not.match(e.message, /is not a function|Cannot read properties|undefined/);
});

s.run();
