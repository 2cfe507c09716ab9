// Element-wise kernels against tfjs-core on the CPU backend: broadcasting in every direction,
// scalar ops and stand-alone activations.
import { suite } from 'uvu';
import { add, affine, activation, binary, type BinaryOp } from '../../src/kernels/elementwise.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/elementwise');
s.before(async () => { await gpu(); });

const cases: [number[], number[]][] = [
  [[2, 5, 7, 3], [2, 5, 7, 3]],
  [[2, 5, 7, 3], [3]],
  [[2, 1, 7, 1], [1, 5, 1, 3]],
  [[1], [4, 3]],
  [[3, 1, 1, 6], [3, 4, 4, 1]],
  [[1, 1, 1, 1], [1, 1, 1, 1]],
];
const tfOps: Record<BinaryOp, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
  add: tf.add, sub: tf.sub, mul: tf.mul, div: tf.div, max: tf.maximum, min: tf.minimum,
};

for (const op of Object.keys(tfOps) as BinaryOp[]) {
  s(`${op} broadcasts like tfjs (fp32, rtol 1e-6)`, async () => {
    for (const [i, [sa, sb]] of cases.entries()) {
      const da = randn(sa.reduce((x, y) => x * y, 1), 10 + i);
      const db = randn(sb.reduce((x, y) => x * y, 1), 20 + i, 0.5, 2);
      const y = binary(op, upload(da, sa), upload(db, sb));
      const want = ref(tfOps[op](tf.tensor(da, sa), tf.tensor(db, sb)));
      assertClose(await y.data(), want, { rtol: 1e-6, atol: 1e-7, what: `${op} ${sa}|${sb}` });
    }
  });
}

s('incompatible shapes are a ShapeError naming both shapes', async () => {
  try {
    add(upload(new Float32Array(6), [2, 3]), upload(new Float32Array(4), [4]));
    throw new Error('no error');
  } catch (e) {
    if (!(e instanceof Error) || !/\[2, 3\].*\[4\]/.test(e.message)) throw e;
  }
});

s('activations and affine match tfjs (rtol 1e-5)', async () => {
  const shape = [2, 3, 5, 7];
  const d = randn(210, 3, -8, 8);
  const x = upload(d, shape);
  const xt = tf.tensor(d, shape);
  const refs = {
    linear: xt.clone(), relu: tf.relu(xt), relu6: tf.relu6(xt), sigmoid: tf.sigmoid(xt), tanh: tf.tanh(xt),
  };
  for (const [a, r] of Object.entries(refs)) {
    assertClose(await activation(x, a as keyof typeof refs).data(), ref(r), { rtol: 1e-5, atol: 1e-6, what: a });
  }
  assertClose(await affine(x, 0.5, -1, 'relu').data(), ref(tf.relu(tf.sub(tf.mul(xt, 0.5), 1))), { rtol: 1e-6, atol: 1e-7 });
});

s.run();
