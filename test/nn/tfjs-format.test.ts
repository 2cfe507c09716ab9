// The TensorFlow.js layers format on its own (no model): float16 decoding for every bit
// pattern, weight decoding against tfjs-core's decodeWeights, shards split across weights and
// groups, name matching, and the errors for missing/short shards, unknown dtypes and graph models.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryFiles } from '../../src/io/files.ts';
import { ModelLoadError } from '../../src/nn/loaders/errors.ts';
import { float32ToHalf, halfToFloat32 } from '../../src/nn/loaders/half.ts';
import { matchManifest } from '../../src/nn/loaders/match.ts';
import { decodeWeightGroup, parseModelJson, readModelJson, readWeights, type ManifestEntry } from '../../src/nn/loaders/tfjs-format.ts';
import { dequantize, halfValue, quantizeAffine } from './loader-fixtures.ts';
import { randn, tf } from '../helpers.ts';

const s = suite('nn/tfjs-format');

async function rejects(p: Promise<unknown> | (() => unknown), re: RegExp[], what: string): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    assert.instance(e, ModelLoadError, `${what}: ${String(e)}`);
    for (const r of re) assert.match((e as Error).message, r, `${what}: message '${(e as Error).message}' lacks ${r}`);
    return e as Error;
  }
  throw new Error(`${what}: expected an error`);
}

s('halfToFloat32 decodes all 65536 patterns like the IEEE formula and tfjs-core', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const got = halfToFloat32(all);
  const tfRef = tf.io.decodeWeights(all.buffer, [{ name: 'h', shape: [65536], dtype: 'float32', quantization: { dtype: 'float16' } }]).h!;
  const want = tfRef.dataSync();
  tfRef.dispose();
  for (let i = 0; i < 65536; i++) {
    const f = halfValue(i);
    if (Number.isNaN(f)) {
      assert.ok(Number.isNaN(got[i]!), `0x${i.toString(16)} should be NaN`);
      continue;
    }
    assert.ok(Object.is(got[i], f), `0x${i.toString(16)}: got ${got[i]}, formula ${f}`);
    assert.ok(Object.is(got[i], want[i]) || (got[i] === 0 && want[i] === 0), `0x${i.toString(16)}: got ${got[i]}, tfjs ${want[i]}`);
  }
  // Spot checks: smallest subnormal, largest subnormal, largest normal, infinities, -0.
  assert.equal([...halfToFloat32(Uint16Array.of(0x0001, 0x03ff, 0x7bff, 0x7c00, 0xfc00))], [2 ** -24, 1023 * 2 ** -24, 65504, Infinity, -Infinity]);
  assert.ok(Object.is(halfToFloat32(Uint16Array.of(0x8000))[0], -0));
});

s('float32ToHalf inverts halfToFloat32 and rounds to nearest even', () => {
  const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
  const back = float32ToHalf(halfToFloat32(all));
  for (let i = 0; i < 65536; i++) {
    if (Number.isNaN(halfValue(i))) assert.ok(Number.isNaN(halfValue(back[i]!)));
    else assert.is(back[i], i, `0x${i.toString(16)}`);
  }
  const cases: [number, number][] = [
    [1 + 2 ** -11, 0x3c00], // tie: to even
    [1 + 3 * 2 ** -11, 0x3c02], // tie: to even (up)
    [65519, 0x7bff],
    [65520, 0x7c00], // rounds to inf
    [2 ** -25, 0x0000], // tie between 0 and the smallest subnormal: to even
    [3 * 2 ** -25, 0x0002],
    [-2.5, 0xc100],
  ];
  for (const [x, h] of cases) assert.is(float32ToHalf([x])[0], h, `${x}`);
});

/** Bytes and entries for a mixed group: float32, uint8 (odd size), int32, uint16, float16, bool. */
function mixedGroup(): { entries: ManifestEntry[]; bytes: Uint8Array } {
  const f32 = randn(6, 1);
  const q8 = quantizeAffine(randn(5, 2), 'uint8');
  const i32 = Int32Array.of(-3, 7, 100000);
  const q16 = quantizeAffine(randn(7, 3, 0.2, 0.9), 'uint16');
  const h = float32ToHalf(randn(4, 4));
  const b = Uint8Array.of(1, 0, 1);
  const entries: ManifestEntry[] = [
    { name: 'a/kernel', shape: [2, 3], dtype: 'float32' },
    { name: 'b/kernel', shape: [5], dtype: 'float32', quantization: { dtype: 'uint8', scale: q8.scale, min: q8.min } },
    { name: 'c/count', shape: [3], dtype: 'int32' },
    { name: 'd/kernel', shape: [7, 1], dtype: 'float32', quantization: { dtype: 'uint16', scale: q16.scale, min: q16.min } },
    { name: 'e/kernel', shape: [2, 2], dtype: 'float32', quantization: { dtype: 'float16' } },
    { name: 'f/mask', shape: [3], dtype: 'bool' },
  ];
  const parts = [new Uint8Array(f32.buffer), new Uint8Array(q8.q.buffer), new Uint8Array(i32.buffer), new Uint8Array(q16.q.buffer), new Uint8Array(h.buffer), b];
  const bytes = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    bytes.set(p, o);
    o += p.length;
  }
  return { entries, bytes };
}

