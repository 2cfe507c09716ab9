// Training-mode batch norm against tfjs-core on the CPU backend: batchNormTrain vs tf.moments +
// tf.batchNorm (rank 2 and 4, channels 1/3/5/8/16, 1×1 spatial, long columns that take two and
// three reduction passes, a large mean offset vs a float64 host reference), its gradient vs
// tf.grads of that composition (with and without γ), finite differences through the GPU forward,
// and updateMovingStats vs a host formula. Tolerances: statistics and outputs rtol 1e-4; gradients
// rtol 1e-4 with atol 1e-4·max|reference| (dx is a difference of comparable terms).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { batchNormTrain, batchNormTrainGrad, updateMovingStats } from '../../src/kernels/batchnorm-train.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/batchnorm-train');
s.before(async () => { await gpu(); });

const prod = (sh: number[]) => sh.reduce((x, y) => x * y, 1);
const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const axesBut = (rank: number) => Array.from({ length: rank - 1 }, (_, i) => i);

/** tfjs's training-mode batch norm, as tfjs-layers composes it. */
function tfTrain(x: tf.Tensor, gamma: tf.Tensor | undefined, beta: tf.Tensor | undefined, eps: number) {
  const { mean, variance } = tf.moments(x, axesBut(x.rank));
  return { y: tf.batchNorm(x, mean, variance, beta, gamma, eps), mean, variance };
}

// [2,32,32,3]: 2048 rows, two reduction passes; [4,64,64,1]: 16384 rows, three passes.
const shapes = [[2, 5, 7, 3], [1, 4, 4, 8], [2, 1, 1, 5], [6, 5], [2, 9, 11, 16], [2, 32, 32, 3], [4, 64, 64, 1]];

s('batchNormTrain matches tf.moments + tf.batchNorm (rtol 1e-4)', async () => {
  for (const [i, sh] of shapes.entries()) {
    const C = sh[sh.length - 1]!;
    const xd = randn(prod(sh), 10 + i, -2, 3), gd = randn(C, 20 + i, 0.5, 1.5), bd = randn(C, 30 + i);
    for (const useGB of [true, false]) {
      const eps = useGB ? 1e-3 : 1e-5;
      const got = batchNormTrain(upload(xd, sh), {
        gamma: useGB ? upload(gd, [C]) : undefined, beta: useGB ? upload(bd, [C]) : undefined, epsilon: eps,
      });
      const want = tfTrain(tf.tensor(xd, sh), useGB ? tf.tensor1d(gd) : undefined, useGB ? tf.tensor1d(bd) : undefined, eps);
      const what = `x(${sh}) γβ=${useGB}`;
      assert.equal([...got.mean.shape], [C]);
      assertClose(await got.mean.data(), ref(want.mean), { rtol: 1e-4, atol: 1e-6, what: `mean ${what}` });
      assertClose(await got.variance.data(), ref(want.variance), { rtol: 1e-4, atol: 1e-6, what: `variance ${what}` });
      assertClose(await got.y.data(), ref(want.y), { rtol: 1e-4, atol: 1e-5, what: `y ${what}` });
      for (const t of [got.y, got.mean, got.variance]) t.dispose();
    }
  }
});

s('batch variance is two-pass: a mean of 1000 with spread 0.1 vs float64 on the host', async () => {
  const sh = [2, 16, 16, 4];
  const [R, C] = [prod(sh) / 4, 4];
  const xd = randn(prod(sh), 5, 999.9, 1000.1);
  const mean = new Float64Array(C), varc = new Float64Array(C);
  for (let i = 0; i < xd.length; i++) mean[i % C]! += xd[i]! / R;
  for (let i = 0; i < xd.length; i++) varc[i % C]! += (xd[i]! - mean[i % C]!) ** 2 / R;
  const got = batchNormTrain(upload(xd, sh));
  assertClose(await got.mean.data(), mean, { rtol: 1e-6, atol: 0, what: 'mean' });
  // E[x²] - mean² in float32 would lose every digit here (1e6 vs a variance of 3e-3).
  assertClose(await got.variance.data(), varc, { rtol: 1e-3, atol: 0, what: 'variance' });
});

s('batchNormTrainGrad matches tf.grads through tf.moments + tf.batchNorm', async () => {
  for (const [i, sh] of shapes.entries()) {
    const C = sh[sh.length - 1]!;
    const xd = randn(prod(sh), 40 + i, -2, 3), gd = randn(C, 50 + i, 0.5, 1.5), bd = randn(C, 60 + i), dyd = randn(prod(sh), 70 + i);
    for (const useG of [true, false]) {
      const eps = 1e-3;
      const x = upload(xd, sh), dy = upload(dyd, sh), gamma = useG ? upload(gd, [C]) : undefined;
      const fwd = batchNormTrain(x, { gamma, beta: upload(bd, [C]), epsilon: eps });
      const got = batchNormTrainGrad(dy, x, { mean: fwd.mean, variance: fwd.variance, gamma, epsilon: eps });
      const g = useG ? gd : new Float32Array(C).fill(1);
      const [wdx, wdg, wdb] = tf.grads((xt: tf.Tensor, gt: tf.Tensor, bt: tf.Tensor) => tfTrain(xt, gt, bt, eps).y)(
        [tf.tensor(xd, sh), tf.tensor1d(g), tf.tensor1d(bd)], tf.tensor(dyd, sh),
      ).map(ref) as [Float32Array, Float32Array, Float32Array];
      const what = `x(${sh}) γ=${useG}`;
      assert.equal([...got.dx.shape], sh);
      assertClose(await got.dx.data(), wdx, { rtol: 1e-4, atol: 1e-4 * maxAbs(wdx), what: `dx ${what}` });
      assertClose(await got.dGamma.data(), wdg, { rtol: 1e-4, atol: 1e-4 * maxAbs(wdg), what: `dGamma ${what}` });
      assertClose(await got.dBeta.data(), wdb, { rtol: 1e-4, atol: 1e-4 * maxAbs(wdb), what: `dBeta ${what}` });
      for (const t of [got.dx, got.dGamma, got.dBeta, fwd.y, fwd.mean, fwd.variance]) t.dispose();
    }
  }
});

