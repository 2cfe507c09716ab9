// Batch norm against tf.batchNorm on the CPU backend (with and without γ/β, channels 3/5/8,
// rank 2 and 4, fused activation), and batch-norm folding: tf.conv2d on host-folded weights
// vs conv → batchNorm in tfjs, camlight conv2d on folded weights, and the tensor version.
// Tolerances: element-wise rtol 1e-5; convolution sums rtol 1e-4.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { batchNorm, foldBatchNorm, foldBatchNormTensor } from '../../src/kernels/batchnorm.ts';
import { conv2d } from '../../src/kernels/conv2d.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/batchnorm');
s.before(async () => { await gpu(); });

const prod = (sh: number[]) => sh.reduce((x, y) => x * y, 1);

function params(C: number, seed: number) {
  return {
    mean: randn(C, seed, -1, 1),
    variance: randn(C, seed + 1, 0.1, 2),
    gamma: randn(C, seed + 2, 0.5, 1.5),
    beta: randn(C, seed + 3, -0.5, 0.5),
  };
}

s('batchNorm matches tf.batchNorm (γ/β present or absent, rtol 1e-5)', async () => {
  let seed = 1;
  for (const sh of [[2, 5, 7, 3], [1, 4, 4, 8], [3, 5], [2, 1, 1, 5], [1, 3, 3, 12]]) {
    const C = sh[sh.length - 1]!;
    const p = params(C, seed += 10);
    const d = randn(prod(sh), seed, -3, 3);
    for (const [useG, useB] of [[true, true], [false, true], [true, false], [false, false]]) {
      const eps = useG ? 1e-3 : 1e-5;
      const y = batchNorm(upload(d, sh), {
        mean: upload(p.mean, [C]), variance: upload(p.variance, [C]),
        gamma: useG ? upload(p.gamma, [C]) : undefined, beta: useB ? upload(p.beta, [C]) : undefined, epsilon: eps,
      });
      const want = tf.batchNorm(
        tf.tensor(d, sh), tf.tensor1d(p.mean), tf.tensor1d(p.variance),
        useB ? tf.tensor1d(p.beta) : undefined, useG ? tf.tensor1d(p.gamma) : undefined, eps,
      );
      assertClose(await y.data(), ref(want), { rtol: 1e-5, atol: 1e-6, what: `bn x(${sh}) γ=${useG} β=${useB}` });
    }
  }
});

s('batchNorm with a fused relu and the Keras default epsilon', async () => {
  const sh = [2, 3, 3, 4];
  const p = params(4, 7);
  const d = randn(prod(sh), 8, -3, 3);
  const y = batchNorm(upload(d, sh), {
    mean: upload(p.mean, [4]), variance: upload(p.variance, [4]), gamma: upload(p.gamma, [4]), beta: upload(p.beta, [4]), activation: 'relu',
  });
  const want = tf.relu(tf.batchNorm(tf.tensor(d, sh), p.mean, p.variance, p.beta, p.gamma, 1e-3));
  assertClose(await y.data(), ref(want), { rtol: 1e-5, atol: 1e-6 });
});

/** conv → BN in tfjs, the reference for every folding check. x:(N,H,W,C) w:(KH,KW,C,K). */
function convThenBn(dx: Float32Array, xs: number[], dw: Float32Array, ws: number[], bias: Float32Array, p: ReturnType<typeof params>, eps: number) {
  const conv = tf.add(tf.conv2d(tf.tensor4d(dx, xs as [number, number, number, number]), tf.tensor4d(dw, ws as [number, number, number, number]), 1, 'same'), tf.tensor1d(bias));
  return ref(tf.batchNorm(conv, p.mean, p.variance, p.beta, p.gamma, eps));
}

