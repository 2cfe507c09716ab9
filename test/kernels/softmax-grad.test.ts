// softmaxGrad and logSoftmaxGrad against tf.grad of tf.softmax / tf.logSoftmax (CPU backend)
// with the same random logits and upstream gradients: rows of length 1, 3 and 1000, logits up
// to ±80, a batch of rows in a rank-4 tensor. Tolerance rtol 1e-4 with atol 1e-6 (softmax:
// dx ≤ 2 in size, tails below that underflow differently) or 1e-5 (logSoftmax: dx reaches
// |Σ dy| ≈ 20 on 1000-long rows). Plus finite differences and errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { logSoftmax, logSoftmaxGrad, softmax, softmaxGrad } from '../../src/kernels/softmax.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/softmax-grad');
s.before(async () => { await gpu(); });

const cases: [number[], number][] = [
  [[4, 1], 5], // one class: softmax is constant, dx = 0
  [[5, 3], 3],
  [[2, 1000], 80], // ImageNet-sized rows with large logits
  [[3, 1000], 2],
  [[2, 3, 4, 7], 80],
  [[6], 1],
];
const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);

for (const log of [false, true]) {
  const name = log ? 'logSoftmaxGrad' : 'softmaxGrad';
  const tol = { rtol: 1e-4, atol: log ? 1e-5 : 1e-6 };
  s(`${name} matches tf.grad of tf.${log ? 'logSoftmax' : 'softmax'} (rtol 1e-4)`, async () => {
    for (const [i, [sh, amp]] of cases.entries()) {
      const x = randn(size(sh), 10 + i, -amp, amp);
      const dy = randn(size(sh), 40 + i, -1, 1);
      const fwd = (t: tf.Tensor) => (log ? tf.logSoftmax(t) : tf.softmax(t));
      const want = ref(tf.grad(fwd)(tf.tensor(x, sh), tf.tensor(dy, sh)));
      // y from tfjs isolates the backward kernel; y from our forward is how the tape runs it.
      const yTf = upload(ref(fwd(tf.tensor(x, sh))), sh);
      const yOurs = (log ? logSoftmax : softmax)(upload(x, sh));
      for (const [src, y] of [['tf y', yTf], ['our y', yOurs]] as const) {
        const dx = (log ? logSoftmaxGrad : softmaxGrad)(upload(dy, sh), y);
        assert.equal([...dx.shape], sh);
        assertClose(await dx.data(), want, { ...tol, what: `${name} ${sh} ±${amp} (${src})` });
      }
    }
  });
}

s('finite differences of w·softmax(x) and w·logSoftmax(x) through the GPU', async () => {
  const sh = [2, 3];
  const w = randn(6, 60);
  const x0 = randn(6, 61, -2, 2);
  for (const log of [false, true]) {
    const fwd = log ? logSoftmax : softmax;
    const fd = await finiteDiff(async (x) => (await fwd(upload(x, sh)).data()).reduce((a, v, i) => a + v * w[i]!, 0), x0, 1e-2);
    const dx = (log ? logSoftmaxGrad : softmaxGrad)(upload(w, sh), fwd(upload(x0, sh)));
    // Central differences of a smooth function: O(eps²) truncation plus f32 rounding / eps.
    assertClose(await dx.data(), fd, { rtol: 1e-2, atol: 1e-3, what: `${log ? 'logSoftmax' : 'softmax'} finite differences` });
  }
});

s('mismatched shapes and scalars are ShapeErrors', () => {
  const a = upload(new Float32Array(6), [2, 3]);
  const b = upload(new Float32Array(6), [3, 2]);
  const cases: [() => unknown, RegExp][] = [
    [() => softmaxGrad(a, b), /softmaxGrad: dy and y must have the same shape \(dy:\(2,3\) y:\(3,2\)\)/],
    [() => logSoftmaxGrad(a, upload(new Float32Array(6), [6])), /logSoftmaxGrad: dy and y must have the same shape/],
    [() => logSoftmaxGrad(upload([1], []), upload([1], [])), /scalar/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
