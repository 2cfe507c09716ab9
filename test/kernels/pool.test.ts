// Pooling against tfjs-core on the CPU backend: max/avg with windows 2 and 3, strides 1 and 2,
// 'valid'/'same'/explicit padding, odd sizes, 1×1 spatial, batch 2, channels 3/5/8 (scalar and
// vec4 paths), global avg/max, and shape errors. Max is exact; averages within rtol 1e-6.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import {
  avgPool2d, globalAvgPool, globalMaxPool, maxPool2d, type PoolPadding,
} from '../../src/kernels/pool.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/pool');
s.before(async () => { await gpu(); });

const prod = (sh: number[]) => sh.reduce((x, y) => x * y, 1);

type Case = { x: number[]; window: number | [number, number]; strides: number | [number, number]; padding: PoolPadding };
const cases: Case[] = [];
for (const x of [[2, 7, 9, 3], [1, 8, 8, 8], [2, 5, 6, 5], [1, 4, 4, 4]]) {
  for (const window of [2, 3] as const) {
    for (const strides of [1, 2] as const) {
      for (const padding of ['valid', 'same'] as const) cases.push({ x, window, strides, padding });
    }
  }
}
cases.push(
  { x: [2, 7, 9, 3], window: 3, strides: 2, padding: [[1, 1], [0, 2]] },
  { x: [1, 6, 5, 8], window: [3, 2], strides: [2, 1], padding: [[1, 2], [1, 0]] },
  { x: [1, 9, 7, 5], window: [2, 3], strides: [1, 2], padding: 'same' },
  { x: [2, 1, 1, 5], window: 1, strides: 1, padding: 'valid' },
  { x: [2, 1, 1, 8], window: 2, strides: 2, padding: 'same' },
  { x: [1, 3, 3, 4], window: 3, strides: 1, padding: 'same' },
);

const tfPad = (p: PoolPadding) => (Array.isArray(p) ? ([[0, 0], ...p, [0, 0]] as [number, number][]) : p);

for (const kind of ['max', 'avg'] as const) {
  s(`${kind}Pool2d matches tfjs over windows, strides and paddings (rtol 1e-6)`, async () => {
    for (const [i, c] of cases.entries()) {
      const d = randn(prod(c.x), 10 + i, -3, 3);
      const xt = tf.tensor4d(d, c.x as [number, number, number, number]);
      const fn = kind === 'max' ? maxPool2d : avgPool2d;
      const y = fn(upload(d, c.x), { window: c.window, strides: c.strides, padding: c.padding });
      // tfjs 4.22 declares explicit padding only for conv, but its pool utilities accept it.
      const tfFn = (kind === 'max' ? tf.maxPool : tf.avgPool) as unknown as (
        x: tf.Tensor4D, w: number | [number, number], s: number | [number, number], p: unknown,
      ) => tf.Tensor4D;
      const want = tfFn(xt, c.window, c.strides, tfPad(c.padding));
      const what = `${kind} x(${c.x}) w${c.window} s${c.strides} ${JSON.stringify(c.padding)}`;
      assert.equal([...y.shape], want.shape, `${what}: shape`);
      assertClose(await y.data(), ref(want), { rtol: 1e-6, atol: 1e-6, what });
      y.dispose();
    }
  });
}

s('strides default to the window (Keras)', async () => {
  const d = randn(2 * 6 * 6 * 3, 5);
  const y = maxPool2d(upload(d, [2, 6, 6, 3]), { window: 2 });
  assert.equal([...y.shape], [2, 3, 3, 3]);
  assertClose(await y.data(), ref(tf.maxPool(tf.tensor4d(d, [2, 6, 6, 3]), 2, 2, 'valid')), { rtol: 0, atol: 0 });
});

s('avg pool excludes padding from the count (corner of a 3×3 same window)', async () => {
  const y = avgPool2d(upload(new Float32Array(9).fill(1), [1, 3, 3, 1]), { window: 3, strides: 1, padding: 'same' });
  assertClose(await y.data(), new Float32Array(9).fill(1), { rtol: 0, atol: 1e-7, what: 'mean of ones' });
});

s('max pool over all-negative windows with padding (padding never wins)', async () => {
  const d = randn(2 * 5 * 5 * 4, 9, -5, -1);
  const y = maxPool2d(upload(d, [2, 5, 5, 4]), { window: 3, strides: 2, padding: 'same' });
  assertClose(await y.data(), ref(tf.maxPool(tf.tensor4d(d, [2, 5, 5, 4]), 3, 2, 'same')), { rtol: 0, atol: 0 });
});

s('global avg/max pool match tfjs means and maxima over H,W (rtol 1e-5)', async () => {
  for (const [i, sh] of [[2, 7, 9, 3], [1, 8, 8, 8], [2, 1, 1, 5], [3, 4, 5, 12], [1, 13, 11, 2]].entries()) {
    const d = randn(prod(sh), 40 + i, -2, 2);
    const x = upload(d, sh);
    const xt = tf.tensor(d, sh);
    const ya = globalAvgPool(x), ym = globalMaxPool(x);
    assert.equal([...ya.shape], [sh[0], sh[3]]);
    assertClose(await ya.data(), ref(tf.mean(xt, [1, 2])), { rtol: 1e-5, atol: 1e-6, what: `gap ${sh}` });
    assertClose(await ym.data(), ref(tf.max(xt, [1, 2])), { rtol: 0, atol: 0, what: `gmp ${sh}` });
  }
});

s('shape errors name the op and what to do', () => {
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
  expect(() => maxPool2d(t([4, 4, 3]), { window: 2 }), /maxPool2d.*NHWC/);
  expect(() => avgPool2d(t([1, 2, 2, 3]), { window: 3 }), /avgPool2d.*does not fit/);
  expect(() => maxPool2d(t([1, 4, 4, 3]), { window: 2, strides: 0 }), /positive integers/);
  expect(() => maxPool2d(t([1, 4, 4, 3]), { window: 2, padding: [[2, 0], [0, 0]] }), /smaller than the 2×2 window/);
  expect(() => globalAvgPool(t([2, 3])), /globalAvgPool.*NHWC/);
  expect(() => globalMaxPool(t([2, 3, 3])), /globalMaxPool.*NHWC/);
});

s.run();
