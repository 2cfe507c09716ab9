// The layers added for ONNX models (HardSigmoid, HardSwish, Broadcast, ChannelSlice,
// ChannelShuffle, PaddedMaxPool): values and input gradients through the tape against the same
// math on tfjs's CPU backend with tf.grads (fp32, rtol/atol 1e-4).
import { suite } from 'uvu';
import { ChannelShuffle, ChannelSlice, Broadcast, HardSigmoid, HardSwish, PaddedMaxPool } from '../../src/nn/onnx/layers.ts';
import type { StoredLayer } from '../../src/nn/layers/layer.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('nn/onnx-layers');
s.before(async () => { await gpu(); });

let seed = 500;
async function check(what: string, layer: StoredLayer, shapes: number[][], theirs: (...xs: tf.Tensor[]) => tf.Tensor, lo = -4, hi = 4): Promise<void> {
  const data = shapes.map((sh) => randn(sh.reduce((a, b) => a * b, 1), seed++, lo, hi));
  const tins = data.map((d, i) => tf.tensor(d, shapes[i]!));
  const outShape = theirs(...tins).shape;
  const dy = randn(outShape.reduce((a, b) => a * b, 1), seed++);
  const gins = data.map((d, i) => upload(d, shapes[i]!));
  // The layer's own shape rule must agree with the reference's output shape.
  assertClose(Float32Array.from(layer.outputShape(shapes).map((d) => d ?? -1)), Float32Array.from(outShape), { rtol: 0, atol: 0, what: `${what}: shape` });
  const r = valueAndGrad(() => layer.call(gins, { training: false }), gins, upload(dy, outShape));
  const want = tf.grads((...xs: tf.Tensor[]) => theirs(...xs))(tins, tf.tensor(dy, outShape));
  assertClose(await r.value.data(), ref(theirs(...tins)), { rtol: 1e-4, atol: 1e-4, what: `${what}: value` });
  for (let i = 0; i < gins.length; i++) assertClose(await r.grads[i]!.data(), ref(want[i]!), { rtol: 1e-4, atol: 1e-4, what: `${what}: d input ${i}` });
}

s('HardSigmoid max(0, min(1, αx + β)) and HardSwish x·relu6(x + 3)/6 (Howard et al. 2019, Eq. 2)', async () => {
  await check('hardsigmoid torch', new HardSigmoid({ name: 'hs', alpha: 1 / 6, beta: 0.5 }), [[2, 5, 5, 7]],
    (x) => tf.clipByValue(tf.add(tf.mul(x, 1 / 6), 0.5), 0, 1));
  await check('hardsigmoid onnx default', new HardSigmoid({ name: 'hs2' }), [[3, 11]],
    (x) => tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1));
  await check('hardswish', new HardSwish({ name: 'hw' }), [[2, 6, 6, 5]], (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)));
});

s('Broadcast add/sub/mul/div of (N,H,W,C) with (N,1,1,C) (squeeze-excitation gates)', async () => {
  for (const op of ['add', 'sub', 'mul', 'div'] as const) {
    const f = { add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div }[op];
    // Divisors kept away from 0 by shifting b: the layer sees the same values.
    await check(`broadcast ${op}`, new Broadcast({ name: `b_${op}`, op }), [[2, 4, 5, 6], [2, 1, 1, 6]], (a, b) => f(a, b), op === 'div' ? 1 : -4, 4);
  }
});

s('ChannelSlice and ChannelShuffle (ShuffleNet, Zhang et al. 2018, Sec. 3.1) as reshape/transpose', async () => {
  await check('slice', new ChannelSlice({ name: 'sl', begin: 3, size: 5 }), [[2, 4, 3, 10]], (x) => tf.slice(x, [0, 0, 0, 3], [-1, -1, -1, 5]));
  for (const g of [2, 3]) {
    await check(`shuffle g=${g}`, new ChannelShuffle({ name: `sh${g}`, groups: g }), [[2, 3, 5, 12]],
      // NCHW's view (N,g,C/g,H,W) → transpose → (N,C,H,W) is, on NHWC, (…,g,C/g) → (…,C/g,g).
      (x) => tf.reshape(tf.transpose(tf.reshape(x, [2, 3, 5, g, 12 / g]), [0, 1, 2, 4, 3]), [2, 3, 5, 12]));
  }
});

s('PaddedMaxPool: asymmetric and ceil_mode padding never wins a window', async () => {
  const cases: [number[], [number, number], [number, number], [[number, number], [number, number]]][] = [
    [[2, 8, 8, 3], [3, 3], [2, 2], [[1, 1], [1, 1]]],
    [[1, 8, 7, 4], [3, 3], [2, 2], [[0, 1], [1, 2]]],
    [[2, 9, 9, 2], [2, 2], [2, 2], [[0, 1], [0, 1]]],
  ];
  for (const [shape, k, st, pads] of cases) {
    await check(`maxpool ${k} s${st} pads ${JSON.stringify(pads)}`, new PaddedMaxPool({ name: 'mp', pool_size: k, strides: st, pads }), [shape],
      (x) => tf.maxPool(tf.pad(x, [[0, 0], pads[0], pads[1], [0, 0]], -1e30) as tf.Tensor4D, k, st, 'valid'), -4, -1);
  }
});

s.run();
