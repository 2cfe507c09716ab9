// Small ONNX graphs written here with protobufjs (the official schema), covering the op set and
// the attributes PyTorch's exports rarely combine (strided convs with PyTorch's symmetric pads,
// asymmetric pads, grouped and depthwise convs, ceil_mode max pooling, count_include_pad average
// pooling, a channel shuffle, Split, squeeze-excitation, Flatten of a 4×4 map into Gemm, a Shape
// chain folded into Reshape), against onnxruntime-node on the CPU; then the load errors: a
// truncated file, bytes that are not ONNX, unsupported ops (one message listing all of them).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ort from 'onnxruntime-node';
import { loadOnnxModel, OnnxLoadError } from '../../src/nn/onnx/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import protobuf from 'protobufjs';
import { memoryFiles } from '../../src/io/files.ts';
import { ONNX_PROTO } from '../../src/nn/onnx/onnx-proto.ts';
import { gpu, randn } from '../helpers.ts';
import { addScalar, Builder } from './onnx-builder.ts';
import { compare } from './onnx-helpers.ts';

const s = suite('nn/onnx-ops');
s.before(async () => { await gpu(); });

/** A CNN touching every translated op; input (1,4,16,16), 10 classes. */
function opZoo(): Uint8Array {
  const b = new Builder();
  let x = b.conv('input', 4, 8, 3, { strides: [2, 2], pads: [1, 1, 1, 1] });          // 8×8, PyTorch pads ≠ TF 'same'
  x = b.one('Clip', [b.bn(x, 8), b.weight([], 0), '']);                                 // ReLU as Clip(min 0)
  x = b.one('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 });   // 8 → 4 with a partial window
  x = b.conv(x, 8, 8, 2, { group: 2, pads: [0, 1, 1, 0] });                             // grouped, asymmetric: 4×4
  x = b.one('HardSwish', [x]);
  // Channel shuffle through a folded Shape chain: Shape → Gather → Unsqueeze → Concat → Reshape.
  const n = b.one('Unsqueeze', [b.one('Gather', [b.one('Shape', [x]), b.intScalar(0)]), b.ints([0])]);
  const shape5 = b.one('Concat', [n, b.ints([2, 4, 4, 4])], { axis: 0 });
  x = b.one('Reshape', [b.one('Transpose', [b.one('Reshape', [x, shape5])], { perm: [0, 2, 1, 3, 4] }), b.ints([1, 8, 4, 4])]);
  const [l, r] = b.node('Split', [x, b.ints([4, 4])], { axis: 1 }, 2) as [string, string];
  // Squeeze-excitation on one half: x · hardsigmoid(conv(relu(conv(mean(x))))).
  const se = b.one('ReduceMean', [l], { axes: [2, 3], keepdims: 1 });
  const gate = b.one('HardSigmoid', [b.conv(b.one('Relu', [b.conv(se, 4, 2, 1)]), 2, 4, 1)], { alpha: 1 / 6, beta: 0.5 });
  const left = b.one('Mul', [l, gate]);
  let y = b.conv(r, 4, 4, 3, { group: 4, pads: [1, 1, 1, 1] });                       // depthwise, 'same'
  y = b.one('Mul', [y, b.one('Sigmoid', [y])]);                                        // SiLU
  y = b.one('Sub', [b.one('Div', [y, addScalar(b, 2)]), addScalar(b, 0.25)]);
  x = b.one('Concat', [left, y], { axis: 1 });
  x = b.one('AveragePool', [b.one('Pad', [x, b.ints([0, 0, 1, 0, 0, 0, 0, 1])])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], count_include_pad: 1 });
  x = b.one('Flatten', [x], { axis: 1 });                                               // (1, 8·5·5): rows permuted for NHWC
  x = b.one('Gemm', [x, b.weight([10, 200]), b.weight([10], 0.1)], { transB: 1 });
  x = b.one('Softmax', [x], { axis: 1 });
  return b.bytes([1, 4, 16, 16], x, [1, 10]);
}

async function ortRun(bytes: Uint8Array, x: Float32Array, dims: number[]): Promise<Float32Array> {
  const sess = await ort.InferenceSession.create(bytes);
  const r = await sess.run({ input: new ort.Tensor('float32', x, dims) });
  const out = r[sess.outputNames[0]!]!.data as Float32Array;
  await sess.release();
  return out;
}

s('a graph with every translated op predicts like onnxruntime (atol 1e-5 on softmax)', async () => {
  const bytes = opZoo();
  const x = randn(4 * 16 * 16, 77, -2, 2);
  const want = await ortRun(bytes, x, [1, 4, 16, 16]);
  console.log('    onnxruntime softmax:', Array.from(want, (v) => v.toFixed(3)).join(' '));
  const model = await loadOnnxModel(bytes, { name: 'op-zoo.onnx' });
  const nhwc = new Float32Array(x.length);
  for (let c = 0; c < 4; c++) for (let p = 0; p < 256; p++) nhwc[p * 4 + c] = x[c * 256 + p]!;
  const y = model.predict(upload(nhwc, [1, 16, 16, 4]));
  const d = compare(await y.data(), want);
  console.log(`    op zoo: ${model.layers.length} layers, max abs ${d.maxAbs.toExponential(2)} vs onnxruntime`);
  assert.ok(d.maxAbs <= 1e-5, `max abs difference ${d.maxAbs}`);
  const classes = new Set(model.layers.map((l) => l.className));
  for (const c of ['PaddedMaxPool', 'ChannelShuffle', 'ChannelSlice', 'HardSwish', 'HardSigmoid', 'Broadcast', 'DepthwiseConv2D', 'ZeroPadding2D', 'Rescaling']) {
    assert.ok(classes.has(c), `the graph exercises ${c}`);
  }
  model.dispose();
});

