// concat against tf.concat on the CPU backend: every axis, uneven widths, Inception's 4-branch
// join in one pass, more inputs than one pass takes, empty inputs and shape errors. Exact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { concat } from '../../src/kernels/concat.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/concat');
s.before(async () => { await gpu(); });

const EXACT = { rtol: 0, atol: 0 };
const size = (sh: number[]) => sh.reduce((a, d) => a * d, 1);

async function check(shapes: number[][], axis: number | undefined, what: string, seed = 1) {
  const data = shapes.map((sh, i) => randn(size(sh), seed + i, -5, 5));
  const y = concat(data.map((d, i) => upload(d, shapes[i]!)), axis);
  const want = tf.concat(data.map((d, i) => tf.tensor(d, shapes[i]!)), axis ?? -1);
  assert.equal([...y.shape], want.shape, `${what}: shape`);
  assertClose(await y.data(), ref(want), { ...EXACT, what });
}

s('channels 1/3/5/8 on the last axis (default) match tf.concat exactly', async () => {
  await check([[2, 3, 4, 1], [2, 3, 4, 3], [2, 3, 4, 5], [2, 3, 4, 8]], undefined, 'C 1/3/5/8');
  await check([[1, 1, 1, 3], [1, 1, 1, 5]], -1, '1×1 spatial');
});

s('every axis 0..3 (and negative axes) with uneven sizes on that axis', async () => {
  const base = [2, 3, 4, 5];
  for (let ax = 0; ax < 4; ax++) {
    const shapes = [1, 3, 2].map((d) => base.map((b, a) => (a === ax ? d : b)));
    await check(shapes, ax, `axis ${ax}`, 10 * ax);
    await check(shapes, ax - 4, `axis ${ax - 4}`, 10 * ax + 5);
  }
  await check([[3, 7], [3, 2]], 1, 'rank 2');
  await check([[5], [1], [9]], 0, 'rank 1');
});

s('an Inception mixed block (4 branches, batch 2) is one dispatch', async () => {
  const rt = await gpu();
  const shapes = [64, 48, 96, 32].map((c) => [2, 5, 5, c]);
  const data = shapes.map((sh, i) => randn(size(sh), 40 + i));
  const xs = data.map((d, i) => upload(d, shapes[i]!));
  const before = rt.dispatchCount;
  const y = concat(xs);
  assert.is(rt.dispatchCount - before, 1, 'dispatches for 4 inputs');
  assertClose(await y.data(), ref(tf.concat(data.map((d, i) => tf.tensor(d, shapes[i]!)), 3)), { ...EXACT, what: 'inception' });
});

s('more inputs than one pass binds (11) and a single input', async () => {
  const shapes = Array.from({ length: 11 }, (_, i) => [2, 2, 3, 1 + (i % 4)]);
  await check(shapes, 3, '11 inputs', 60);
  await check([[2, 3, 1, 7]], 1, 'single input');
});

s('empty inputs contribute nothing', async () => {
  await check([[2, 0, 3], [2, 4, 3], [2, 0, 3], [2, 1, 3]], 1, 'empty middle');
  const y = concat([upload([], [0, 3]), upload([], [0, 3])], 0);
  assert.equal([...y.shape], [0, 3]);
});

s('bad inputs are ShapeErrors naming the shapes', () => {
  const a = upload(new Float32Array(24), [1, 2, 3, 4]);
  const b = upload(new Float32Array(30), [1, 2, 3, 5]);
  const c = upload(new Float32Array(12), [1, 2, 6]);
  const cases: [() => unknown, RegExp][] = [
    [() => concat([a, b], 2), /axis 2: x1 has shape \[1, 2, 3, 5\] but x0 has \[1, 2, 3, 4\]/],
    [() => concat([a, c]), /x1 has shape \[1, 2, 6\].*rank 4/],
    [() => concat([a, b], 4), /axis 4 is out of range for rank 4/],
    [() => concat([a, b], -5), /axis -5 is out of range/],
    [() => concat([]), /at least one tensor/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
  // The mismatch on the concat axis itself is fine.
  assert.equal([...concat([a, b], 3).shape], [1, 2, 3, 9]);
});

s.run();