s('decodeWeightGroup agrees with tfjs-core decodeWeights for every dtype, at unaligned offsets', () => {
  const { entries, bytes } = mixedGroup();
  const got = decodeWeightGroup({ paths: [], weights: entries }, bytes, 'model.json');
  const want = tf.io.decodeWeights(bytes.slice().buffer, entries as tf.io.WeightsManifestEntry[]);
  for (const e of entries) {
    const w = got.get(e.name)!;
    assert.equal(w.shape, e.shape, e.name);
    assert.equal([...w.data], [...want[e.name]!.dataSync()].map(Number), e.name);
    want[e.name]!.dispose();
  }
});

s('the quantiser fixture follows the converter: zero exact, error at most scale/2', () => {
  for (const dtype of ['uint8', 'uint16'] as const) {
    const x = randn(1000, 7, -0.3, 0.8);
    x[10] = 0;
    const { q, scale, min } = quantizeAffine(x, dtype);
    const back = dequantize(q, scale, min);
    assert.is(back[10], 0, `${dtype}: zero is exact`);
    for (let i = 0; i < x.length; i++) assert.ok(Math.abs(back[i]! - x[i]!) <= scale / 2 + 1e-7, `${dtype} ${i}`);
  }
  const c = quantizeAffine(Float32Array.of(0.25, 0.25), 'uint8');
  assert.equal([...dequantize(c.q, c.scale, c.min)], [0.25, 0.25]);
});

s('readWeights concatenates shards in order, weights spanning shards, over several groups', async () => {
  const { entries, bytes } = mixedGroup();
  const files: Record<string, Uint8Array> = {};
  const paths: string[] = [];
  for (let i = 0, k = 0; i < bytes.length; i += 10, k++) {
    const p = `shards/group1-shard${k + 1}.bin`;
    paths.push(p.replace('shards/', ''));
    files[`m/shards/${p.replace('shards/', '')}`] = bytes.slice(i, i + 10);
  }
  const g2 = new Float32Array([1.5, -2]);
  files['m/shards/group2-shard1of1.bin'] = new Uint8Array(g2.buffer);
  const manifest = [
    { paths: paths.map((p) => `shards/${p}`), weights: entries },
    { paths: ['./shards/group2-shard1of1.bin'], weights: [{ name: 'g/bias', shape: [2], dtype: 'float32' }] },
  ];
  const got = await readWeights(memoryFiles(files), 'm/model.json', manifest);
  const whole = decodeWeightGroup({ paths: [], weights: entries }, bytes, 'x');
  for (const e of entries) assert.equal([...got.get(e.name)!.data], [...whole.get(e.name)!.data], e.name);
  assert.equal([...got.get('g/bias')!.data], [1.5, -2]);
});

s('a missing shard names the shard file and model.json', async () => {
  const files = memoryFiles({ 'dir/group1-shard1of2.bin': new Uint8Array(8) });
  const manifest = [{ paths: ['group1-shard1of2.bin', 'group1-shard2of2.bin'], weights: [{ name: 'w', shape: [3], dtype: 'float32' }] }];
  await rejects(readWeights(files, 'dir/model.json', manifest), [/group1-shard2of2\.bin/, /memory:dir\/model\.json/, /missing/], 'missing shard');
});

