// Gradients of the differentiable ops, through the tape, against tf.grads on the CPU backend
// with the same random inputs and upstream gradients (fp32, rtol 1e-4 unless stated).
import { suite } from 'uvu';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import type { Activation } from '../../src/kernels/program.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('nn/ops-grad');
s.before(async () => { await gpu(); });

const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
let seed = 100;
/** The same random data on both sides. */
function pair(shape: number[], lo = -1, hi = 1): [Tensor, tf.Tensor, Float32Array] {
  const d = randn(size(shape), seed++, lo, hi);
  return [upload(d, shape), tf.tensor(d, shape), d];
}
const tfAct = (y: tf.Tensor, a: Activation): tf.Tensor =>
  a === 'linear' ? y : a === 'relu' ? tf.relu(y) : a === 'relu6' ? tf.relu6(y) : a === 'sigmoid' ? tf.sigmoid(y) : tf.tanh(y);

/**
 * Checks d/d inputs of Σ(f(inputs) ⊙ dy) on camlight against tfjs, for a random upstream dy.
 */
async function check(
  what: string,
  shapes: number[][],
  ours: (...xs: Tensor[]) => Tensor,
  theirs: (...xs: tf.Tensor[]) => tf.Tensor,
  tol = { rtol: 1e-4, atol: 1e-4 },
): Promise<void> {
  const ins = shapes.map((sh) => pair(sh));
  const outShape = theirs(...ins.map((p) => p[1])).shape;
  const [dyG, dyT] = pair(outShape);
  const r = valueAndGrad(() => ours(...ins.map((p) => p[0])), ins.map((p) => p[0]), dyG);
  const want = tf.grads((...xs: tf.Tensor[]) => theirs(...xs))(ins.map((p) => p[1]), dyT);
  assertClose(await r.value.data(), ref(theirs(...ins.map((p) => p[1]))), { ...tol, what: `${what}: value` });
  for (let i = 0; i < ins.length; i++) {
    assertClose(await r.grads[i]!.data(), ref(want[i]!), { ...tol, what: `${what}: d input ${i}` });
  }
}

/** x tiled to y's batch when x has no batch or a batch of 1. */
function lift(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  const bx = x.rank === 3 ? x.shape[0]! : 1, by = y.rank === 3 ? y.shape[0]! : 1;
  if (bx === by && x.rank === y.rank) return x;
  const x3 = x.rank === 3 ? x : tf.expandDims(x, 0);
  return by > bx ? tf.tile(x3, [by, 1, 1]) : x3;
}

s('matmul: every transpose combination, batched and broadcast', async () => {
  for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
    for (const [M, K, N, ba, bb] of [[5, 3, 7, 0, 0], [33, 17, 20, 3, 3], [4, 9, 6, 2, 0], [8, 12, 5, 0, 2], [6, 6, 6, 1, 3]]) {
      const as = ta ? [K!, M!] : [M!, K!];
      const bs = tb ? [N!, K!] : [K!, N!];
      await check(`matmul ta=${ta} tb=${tb} ${M}x${K}x${N} batch ${ba}/${bb}`,
        [ba ? [ba, ...as] : as, bb ? [bb, ...bs] : bs],
        (a, b) => ops.matmul(a, b, { transposeA: ta, transposeB: tb }),
        // tfjs's own BatchMatMul gradient does not sum over a broadcast batch, so the
        // reference tiles the broadcast operand explicitly (the same product; tile's gradient sums).
        (a, b) => tf.matMul(lift(a, b), lift(b, a), ta, tb));
    }
  }
});

s('matmul with bias and each fused activation', async () => {
  for (const act of ['linear', 'relu', 'relu6', 'sigmoid', 'tanh'] as Activation[]) {
    await check(`matmul+bias ${act}`, [[9, 13], [13, 6], [6]],
      (a, b, c) => ops.matmul(a, b, { bias: c, activation: act }),
      (a, b, c) => tfAct(tf.add(tf.matMul(a, b), c), act));
  }
});

