// Sums over axes against tfjs-core: short and long (two-pass) reductions, any axis set, and
// sumToShape, the gradient rule of broadcasting.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { copy, sum, sumToShape } from '../../src/kernels/reduce.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/reduce');
s.before(async () => { await gpu(); });

const cases: [number[], number[]][] = [
  [[2, 3, 4, 5], [0, 1, 2]],
  [[2, 3, 4, 5], [3]],
  [[2, 3, 4, 5], [1, 3]],
  [[2, 3, 4, 5], [0, 1, 2, 3]],
  [[1, 64, 64, 3], [0, 1, 2]],      // long reduction into few outputs: two passes
  [[7], [0]],
  [[3, 1, 1, 9], [-1]],
];

s('sum over axes matches tf.sum (rtol 1e-5: float sums in a different order)', async () => {
  for (const [i, [shape, axes]] of cases.entries()) {
    const d = randn(shape.reduce((a, b) => a * b, 1), 40 + i);
    const got = sum(upload(d, shape), axes);
    const want = tf.sum(tf.tensor(d, shape), axes);
    assert.equal([...got.shape], want.shape, `shape for ${shape} over ${axes}`);
    assertClose(await got.data(), ref(want), { rtol: 1e-5, atol: 1e-5, what: `${shape} over ${axes}` });
  }
});

s('sumToShape inverts broadcasting', async () => {
  const dy = randn(2 * 5 * 6 * 4, 7);
  const t = upload(dy, [2, 5, 6, 4]);
  for (const target of [[4], [1, 1, 1, 4], [2, 1, 6, 1], [5, 1, 1], [2, 5, 6, 4]]) {
    const got = sumToShape(t, target);
    assert.equal([...got.shape], target);
    // Reference: sum over the axes where the target is 1 or missing, then reshape.
    const r = 4;
    const axes = [0, 1, 2, 3].filter((i) => { const v = target[i - (r - target.length)]; return v === undefined || v === 1; });
    const want = tf.reshape(tf.sum(tf.tensor(dy, [2, 5, 6, 4]), axes, true), target);
    assertClose(await got.data(), ref(want), { rtol: 1e-5, atol: 1e-5, what: `to ${target}` });
  }
  assert.throws(() => sumToShape(t, [3]), /does not broadcast/);
});

s('copy duplicates data into a new buffer', async () => {
  const x = upload([1, 2, 3], [3]);
  const y = copy(x);
  assert.ok(y.buffer !== x.buffer);
  assert.equal(Array.from(await y.data()), [1, 2, 3]);
});

s.run();
