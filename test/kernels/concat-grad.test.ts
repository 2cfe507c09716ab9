// slice against tf.slice and concatGrad against tf.grads of tf.concat (CPU backend) with the
// same random upstream gradient: both only move values, so the comparison is exact (rtol 0,
// atol 0). Plus a finite-difference check of concat through the GPU and the error messages.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { concat, concatGrad, slice } from '../../src/kernels/concat.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/concat-grad');
s.before(async () => { await gpu(); });

const EXACT = { rtol: 0, atol: 0 };
const size = (sh: readonly number[]) => sh.reduce((a, d) => a * d, 1);

async function checkSlice(sh: number[], begin: number[], sz: number[], seed: number) {
  const d = randn(size(sh), seed, -5, 5);
  const y = slice(upload(d, sh), begin, sz);
  const want = tf.slice(tf.tensor(d, sh), begin, sz);
  const what = `slice ${sh} begin ${begin} size ${sz}`;
  assert.equal([...y.shape], want.shape, `${what}: shape`);
  assertClose(await y.data(), ref(want), { ...EXACT, what });
}

s('slice matches tf.slice: odd ranges, -1 sizes, short begin/size, ranks 1..5', async () => {
  await checkSlice([2, 7, 9, 5], [1, 2, 3, 1], [1, 4, 5, 3], 1);
  await checkSlice([2, 7, 9, 5], [0, 1, 0, 2], [-1, 5, -1, -1], 2); // full extents merge
  await checkSlice([2, 7, 9, 5], [0, 0, 0, 4], [2, 7, 9, 1], 3); // one channel
  await checkSlice([3, 1, 1, 6], [1, 0, 0, 0], [2, 1, 1, 6], 4); // 1×1 spatial, contiguous
  await checkSlice([2, 5, 4, 3], [1, 3], [1, -1], 5); // trailing axes default to the full extent
  await checkSlice([13], [4], [7], 6);
  await checkSlice([4, 11], [3, 0], [1, 11], 7);
  await checkSlice([2, 3, 4, 5, 6], [1, 1, 0, 2, 1], [1, 2, 4, 3, 4], 8);
  await checkSlice([3, 4, 5], [1, 2, 5], [2, 2, 0], 9); // empty result
});

s('slice of a rank-8 tensor works when axes merge, else it is a ShapeError', async () => {
  await checkSlice([2, 1, 2, 1, 2, 1, 2, 3], [1, 0, 0, 0, 0, 0, 0, 1], [1, 1, -1, 1, -1, 1, -1, 2], 10);
  const x = upload(new Float32Array(3 ** 7), [3, 3, 3, 3, 3, 3, 3]);
  assert.throws(
    () => slice(x, [1, 1, 1, 1, 1, 1, 1], [2, 2, 2, 2, 2, 2, 2]),
    (e: unknown) => e instanceof ShapeError && /7 independent axes, more than 6/.test(e.message),
  );
  await checkSlice([3, 3, 3, 3, 3, 3, 3], [1, 0, 1, 1, 1, 1, 1], [2, 3, 2, 2, 2, 2, 2], 11); // 6 groups
});

/** dx_i of y = concat(xs, axis) against tf.grads with upstream dy. */
async function checkGrad(shapes: number[][], axis: number, what: string, seed: number): Promise<Tensor[]> {
  const data = shapes.map((sh, i) => randn(size(sh), seed + i, -5, 5));
  const ySh = tf.concat(data.map((d, i) => tf.tensor(d, shapes[i]!)), axis).shape;
  const dyData = randn(size(ySh), seed + 100, -3, 3);
  const got = concatGrad(upload(dyData, ySh), shapes, axis);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.concat(xs, axis))(
    data.map((d, i) => tf.tensor(d, shapes[i]!)),
    tf.tensor(dyData, ySh),
  );
  assert.is(got.length, shapes.length, `${what}: one gradient per input`);
  for (const [i, g] of got.entries()) {
    assert.equal([...g.shape], shapes[i], `${what}: dx${i} shape`);
    assertClose(await g.data(), ref(grads[i]!), { ...EXACT, what: `${what} dx${i}` });
  }
  return got;
}

