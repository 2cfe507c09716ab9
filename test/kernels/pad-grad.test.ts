// padGrad against tf.grad of tf.pad (CPU backend) with the same random upstream gradient:
// asymmetric pads, zero pads, 1×1 spatial, ranks 1..5. A crop, so the comparison is exact
// (rtol 0, atol 0). Plus finite differences through the GPU and the error messages.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { pad, padGrad } from '../../src/kernels/pad.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/pad-grad');
s.before(async () => { await gpu(); });

const size = (sh: readonly number[]) => sh.reduce((a, d) => a * d, 1);

s('padGrad matches tf.grad of tf.pad (asymmetric, zero pads, 1×1, ranks 1..5)', async () => {
  const cases: [number[], [number, number][]][] = [
    [[2, 5, 7, 3], [[0, 0], [0, 1], [2, 3], [0, 0]]],
    [[2, 1, 1, 3], [[1, 0], [1, 2], [3, 0], [0, 1]]],
    [[1, 4, 4, 5], [[0, 0], [3, 3], [3, 3], [0, 0]]],
    [[3, 3, 3, 2], [[0, 0], [0, 0], [0, 0], [0, 0]]],
    [[9], [[4, 1]]],
    [[2, 3, 4, 2, 3], [[1, 0], [0, 2], [1, 1], [2, 0], [0, 1]]],
  ];
  for (const [i, [sh, p]] of cases.entries()) {
    const x = tf.tensor(randn(size(sh), 10 + i), sh);
    const ySh = tf.pad(x, p).shape;
    const dy = randn(size(ySh), 30 + i, -3, 3);
    const got = padGrad(upload(dy, ySh), p);
    const want = tf.grad((t: tf.Tensor) => tf.pad(t, p))(x, tf.tensor(dy, ySh));
    assert.equal([...got.shape], sh, `shape ${sh}`);
    assertClose(await got.data(), ref(want), { rtol: 0, atol: 0, what: `padGrad ${sh} ${JSON.stringify(p)}` });
  }
});

s('padGrad agrees with finite differences of w·pad(x) through the GPU', async () => {
  const sh = [1, 2, 3, 1];
  const p: [number, number][] = [[0, 0], [1, 0], [0, 2], [0, 1]];
  const ySh = [1, 3, 5, 2];
  const w = randn(size(ySh), 41);
  const fd = await finiteDiff(async (x) => {
    const y = await pad(upload(x, sh), p, 0.5).data();
    return y.reduce((a, v, i) => a + v * w[i]!, 0);
  }, randn(6, 42));
  assertClose(await padGrad(upload(w, ySh), p).data(), fd, { rtol: 1e-3, atol: 1e-3, what: 'finite differences' });
});

s('bad paddings are ShapeErrors that name the shapes', () => {
  const dy = upload(new Float32Array(2 * 4 * 5), [2, 4, 5]);
  const cases: [() => unknown, RegExp][] = [
    [() => padGrad(dy, [[0, 0], [1, 1]]), /padGrad dy:\(2,4,5\).*one \[before, after\] pair per axis \(3\), got 2/],
    [() => padGrad(dy, [[0, 0], [3, 2], [0, 0]]), /axis 1 of dy has 4 entries, fewer than its padding 5/],
    [() => padGrad(dy, [[0, 0], [-1, 1], [0, 0]]), /non-negative integers/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