s('dense on a 4-D input', async () => {
  await check('dense', [[2, 3, 4, 5], [5, 7], [7]],
    (x, w, b) => ops.dense(x, w, b, 'relu'),
    (x, w, b) => tf.relu(tf.add(tf.reshape(tf.matMul(tf.reshape(x, [24, 5]), w), [2, 3, 4, 7]), b)));
});

s('sum and mean over axes', async () => {
  await check('sum', [[2, 5, 3, 4]], (x) => ops.sum(x, [1, 2]), (x) => tf.sum(x, [1, 2]));
  await check('mean keepDims', [[2, 5, 3, 4]], (x) => ops.mean(x, [0, 3], true), (x) => tf.mean(x, [0, 3], true));
});

s('concat, slice, pad and zeroPad2d', async () => {
  await check('concat axis 3', [[2, 3, 4, 1], [2, 3, 4, 5], [2, 3, 4, 2], [2, 3, 4, 3]],
    (a, b, c, d) => ops.concat([a, b, c, d]), (a, b, c, d) => tf.concat([a, b, c, d], 3));
  await check('concat axis 1', [[2, 1, 4, 3], [2, 5, 4, 3]], (a, b) => ops.concat([a, b], 1), (a, b) => tf.concat([a, b], 1));
  await check('slice', [[3, 7, 6, 5]], (x) => ops.slice(x, [1, 2, 0, 1], [2, 4, -1, 3]), (x) => tf.slice(x, [1, 2, 0, 1], [2, 4, -1, 3]));
  await check('pad', [[2, 3, 4, 5]], (x) => ops.pad(x, [[0, 1], [2, 0], [1, 3], [0, 0]], 0.5),
    (x) => tf.pad(x, [[0, 1], [2, 0], [1, 3], [0, 0]], 0.5));
  await check('zeroPad2d', [[1, 5, 4, 3]], (x) => ops.zeroPad2d(x, [[1, 2], [3, 0]]), (x) => tf.pad(x, [[0, 0], [1, 2], [3, 0], [0, 0]]));
});

s('bilinear resize (tfjs\'s own gradient is right only for square, non-half-pixel cases)', async () => {
  for (const alignCorners of [false, true]) {
    await check(`resize up ac=${alignCorners}`, [[2, 5, 5, 3]], (x) => ops.resizeBilinear(x, [12, 12], { alignCorners }),
      (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [12, 12], alignCorners));
    await check(`resize down ac=${alignCorners}`, [[1, 9, 9, 2]], (x) => ops.resizeBilinear(x, [4, 4], { alignCorners }),
      (x) => tf.image.resizeBilinear(x as tf.Tensor4D, [4, 4], alignCorners));
  }
});

s('softmax, logSoftmax and the losses', async () => {
  await check('softmax', [[4, 10]], (x) => ops.softmax(x), (x) => tf.softmax(x));
  await check('logSoftmax', [[3, 1, 7]], (x) => ops.logSoftmax(x), (x) => tf.logSoftmax(x));
  const labels = tf.cast(tf.oneHot(tf.tensor1d([2, 0, 9, 4, 4], 'int32'), 10), 'float32');
  const labelsG = upload(labels.dataSync() as Float32Array, [5, 10]);
  const classes = upload([2, 0, 9, 4, 4], [5]);
  const tfCe = (x: tf.Tensor) => tf.reshape(tf.losses.softmaxCrossEntropy(labels, x, undefined, 0, tf.Reduction.MEAN), [1]);
  await check('softmaxCrossEntropy', [[5, 10]], (x) => ops.softmaxCrossEntropy(x, labelsG), tfCe);
  await check('sparseSoftmaxCrossEntropy', [[5, 10]], (x) => ops.sparseSoftmaxCrossEntropy(x, classes), tfCe);
  await check('meanSquaredError', [[3, 4, 5], [3, 4, 5]], (a, b) => ops.meanSquaredError(a, b),
    (a, b) => tf.reshape(tf.losses.meanSquaredError(b, a, undefined, tf.Reduction.MEAN), [1]));
});