s('a short shard names the shard, the expected and the actual bytes', async () => {
  const manifest = [{ paths: ['s1.bin', 's2.bin', 's3.bin'], weights: [{ name: 'w', shape: [25], dtype: 'float32' }] }];
  // Last shard short: 40 + 40 + 12 of 100 bytes.
  const last = memoryFiles({ 's1.bin': new Uint8Array(40), 's2.bin': new Uint8Array(40), 's3.bin': new Uint8Array(12) });
  await rejects(readWeights(last, 'model.json', manifest), [/'s3\.bin'/, /holds 12 bytes/, /should hold 20/, /truncated/], 'short last shard');
  // Middle shard short.
  const mid = memoryFiles({ 's1.bin': new Uint8Array(40), 's2.bin': new Uint8Array(30), 's3.bin': new Uint8Array(20) });
  await rejects(readWeights(mid, 'model.json', manifest), [/'s2\.bin'/, /holds 30 bytes/, /should hold 40/], 'short middle shard');
  // A single shard.
  const one = memoryFiles({ 'only.bin': new Uint8Array(99) });
  await rejects(readWeights(one, 'model.json', [{ paths: ['only.bin'], weights: manifest[0]!.weights }]), [/'only\.bin'/, /99 bytes/, /should hold 100/], 'short single shard');
});

s('an unknown dtype or quantisation is an error naming the weight and what camlight reads', async () => {
  const files = memoryFiles({ 's.bin': new Uint8Array(64) });
  await rejects(readWeights(files, 'model.json', [{ paths: ['s.bin'], weights: [{ name: 'x/k', shape: [2], dtype: 'complex64' }] }]), [/'x\/k'/, /complex64/, /float16/], 'complex64');
  await rejects(readWeights(files, 'model.json', [{ paths: ['s.bin'], weights: [{ name: 'x/k', shape: [2], dtype: 'string' }] }]), [/string/], 'string');
  await rejects(
    readWeights(files, 'model.json', [{ paths: ['s.bin'], weights: [{ name: 'x/q', shape: [2], dtype: 'float32', quantization: { dtype: 'int4' } }] }]),
    [/'x\/q'/, /int4/],
    'int4',
  );
  await rejects(
    // Two uint8 values: a shard of exactly 2 bytes (shards must match the manifest exactly).
    readWeights(memoryFiles({ 's.bin': new Uint8Array(2) }), 'model.json', [{ paths: ['s.bin'], weights: [{ name: 'x/q', shape: [2], dtype: 'float32', quantization: { dtype: 'uint8' } }] }]),
    [/lacks 'scale' and 'min'/],
    'uint8 without scale',
  );
});

s('model.json that is not a layers model says what camlight loads and how to convert', async () => {
  const graph = JSON.stringify({ format: 'graph-model', modelTopology: { node: [], versions: {} }, weightsManifest: [] });
  const e = await rejects(() => parseModelJson(graph, 'web/model.json'), [/web\/model\.json/, /graph model/, /Keras layers models/, /tensorflowjs_converter --input_format keras/], 'graph');
  assert.ok(e.message.length < 600);
  await rejects(() => parseModelJson(JSON.stringify({ modelTopology: { node: [] }, weightsManifest: [] }), 'm.json'), [/graph model/], 'graph without format');
  await rejects(() => parseModelJson('{"format": "layers-model", "modelTopology": {', 'm.json'), [/not valid JSON/], 'bad json');
  await rejects(() => parseModelJson(JSON.stringify({ format: 'layers-model', modelTopology: {} }), 'm.json'), [/weightsManifest/], 'no manifest');
  await rejects(readModelJson(memoryFiles(), 'nowhere/model.json'), [/not found/, /nowhere\/model\.json/], 'missing model.json');
});

s('manifest names match canonical names, with ":0" suffixes and outer prefixes accepted', () => {
  const refs = [
    { name: 'conv/kernel', layer: { name: 'conv' }, weight: 'kernel', shape: [1] },
    { name: 'conv/bias', layer: { name: 'conv' }, weight: 'bias', shape: [1] },
    { name: 'dense/kernel', layer: { name: 'dense' }, weight: 'kernel', shape: [1] },
  ];
  const w = (v: number) => ({ data: Float32Array.of(v), shape: [1] });
  const m = matchManifest(refs, new Map([['conv/kernel:0', w(1)], ['conv/bias', w(2)], ['model/dense/kernel', w(3)]]), 'model.json');
  assert.equal([...m].map(([k, v]) => [k, v.data[0]]), [['conv/kernel', 1], ['conv/bias', 2], ['dense/kernel', 3]]);
  try {
    matchManifest(refs, new Map([['conv/kernel', w(1)], ['conv/bias', w(2)], ['other/kernel', w(3)]]), 'model.json');
    assert.unreachable('should fail');
  } catch (e) {
    assert.instance(e, ModelLoadError);
    assert.match((e as Error).message, /no weights for dense\/kernel/);
    assert.match((e as Error).message, /weights no layer takes: other\/kernel/);
  }
});

s.run();
