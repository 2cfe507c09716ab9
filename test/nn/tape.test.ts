// The tape: gradients of compositions against tf.grads on the CPU backend, accumulation where a
// tensor feeds several ops, watch() of intermediates, and no recording when nothing asks.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/nn/ops.ts';
import { sum } from '../../src/kernels/reduce.ts';
import { grads, recordedOps, valueAndGrad, watch } from '../../src/nn/tape.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('nn/tape');
s.before(async () => { await gpu(); });

/** Σ of all elements, differentiable through the ops layer: Σ x = reshape to (1,n) · ones. */
function total(x: Tensor): Tensor {
  // Σ x = mean-free trick avoided: use mul by ones and the reduce kernel's rule via ops.
  return ops.sumAll(x);
}

s('a broadcasting composition matches tf.grads (rtol 1e-4)', async () => {
  const da = randn(2 * 3 * 4, 1), db = randn(4, 2, 0.5, 1.5), dc = randn(3 * 1, 3);
  const a = upload(da, [2, 3, 4]), b = upload(db, [4]), c = upload(dc, [3, 1]);
  const f = (a: Tensor, b: Tensor, c: Tensor) =>
    total(ops.affine(ops.div(ops.mul(ops.add(a, b), ops.sub(a, c)), b), 0.7, 0.1, 'tanh'));
  const { value, grads: [ga, gb, gc] } = valueAndGrad(() => f(a, b, c), [a, b, c]);
  const tfF = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor) =>
    tf.sum(tf.tanh(tf.add(tf.mul(tf.div(tf.mul(tf.add(a, b), tf.sub(a, c)), b), 0.7), 0.1)));
  const ta = tf.tensor(da, [2, 3, 4]), tb = tf.tensor(db, [4]), tc = tf.tensor(dc, [3, 1]);
  const want = tf.grads(tfF)([ta, tb, tc]);
  assertClose(await value.data(), ref(tfF(ta, tb, tc)), { rtol: 1e-5, what: 'value' });
  assertClose(await ga!.data(), ref(want[0]!), { rtol: 1e-4, atol: 1e-5, what: 'da' });
  assertClose(await gb!.data(), ref(want[1]!), { rtol: 1e-4, atol: 1e-5, what: 'db' });
  assertClose(await gc!.data(), ref(want[2]!), { rtol: 1e-4, atol: 1e-5, what: 'dc' });
});

s('a tensor used by several ops accumulates their gradients', async () => {
  const d = randn(6, 5);
  const x = upload(d, [6]);
  // f = Σ (x·x + relu(x) + x)  → df/dx = 2x + [x>0] + 1
  const [gx] = grads(() => total(ops.add(ops.add(ops.mul(x, x), ops.relu(x)), x)), [x]);
  const want = Array.from(d, (v) => 2 * v + (v > 0 ? 1 : 0) + 1);
  assertClose(await gx!.data(), want, { rtol: 1e-6, atol: 1e-6 });
});

s('watch() gives the gradient at an intermediate, and the backward stops there', async () => {
  const x = upload(randn(8, 9), [8]);
  const r = valueAndGrad(() => {
    const h = ops.mulScalar(x, 3);           // not recorded: nothing tracked yet
    const a = watch(ops.relu(h));
    assert.equal(recordedOps(), [], 'ops before watch are not recorded');
    return total(ops.mul(a, a));
  }, []);
  assert.is(r.watched.length, 1);
  // d/da Σ a² = 2a
  const a = await r.watched[0]!.tensor.data().catch(() => null);
  void a;
  const xs = await x.data();
  assertClose(await r.watched[0]!.grad.data(), Array.from(xs, (v) => 2 * Math.max(3 * v, 0)), { rtol: 1e-6 });
});

s('nothing is recorded or kept when no gradient is asked for', async () => {
  const rt = await gpu();
  const x = upload(randn(64, 4), [64]);
  const live = rt.stats().liveBuffers;
  const y = ops.relu(ops.mul(ops.add(x, x), x));
  assert.is(rt.stats().liveBuffers, live + 3, 'only the op outputs exist');
  assert.equal(recordedOps(), []);
  y.dispose();
});

s('valueAndGrad leaves only the value and the gradients alive', async () => {
  const rt = await gpu();
  const x = upload(randn(32, 6), [4, 8]);
  const w = upload(randn(8, 7), [8]);
  const live = rt.stats().liveBuffers;
  for (let i = 0; i < 20; i++) {
    const r = valueAndGrad(() => total(ops.affine(ops.mul(ops.add(x, w), w), 2, 0, 'sigmoid')), [x, w]);
    r.value.dispose();
    for (const g of r.grads) g.dispose();
  }
  assert.is(rt.stats().liveBuffers, live);
});

s('a non-scalar output needs dy; dy weights the output', async () => {
  const x = upload([1, 2, 3], [3]);
  assert.throws(() => valueAndGrad(() => ops.mulScalar(x, 2), [x]), /single value or pass dy/);
  const dy = upload([1, 10, 100], [3]);
  const r = valueAndGrad(() => ops.mulScalar(x, 2), [x], dy);
  assert.equal(Array.from(await r.grads[0]!.data()), [2, 20, 200]);
  void sum;
});

s.run();