s('pooling (average pooling on valid windows: tfjs mis-weights padded borders)', async () => {
  await check('maxPool2d same s2', [[2, 7, 9, 3]], (x) => ops.maxPool2d(x, { window: 3, strides: 2, padding: 'same' }),
    (x) => tf.maxPool(x as tf.Tensor4D, 3, 2, 'same'));
  await check('avgPool2d valid', [[2, 7, 9, 5]], (x) => ops.avgPool2d(x, { window: 3, strides: 2, padding: 'valid' }),
    (x) => tf.avgPool(x as tf.Tensor4D, 3, 2, 'valid'));
  await check('globalAvgPool', [[2, 5, 3, 4]], (x) => ops.globalAvgPool(x), (x) => tf.mean(x, [1, 2]));
  await check('globalMaxPool', [[2, 5, 3, 4]], (x) => ops.globalMaxPool(x), (x) => tf.max(x, [1, 2]));
});

s('conv2d and depthwise conv with bias and fused activations', async () => {
  await check('conv2d same s2 relu', [[2, 7, 9, 5], [3, 3, 5, 6], [6]],
    (x, w, b) => ops.conv2d(x, w, { bias: b, strides: 2, padding: 'same', activation: 'relu' }),
    (x, w, b) => tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same'), b)));
  await check('conv2d valid sigmoid', [[1, 6, 6, 4], [3, 2, 4, 3]],
    (x, w) => ops.conv2d(x, w, { padding: 'valid', activation: 'sigmoid' }),
    (x, w) => tf.sigmoid(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'valid')));
  await check('depthwise M=2', [[2, 6, 5, 3], [3, 3, 3, 2]],
    (x, w) => ops.depthwiseConv2d(x, w, { padding: 'same' }),
    (x, w) => tf.depthwiseConv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'));
});

s('a whole small CNN: every weight gradient of the loss matches tfjs', async () => {
  const labels = tf.cast(tf.oneHot(tf.tensor1d([1, 3, 0], 'int32'), 4), 'float32');
  const labelsG = upload(labels.dataSync() as Float32Array, [3, 4]);
  await check('cnn', [[3, 10, 10, 3], [3, 3, 3, 8], [8], [3, 3, 8, 6], [6], [6, 4], [4]],
    (x, k1, b1, k2, b2, w, b) => {
      const h1 = ops.maxPool2d(ops.conv2d(x, k1, { bias: b1, padding: 'same', activation: 'relu' }), { window: 2 });
      const h2 = ops.conv2d(h1, k2, { bias: b2, strides: 2, padding: 'same', activation: 'relu' });
      return ops.softmaxCrossEntropy(ops.matmul(ops.globalAvgPool(h2), w, { bias: b }), labelsG);
    },
    (x, k1, b1, k2, b2, w, b) => {
      const h1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x as tf.Tensor4D, k1 as tf.Tensor4D, 1, 'same'), b1)) as tf.Tensor4D, 2, 2, 'valid');
      const h2 = tf.relu(tf.add(tf.conv2d(h1, k2 as tf.Tensor4D, 2, 'same'), b2));
      const logits = tf.add(tf.matMul(tf.mean(h2, [1, 2]), w), b);
      return tf.reshape(tf.losses.softmaxCrossEntropy(labels, logits, undefined, 0, tf.Reduction.MEAN), [1]);
    });
});

s('batch normalisation, inference and training mode', async () => {
  const C = 5;
  const [mean, meanT] = pair([C]);
  const [variance, varT] = pair([C], 0.5, 2);
  await check('batchNorm', [[2, 3, 4, C], [C], [C]],
    (x, g, b) => ops.batchNorm(x, { mean, variance, gamma: g, beta: b, epsilon: 1e-3 }),
    (x, g, b) => tf.batchNorm(x, meanT, varT, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3));
  await check('batchNormTrain', [[2, 3, 4, C], [C], [C]],
    (x, g, b) => ops.batchNormTrain(x, { gamma: g, beta: b, epsilon: 1e-3 }).y,
    (x, g, b) => {
      const m = tf.moments(x, [0, 1, 2]);
      return tf.batchNorm(x, m.mean, m.variance, b as tf.Tensor1D, g as tf.Tensor1D, 1e-3);
    });
});

s.run();