s('foldBatchNorm: conv on folded weights equals conv → batchNorm (tfjs and camlight conv2d, rtol 1e-4)', async () => {
  for (const [xs, ws, seed] of [[[2, 6, 5, 3], [3, 3, 3, 5], 50], [[1, 7, 7, 4], [1, 1, 4, 8], 60], [[1, 5, 5, 2], [3, 3, 2, 3], 70]] as [number[], number[], number][]) {
    const K = ws[3]!;
    const dx = randn(prod(xs), seed), dw = randn(prod(ws), seed + 1), bias = randn(K, seed + 2);
    const p = params(K, seed + 3);
    const eps = 1e-3;
    const want = convThenBn(dx, xs, dw, ws, bias, p, eps);
    const f = foldBatchNorm(dw, ws, bias, { ...p, epsilon: eps });
    const viaTf = ref(tf.add(tf.conv2d(tf.tensor4d(dx, xs as [number, number, number, number]), tf.tensor4d(f.w, ws as [number, number, number, number]), 1, 'same'), tf.tensor1d(f.bias)));
    assertClose(viaTf, want, { rtol: 1e-4, atol: 1e-5, what: `tfjs conv folded ${ws}` });
    const y = conv2d(upload(dx, xs), upload(f.w, ws), { bias: upload(f.bias, [K]), padding: 'same' });
    assertClose(await y.data(), want, { rtol: 1e-4, atol: 1e-5, what: `camlight conv2d folded ${ws}` });
  }
});

s('foldBatchNorm without a conv bias or γ/β; the tensor version agrees with the host one', async () => {
  const ws = [3, 3, 4, 6];
  const dw = randn(prod(ws), 80);
  const p = params(6, 81);
  const noAffine = foldBatchNorm(dw, ws, undefined, { mean: p.mean, variance: p.variance, epsilon: 1e-5 });
  for (let i = 0; i < dw.length; i++) {
    const k = i % 6;
    const want = dw[i]! / Math.sqrt(p.variance[k]! + 1e-5);
    assert.ok(Math.abs(noAffine.w[i]! - want) <= 1e-6 * Math.abs(want) + 1e-7, `w[${i}]`);
  }
  assertClose(noAffine.bias, Float32Array.from(p.mean, (m, k) => -m / Math.sqrt(p.variance[k]! + 1e-5)), { rtol: 1e-6, atol: 1e-7 });

  const bias = randn(6, 82);
  const host = foldBatchNorm(dw, ws, bias, { ...p, epsilon: 1e-3 });
  const t = foldBatchNormTensor(upload(dw, ws), upload(bias, [6]), {
    mean: upload(p.mean, [6]), variance: upload(p.variance, [6]), gamma: upload(p.gamma, [6]), beta: upload(p.beta, [6]), epsilon: 1e-3,
  });
  assertClose(await t.w.data(), host.w, { rtol: 1e-5, atol: 1e-6, what: 'tensor fold w' });
  assertClose(await t.bias.data(), host.bias, { rtol: 1e-5, atol: 1e-6, what: 'tensor fold bias' });
  const t2 = foldBatchNormTensor(upload(dw, ws), undefined, { mean: upload(p.mean, [6]), variance: upload(p.variance, [6]), epsilon: 1e-5 });
  assertClose(await t2.bias.data(), noAffine.bias, { rtol: 1e-5, atol: 1e-6, what: 'tensor fold, no bias' });
});

s('shape errors name the parameter and the channel count', () => {
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
  expect(() => batchNorm(t([2, 3, 3, 4]), { mean: t([3]), variance: t([4]) }), /batchNorm.*mean must have shape \(4\)/);
  expect(() => batchNorm(t([2, 4]), { mean: t([4]), variance: t([4]), beta: t([2, 2]) }), /beta must have shape \(4\)/);
  expect(() => foldBatchNorm(new Float32Array(12), [1, 1, 3, 4], undefined, { mean: new Float32Array(3), variance: new Float32Array(4) }), /mean has 3 values; it needs 4/);
  expect(() => foldBatchNorm(new Float32Array(10), [1, 1, 3, 4], undefined, { mean: new Float32Array(4), variance: new Float32Array(4) }), /10 weights/);
});

s.run();
