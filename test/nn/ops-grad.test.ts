// Gradients of the differentiable ops, through the tape, against tf.grads on the CPU backend
// with the same random inputs and upstream gradients (fp32, rtol 1e-4 unless stated).
import { suite } from 'uvu';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { upload, type Tensor } from '../../src/nn/tensor.ts';
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

s.run();