s('finite differences of the GPU forward agree with dx, dGamma and dBeta (rtol 1e-2)', async () => {
  const sh = [2, 2, 3, 3];
  const C = 3;
  const xd = randn(prod(sh), 80, -2, 2), gd = randn(C, 81, 0.5, 1.5), bd = randn(C, 82), w = randn(prod(sh), 83);
  const loss = async (x: Float32Array, g: Float32Array, b: Float32Array) => {
    const { y, mean, variance } = batchNormTrain(upload(x, sh), { gamma: upload(g, [C]), beta: upload(b, [C]) });
    const d = await y.data();
    for (const t of [y, mean, variance]) t.dispose();
    return d.reduce((a, v, i) => a + v * w[i]!, 0);
  };
  const x = upload(xd, sh);
  const fwd = batchNormTrain(x, { gamma: upload(gd, [C]), beta: upload(bd, [C]) });
  const got = batchNormTrainGrad(upload(w, sh), x, { mean: fwd.mean, variance: fwd.variance, gamma: upload(gd, [C]) });
  const FD = { rtol: 1e-2, atol: 2e-3 };
  assertClose(await got.dx.data(), await finiteDiff((v) => loss(v, gd, bd), xd), { ...FD, what: 'dx FD' });
  assertClose(await got.dGamma.data(), await finiteDiff((v) => loss(xd, v, bd), gd), { ...FD, what: 'dGamma FD' });
  assertClose(await got.dBeta.data(), await finiteDiff((v) => loss(xd, gd, v), bd), { ...FD, what: 'dBeta FD' });
});

s('updateMovingStats: moving·momentum + batch·(1-momentum) in place; count applies n/(n-1)', async () => {
  const C = 13;
  const mm = randn(C, 90), mv = randn(C, 91, 0.5, 2), bm = randn(C, 92), bv = randn(C, 93, 0.1, 3);
  for (const [momentum, count] of [[0.99, undefined], [0.9, 128], [0, undefined], [1, 10]] as const) {
    const moving = { mean: upload(mm, [C]), variance: upload(mv, [C]) };
    const bufs = [moving.mean.buffer, moving.variance.buffer];
    updateMovingStats(moving, { mean: upload(bm, [C]), variance: upload(bv, [C]) }, momentum, count);
    const k = count === undefined ? 1 : count / (count - 1);
    const what = `momentum ${momentum} count ${count}`;
    assert.ok(moving.mean.buffer === bufs[0] && moving.variance.buffer === bufs[1], `${what}: updated in place`);
    assertClose(await moving.mean.data(), mm.map((m, c) => m * momentum + bm[c]! * (1 - momentum)), { rtol: 1e-5, atol: 1e-6, what: `mean ${what}` });
    assertClose(await moving.variance.data(), mv.map((v, c) => v * momentum + bv[c]! * k * (1 - momentum)), { rtol: 1e-5, atol: 1e-6, what: `variance ${what}` });
  }
});

s('training batch-norm errors name the op and what to do', () => {
  const t = (sh: number[]) => upload(new Float32Array(prod(sh)), sh);
  const expect = (fn: () => unknown, re: RegExp) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ShapeError, `expected ShapeError, got ${String(e)}`);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable('no error thrown');
  };
  expect(() => batchNormTrain(t([4])), /batchNormTrain.*batch axis/);
  expect(() => batchNormTrain(t([2, 3, 3, 4]), { gamma: t([3]) }), /gamma must have shape \(4\)/);
  expect(() => batchNormTrain(t([0, 3, 3, 4])), /empty batch/);
  expect(() => batchNormTrainGrad(t([2, 4]), t([2, 3]), { mean: t([3]), variance: t([3]) }), /dy must have x's shape/);
  expect(() => batchNormTrainGrad(t([2, 3]), t([2, 3]), { mean: t([4]), variance: t([3]) }), /mean must have shape \(3\)/);
  const m = t([3]);
  expect(() => updateMovingStats({ mean: m, variance: t([3]) }, { mean: m, variance: t([3]) }, 0.99), /distinct tensors/);
  expect(() => updateMovingStats({ mean: t([3]), variance: t([3]) }, { mean: t([4]), variance: t([3]) }, 0.99), /same shape/);
  expect(() => updateMovingStats({ mean: t([3]), variance: t([3]) }, { mean: t([3]), variance: t([3]) }, 1.5), /momentum/);
  expect(() => updateMovingStats({ mean: t([3]), variance: t([3]) }, { mean: t([3]), variance: t([3]) }, 0.9, 1), /count/);
});

s.run();
