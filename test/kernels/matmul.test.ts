// matmul and dense against tfjs-core on the CPU backend: every transpose combination, batch
// broadcasting, awkward sizes (not multiples of 4), the vec4 paths, split-K, bias with every
// activation, and shape errors. fp32 sums over K: rtol 1e-4 with a small atol.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { dense, matmul, MATMUL_TUNING } from '../../src/kernels/matmul.ts';
import { ACTIVATIONS, type Activation } from '../../src/kernels/program.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/matmul');
s.before(async () => { await gpu(); });

const prod = (sh: number[]) => sh.reduce((x, y) => x * y, 1);
const tfAct = (y: tf.Tensor, a: Activation): tf.Tensor =>
  a === 'linear' ? y : a === 'relu' ? tf.relu(y) : a === 'relu6' ? tf.relu6(y) : a === 'sigmoid' ? tf.sigmoid(y) : tf.tanh(y);

/** Runs one matmul on both sides and compares; shapes are storage shapes. */
async function check(
  aShape: number[], bShape: number[], ta: boolean, tb: boolean, seed: number,
  extra: { bias?: number; act?: Activation } = {},
): Promise<void> {
  const da = randn(prod(aShape), seed), db = randn(prod(bShape), seed + 1);
  const what = `a(${aShape}) b(${bShape}) ta=${ta} tb=${tb} ${extra.act ?? ''}${extra.bias ? ' bias' : ''}`;
  const dbias = extra.bias ? randn(extra.bias, seed + 2) : undefined;
  const y = matmul(upload(da, aShape), upload(db, bShape), {
    transposeA: ta, transposeB: tb, activation: extra.act,
    bias: dbias ? upload(dbias, [dbias.length]) : undefined,
  });
  let want = tf.matMul(tf.tensor(da, aShape), tf.tensor(db, bShape), ta, tb);
  if (dbias) want = tf.add(want, tf.tensor(dbias));
  want = tfAct(want, extra.act ?? 'linear');
  assert.equal([...y.shape], want.shape, `${what}: shape`);
  assertClose(await y.data(), ref(want), { rtol: 1e-4, atol: 1e-5, what });
  y.dispose();
}

const storage = (b: number | null, rows: number, cols: number) => (b === null ? [rows, cols] : [b, rows, cols]);

s('every transpose combination on odd sizes (rows and cols kernels)', async () => {
  const sizes: [number, number, number][] = [[1, 1, 1], [7, 5, 3], [33, 17, 65], [3, 9, 12], [20, 8, 8], [9, 12, 5]];
  let seed = 1;
  for (const [M, N, K] of sizes) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        await check(ta ? [K, M] : [M, K], tb ? [N, K] : [K, N], ta, tb, seed++);
      }
    }
  }
});

s('batched, with a batch of 1 broadcasting on either side', async () => {
  const [M, N, K] = [13, 6, 11];
  let seed = 100;
  for (const [ba, bb] of [[3, 3], [1, 4], [4, 1], [null, 2], [2, null]] as [number | null, number | null][]) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) {
        await check(storage(ba, ta ? K : M, ta ? M : K), storage(bb, tb ? N : K, tb ? K : N), ta, tb, seed++);
      }
    }
  }
  // Small M in a batch goes through the cols kernel with a batch grid.
  await check([3, 2, 8], [3, 8, 12], false, false, 150);
  await check([3, 2, 7], [1, 7, 5], false, false, 151);
});

s('vec4 fast paths at 128×256×96 in all layouts', async () => {
  let seed = 200;
  for (const ta of [false, true]) {
    for (const tb of [false, true]) await check(ta ? [96, 128] : [128, 96], tb ? [256, 96] : [96, 256], ta, tb, seed++);
  }
});

s('bias and each activation (rows, cols, N not a multiple of 4)', async () => {
  let seed = 300;
  for (const act of ACTIVATIONS) {
    await check([40, 24], [24, 20], false, false, seed++, { bias: 20, act });
    await check([40, 23], [19, 23], false, true, seed++, { bias: 19, act });
    await check([2, 36], [36, 12], false, false, seed++, { bias: 12, act });
    await check([1, 10], [10, 7], false, false, seed++, { bias: 7, act });
  }
});

s('split-K matrix-vector products match (large K, tiny M·N)', async () => {
  const { minSplitK } = MATMUL_TUNING;
  const K = minSplitK * 6 + 4;
  await check([1, K], [K, 8], false, false, 400, { bias: 8, act: 'relu' });
  await check([1, K + 3], [K + 3, 5], false, false, 401, { bias: 5 });
  await check([2, K], [12, K], false, true, 402);
  await check([3, 1, K], [3, K, 4], false, false, 403, { act: 'tanh' });
  await check([K, 2], [K, 6], true, false, 404);
});

s('dense on 2-D and 4-D inputs, with bias and relu', async () => {
  for (const [xShape, U, seed] of [[[5, 12], 7, 500], [[2, 3, 4, 9], 8, 501], [[1, 30], 16, 502], [[6], 3, 503]] as [number[], number, number][]) {
    const K = xShape[xShape.length - 1]!;
    const dx = randn(prod(xShape), seed), dw = randn(K * U, seed + 1), dbias = randn(U, seed + 2);
    const y = dense(upload(dx, xShape), upload(dw, [K, U]), upload(dbias, [U]), 'relu');
    const want = tf.relu(tf.add(tf.reshape(tf.matMul(tf.reshape(tf.tensor(dx, xShape), [-1, K]), tf.tensor(dw, [K, U])), [...xShape.slice(0, -1), U]), tf.tensor(dbias)));
    assert.equal([...y.shape], want.shape);
    assertClose(await y.data(), ref(want), { rtol: 1e-4, atol: 1e-5, what: `dense x(${xShape}) U=${U}` });
    const y2 = dense(upload(dx, xShape), upload(dw, [K, U]));
    const want2 = tf.reshape(tf.matMul(tf.reshape(tf.tensor(dx, xShape), [-1, K]), tf.tensor(dw, [K, U])), [...xShape.slice(0, -1), U]);
    assertClose(await y2.data(), ref(want2), { rtol: 1e-4, atol: 1e-5, what: `dense no bias x(${xShape})` });
  }
});

s('shape errors name the op and the shapes', () => {
  const t = (sh: number[]) => upload(new Float32Array(prod(sh)), sh);
  const expectShapeError = (fn: () => unknown, re: RegExp) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ShapeError, `expected ShapeError, got ${String(e)}`);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable('no error thrown');
  };
  expectShapeError(() => matmul(t([2, 3]), t([4, 5])), /matmul.*a:\(2,3\).*b:\(4,5\).*K 3 vs 4/);
  expectShapeError(() => matmul(t([2, 3]), t([5, 3])), /K 3 vs 5/);
  expectShapeError(() => matmul(t([2, 2, 3]), t([3, 3, 4])), /batch sizes 2 and 3/);
  expectShapeError(() => matmul(t([3]), t([3, 4])), /rank 2 or 3/);
  expectShapeError(() => matmul(t([2, 3]), t([3, 4]), { bias: t([3]) }), /bias must have shape \(4\)/);
  expectShapeError(() => dense(t([2, 5]), t([4, 3])), /dense.*5 features.*expect 4/);
  expectShapeError(() => dense(t([2, 4]), t([4, 3]), t([4])), /bias must have shape \(3\)/);
});

s.run();
