// softmax and logSoftmax against tfjs on the CPU backend: rows of length 1, 3 and 1000,
// logits up to ±80 (exp would overflow without the max shift), a batch of rows in a rank-4
// tensor. Tolerance rtol 1e-5 with atol 1e-7 (softmax; tails below that underflow
// differently) or 1e-5 (logSoftmax, whose values reach −160).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { logSoftmax, softmax } from '../../src/kernels/softmax.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/softmax');
s.before(async () => { await gpu(); });

const cases: [number[], number][] = [
  [[4, 1], 5], // a single class: softmax 1, logSoftmax 0
  [[5, 3], 3],
  [[2, 1000], 80], // ImageNet-sized rows with large logits
  [[2, 3, 4, 7], 80], // a batch of rows in a rank-4 tensor
  [[6], 1],
];

s('softmax matches tf.softmax, rows sum to 1 (rtol 1e-5)', async () => {
  for (const [i, [sh, amp]] of cases.entries()) {
    const d = randn(sh.reduce((a, b) => a * b, 1), 30 + i, -amp, amp);
    const y = await softmax(upload(d, sh)).data();
    assertClose(y, ref(tf.softmax(tf.tensor(d, sh))), { rtol: 1e-5, atol: 1e-7, what: `softmax ${sh} ±${amp}` });
    const L = sh[sh.length - 1]!;
    for (let r = 0; r < y.length / L; r++) {
      const sum = y.subarray(r * L, (r + 1) * L).reduce((a, b) => a + b, 0);
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${r} of ${sh} sums to ${sum}`);
    }
  }
});

s('logSoftmax matches tf.logSoftmax (rtol 1e-5, atol 1e-5)', async () => {
  for (const [i, [sh, amp]] of cases.entries()) {
    const d = randn(sh.reduce((a, b) => a * b, 1), 50 + i, -amp, amp);
    const y = logSoftmax(upload(d, sh));
    assertClose(await y.data(), ref(tf.logSoftmax(tf.tensor(d, sh))), { rtol: 1e-5, atol: 1e-5, what: `logSoftmax ${sh} ±${amp}` });
  }
});

s('extreme logits stay finite: one-hot from ±1e30 and equal rows', async () => {
  const d = new Float32Array([1e30, -1e30, 0, 88, 88, 88, -3e38, 3e38, 0]);
  const y = await softmax(upload(d, [3, 3])).data();
  assertClose(y, [1, 0, 0, 1 / 3, 1 / 3, 1 / 3, 0, 1, 0], { rtol: 1e-6, atol: 0, what: 'extreme softmax' });
  const ly = await logSoftmax(upload(d, [3, 3])).data();
  assertClose(ly.subarray(3, 6), new Float32Array(3).fill(-Math.log(3)), { rtol: 1e-6, what: 'equal logSoftmax' });
  assert.is(ly[0], 0);
  assert.is(ly[7], 0);
});

s('a scalar is a ShapeError', () => {
  assert.throws(() => softmax(upload([1], [])), (e: unknown) => e instanceof ShapeError && /scalar/.test(e.message));
});

s.run();