s('concatGrad matches tf.grads of tf.concat on axes 0..3 with 4 uneven inputs', async () => {
  const base = [2, 3, 4, 5];
  for (let ax = 0; ax < 4; ax++) {
    const shapes = [1, 3, 2, 5].map((d) => base.map((b, a) => (a === ax ? d : b)));
    await checkGrad(shapes, ax, `axis ${ax}`, 10 * ax);
    await checkGrad(shapes, ax - 4, `axis ${ax - 4}`, 10 * ax + 5);
  }
  await checkGrad([[5], [1], [9]], 0, 'rank 1', 50);
});

s('concatGrad: 4 Inception branches in one dispatch; 11 inputs; empty and single inputs', async () => {
  const rt = await gpu();
  const shapes = [64, 48, 96, 32].map((c) => [2, 5, 5, c]);
  const dy = upload(randn(2 * 5 * 5 * 240, 60), [2, 5, 5, 240]);
  const before = rt.dispatchCount;
  const parts = concatGrad(dy, shapes);
  assert.is(rt.dispatchCount - before, 1, 'dispatches for 4 inputs');
  for (const p of parts) p.dispose();
  await checkGrad([[2, 5, 5, 64], [2, 5, 5, 48], [2, 5, 5, 96], [2, 5, 5, 32]], 3, 'inception', 61);
  await checkGrad(Array.from({ length: 11 }, (_, i) => [2, 2, 3, 1 + (i % 4)]), 3, '11 inputs', 70);
  await checkGrad([[2, 3, 1, 7]], 1, 'single input', 90);
  // An empty input gets an empty gradient (tf.concat drops it, so check by hand).
  const d = randn(2 * 5 * 3, 95);
  const g = concatGrad(upload(d, [2, 5, 3]), [[2, 0, 3], [2, 4, 3], [2, 0, 3], [2, 1, 3]], 1);
  assert.equal(g.map((t) => [...t.shape]), [[2, 0, 3], [2, 4, 3], [2, 0, 3], [2, 1, 3]]);
  assertClose(await g[1]!.data(), ref(tf.slice(tf.tensor(d, [2, 5, 3]), [0, 0, 0], [2, 4, 3])), { ...EXACT, what: 'empty: dx1' });
  assertClose(await g[3]!.data(), ref(tf.slice(tf.tensor(d, [2, 5, 3]), [0, 4, 0], [2, 1, 3])), { ...EXACT, what: 'empty: dx3' });
});

s('concatGrad agrees with finite differences of w·concat(x0, x1) through the GPU', async () => {
  const shapes = [[1, 2, 2, 1], [1, 2, 2, 2]];
  const x1 = upload(randn(4 * 2, 201), shapes[1]!);
  const w = randn(12, 202);
  const dot = (a: Float32Array) => a.reduce((acc, v, i) => acc + v * w[i]!, 0);
  const x0 = randn(4, 203);
  const fd = await finiteDiff(async (x) => dot(await concat([upload(x, shapes[0]!), x1]).data()), x0);
  const [g0] = concatGrad(upload(w, [1, 2, 2, 3]), shapes);
  // Linear in x: differences are exact up to float32 rounding of the sums.
  assertClose(await g0!.data(), fd, { rtol: 1e-3, atol: 1e-3, what: 'finite differences' });
});

s('bad arguments are ShapeErrors that name the shapes', () => {
  const dy = upload(new Float32Array(2 * 3 * 9), [2, 3, 9]);
  const x = upload(new Float32Array(24), [2, 3, 4]);
  const cases: [() => unknown, RegExp][] = [
    [() => concatGrad(dy, [[2, 3, 4], [2, 3, 4]]), /sum to 8 but dy has 9/],
    [() => concatGrad(dy, [[2, 3, 4], [2, 4, 5]]), /x1 must have rank 3 and match dy on every axis except 2/],
    [() => concatGrad(dy, [[2, 3, 4], [3, 5]]), /x1 must have rank 3/],
    [() => concatGrad(dy, []), /at least one forward input/],
    [() => concatGrad(dy, [[2, 3, 9]], 3), /axis 3 is out of range for rank 3/],
    [() => slice(x, [0, 2, 0], [2, 2, 4]), /axis 1 \(size 3\) cannot hold \[2, 4\)/],
    [() => slice(x, [0, 0, -1], [2, 3, 1]), /axis 2 \(size 4\) cannot hold/],
    [() => slice(x, [0, 0, 0, 0], [1]), /at most one entry per axis \(3\)/],
    [() => slice(x, [0.5], [1]), /axis 0/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