const firstLine = (e: unknown) => (e as Error).message.split('\n').length === 1;

s('a truncated or non-ONNX file fails at load with one line naming the file', async () => {
  const bytes = opZoo();
  for (const [what, b] of [['truncated', bytes.slice(0, Math.floor(bytes.length * 0.6))], ['text', new TextEncoder().encode('{"format": "layers-model"}')], ['empty', new Uint8Array(0)]] as const) {
    try {
      await loadOnnxModel(b, { name: `${what}.onnx` });
      assert.unreachable(`${what} loaded`);
    } catch (e) {
      assert.instance(e, OnnxLoadError, `${what}: ${(e as Error).message}`);
      assert.ok((e as Error).message.startsWith(`${what}.onnx`), (e as Error).message);
      assert.ok(firstLine(e), 'one line');
    }
  }
});

s('unsupported ops fail at load with one line listing every op type and its nodes', async () => {
  const b = new Builder();
  let x = b.conv('input', 3, 4, 3);
  x = b.one('LayerNormalization', [x, b.positive([4]), b.weight([4], 0.1)], { axis: -1 });
  x = b.one('Erf', [x]);
  x = b.one('Erf', [x]);
  x = b.one('GlobalAveragePool', [x]);
  const bytes = b.bytes([1, 3, 8, 8], x, [1, 4, 1, 1]);
  try {
    await loadOnnxModel(bytes, { name: 'vit.onnx' });
    assert.unreachable('loaded');
  } catch (e) {
    const m = (e as Error).message;
    assert.instance(e, OnnxLoadError);
    assert.ok(firstLine(e));
    assert.match(m, /^vit\.onnx: unsupported ONNX ops: LayerNormalization \(\/blk\d+\/LayerNormalization\); Erf \(\/blk\d+\/Erf, \/blk\d+\/Erf\)/);
  }
  // Control: the same graph without them loads.
  const ok = new Builder();
  const y = ok.one('GlobalAveragePool', [ok.conv('input', 3, 4, 3)]);
  (await loadOnnxModel(ok.bytes([1, 3, 8, 8], y, [1, 4, 1, 1]))).dispose();
});

s('an unsupported use of a supported op is reported with its node at load', async () => {
  const b = new Builder();
  const x = b.one('Clip', [b.conv('input', 3, 4, 3), addScalar(b, -1), addScalar(b, 1)]);
  try {
    await loadOnnxModel(b.bytes([1, 3, 8, 8], x, [1, 4, 6, 6]), { name: 'clip.onnx' });
    assert.unreachable('loaded');
  } catch (e) {
    assert.instance(e, OnnxLoadError);
    assert.ok(firstLine(e));
    assert.match((e as Error).message, /Clip '\/blk\d+\/Clip': Clip to \[-1, 1\] is not supported/);
  }
});

s('external-data initializers are read next to the .onnx file (same logits as inline; missing file named)', async () => {
  const inline = opZoo();
  // The same model with every float initializer moved into weights.bin (offset/length entries).
  const T = protobuf.parse(ONNX_PROTO, { keepCase: true }).root.lookupType('onnx.ModelProto');
  const m = T.toObject(T.decode(inline)) as { graph: { initializer: Record<string, unknown>[] } };
  const chunks: Uint8Array[] = [];
  let offset = 0;
  for (const t of m.graph.initializer) {
    if (t.data_type !== 1) continue;
    const raw = t.raw_data as Uint8Array;
    chunks.push(raw);
    t.external_data = [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: String(offset) }, { key: 'length', value: String(raw.length) }];
    t.data_location = 1;
    delete t.raw_data;
    offset += raw.length;
  }
  const bin = new Uint8Array(offset);
  chunks.reduce((o, c) => (bin.set(c, o), o + c.length), 0);
  const external = T.encode(T.fromObject(m)).finish();
  assert.ok(external.length < inline.length / 2, 'the weights left the .onnx file');
  const x = upload(randn(4 * 16 * 16, 78, -2, 2), [1, 16, 16, 4]);
  const a = await loadOnnxModel(inline);
  const b = await loadOnnxModel({ source: memoryFiles({ 'm/model.onnx': external, 'm/weights.bin': bin }), path: 'm/model.onnx' });
  const d = compare(await b.predict(x).data(), await a.predict(x).data());
  assert.is(d.maxAbs, 0, 'external and inline weights give identical outputs');
  a.dispose();
  b.dispose();
  try {
    await loadOnnxModel({ source: memoryFiles({ 'm/model.onnx': external }), path: 'm/model.onnx' });
    assert.unreachable('loaded without weights.bin');
  } catch (e) {
    assert.instance(e, OnnxLoadError);
    assert.match((e as Error).message, /external-data file 'weights\.bin'.* is missing/);
  }
});

s.run();
