// topk (device) and topkHost against tf.topk on the CPU backend: k = 1, 3, 5 and k = row
// length, ties (lower index first), ImageNet-sized rows, a rank-3 batch, ±Infinity worked by
// hand, and errors. Selection moves values, so values and indices must match exactly.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { topk, topkHost } from '../../src/kernels/topk.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, rng, tf } from '../helpers.ts';

const s = suite('kernels/topk');
s.before(async () => { await gpu(); });

const EXACT = { rtol: 0, atol: 0 };

/** Integers in 0..levels-1: many ties per row. */
function ties(n: number, seed: number, levels: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => Math.floor(r() * levels));
}

const cases: [string, number[], Float32Array][] = [
  ['random (3,10)', [3, 10], randn(30, 1)],
  ['ties (4,12) in 3 levels', [4, 12], ties(48, 2, 3)],
  ['all equal (2,6)', [2, 6], new Float32Array(12).fill(0.5)],
  ['ImageNet rows (2,1000)', [2, 1000], randn(2000, 3, -20, 20)],
  ['ties (2,1000) in 50 levels', [2, 1000], ties(2000, 4, 50)],
  ['rank 3 (2,3,7)', [2, 3, 7], ties(42, 5, 4)],
  ['one row of one (1)', [1], new Float32Array([7])],
];

s('device topk matches tf.topk for k = 1, 3, 5 and k = row length (exact)', async () => {
  for (const [what, sh, d] of cases) {
    const L = sh[sh.length - 1]!;
    for (const k of [...new Set([1, 3, 5, L].filter((k) => k <= L))]) {
      const { values, indices } = topk(upload(d, sh), k);
      const want = tf.topk(tf.tensor(d, sh), k);
      assert.equal([...values.shape], want.values.shape, `${what} k=${k} shape`);
      assert.equal([...indices.shape], want.indices.shape, `${what} k=${k} shape`);
      assertClose(await values.data(), ref(want.values), { ...EXACT, what: `${what} k=${k} values` });
      assertClose(await indices.data(), ref(want.indices), { ...EXACT, what: `${what} k=${k} indices` });
    }
  }
});

s('topkHost matches tf.topk for k = 1, 3, 5 and k = row length (exact)', () => {
  for (const [what, sh, d] of cases) {
    const L = sh[sh.length - 1]!;
    for (const k of [...new Set([0, 1, 3, 5, L].filter((k) => k <= L))]) {
      const { values, indices } = topkHost(d, L, k);
      const want = tf.topk(tf.tensor(d, sh), k);
      assertClose(values, ref(want.values), { ...EXACT, what: `${what} k=${k} host values` });
      assertClose(indices, ref(want.indices), { ...EXACT, what: `${what} k=${k} host indices` });
    }
  }
});

s('±Infinity and equal values order as worked by hand (device and host)', async () => {
  const d = new Float32Array([-Infinity, 2, -Infinity, 2, Infinity, -1]);
  const wantV = [Infinity, 2, 2, -1, -Infinity, -Infinity];
  const wantI = [4, 1, 3, 5, 0, 2];
  const dev = topk(upload(d, [1, 6]), 6);
  assert.equal([...(await dev.values.data())], wantV);
  assert.equal([...(await dev.indices.data())], wantI);
  const host = topkHost(d, 6, 6);
  assert.equal([...host.values], wantV);
  assert.equal([...host.indices], wantI);
});

s('k = 0 gives empty results; bad k and shapes are ShapeErrors', async () => {
  const x = upload(randn(12, 9), [3, 4]);
  const { values } = topk(x, 0);
  assert.equal([...values.shape], [3, 0]);
  const cases: [() => unknown, RegExp][] = [
    [() => topk(x, 5), /topk: k = 5 must be an integer in 0\.\.4 \(the last axis of x:\(3,4\)\)/],
    [() => topk(x, 1.5), /k = 1\.5/],
    [() => topk(upload([1], []), 1), /scalar/],
    [() => topkHost(new Float32Array(12), 4, 5), /topkHost: k = 5 must be an integer in 0\.\.4/],
    [() => topkHost(new Float32Array(10), 4, 1), /10 values do not split into rows of 4/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
