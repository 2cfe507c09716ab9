// pad and zeroPad2d against tf.pad on the CPU backend: asymmetric and zero pads, 1×1 spatial,
// ranks 1..6, a non-zero constant, ±Infinity and NaN constants, and errors. Data movement, so
// the comparison is exact.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { pad, zeroPad2d } from '../../src/kernels/pad.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/pad');
s.before(async () => { await gpu(); });

const EXACT = { rtol: 0, atol: 0 };
const size = (sh: number[]) => sh.reduce((a, d) => a * d, 1);

s('zeroPad2d matches tf.pad on H and W (asymmetric, zero pads, 1×1 spatial, batch 2)', async () => {
  const cases: [number[], number | [[number, number], [number, number]]][] = [
    [[2, 5, 7, 3], [[0, 1], [0, 1]]],
    [[2, 5, 7, 3], [[2, 0], [1, 3]]],
    [[1, 4, 4, 5], 3],
    [[2, 1, 1, 3], [[1, 2], [3, 0]]],
    [[1, 3, 3, 2], 0],
  ];
  for (const [i, [sh, p]] of cases.entries()) {
    const d = randn(size(sh), 100 + i, 0.5, 2); // non-zero, so a missed copy shows
    const y = zeroPad2d(upload(d, sh), p);
    const [h, w] = typeof p === 'number' ? [[p, p], [p, p]] : p;
    const want = tf.pad(tf.tensor(d, sh), [[0, 0], h as [number, number], w as [number, number], [0, 0]]);
    assert.equal([...y.shape], want.shape, `shape ${sh} ${JSON.stringify(p)}`);
    assertClose(await y.data(), ref(want), { ...EXACT, what: `zeroPad2d ${sh} ${JSON.stringify(p)}` });
  }
});

s('pad on every axis of ranks 1..6, with a constant value', async () => {
  const cases: [number[], [number, number][], number][] = [
    [[5], [[2, 3]], 0],
    [[3, 4], [[1, 0], [0, 2]], -1.5],
    [[2, 3, 4], [[0, 1], [2, 0], [1, 1]], 7],
    [[2, 3, 1, 5], [[1, 1], [0, 0], [2, 3], [0, 1]], 0],
    [[2, 1, 2, 3, 2], [[0, 1], [1, 0], [0, 0], [1, 2], [0, 1]], 2],
    [[1, 2, 1, 2, 1, 3], [[1, 0], [0, 1], [1, 1], [0, 0], [2, 0], [0, 2]], 0.25],
  ];
  for (const [i, [sh, p, v]] of cases.entries()) {
    const d = randn(size(sh), 200 + i, 3, 4);
    const y = pad(upload(d, sh), p, v);
    const want = tf.pad(tf.tensor(d, sh), p, v);
    assert.equal([...y.shape], want.shape, `shape ${sh}`);
    assertClose(await y.data(), ref(want), { ...EXACT, what: `pad ${sh} ${JSON.stringify(p)} value ${v}` });
  }
});

s('padding an empty axis gives all-constant output', async () => {
  const y = pad(upload([], [2, 0, 3]), [[0, 0], [1, 1], [0, 0]], 4);
  assert.equal([...y.shape], [2, 2, 3]);
  assertClose(await y.data(), new Float32Array(12).fill(4), { ...EXACT, what: 'empty axis' });
});

s('a constant of -Infinity, Infinity or NaN pads as tf.pad does (a user value, not a missing one)', async () => {
  const sh = [1, 2, 3, 1];
  const d = randn(size(sh), 300, 1, 2);
  const p: [number, number][] = [[0, 0], [1, 0], [0, 2], [0, 0]];
  for (const v of [-Infinity, Infinity, NaN]) {
    const got = await pad(upload(d, sh), p, v).data();
    const want = ref(tf.pad(tf.tensor(d, sh), p, v));
    // Element by element: Object.is tells -Infinity from Infinity and matches NaN with NaN.
    assert.equal(Array.from(got).map((g, i) => Object.is(g, want[i]) || g === want[i]), new Array<boolean>(got.length).fill(true), `value ${v}`);
    assert.is(Array.from(got).filter((g) => Object.is(g, Math.fround(v))).length, got.length - d.length, `${got.length - d.length} padded entries hold ${v}`);
  }
});

s('bad paddings are ShapeErrors naming the shape', () => {
  const x = upload(new Float32Array(24), [1, 2, 3, 4]);
  const cases: [() => unknown, RegExp][] = [
    [() => pad(x, [[0, 0], [1, 1]]), /x:\(1,2,3,4\).*one \[before, after\] pair per axis \(4\), got 2/],
    [() => pad(x, [[0, 0], [-1, 1], [0, 0], [0, 0]]), /non-negative integers/],
    [() => pad(x, [[0, 0], [0.5, 1], [0, 0], [0, 0]]), /non-negative integers/],
    [() => zeroPad2d(upload(new Float32Array(6), [2, 3]), 1), /zeroPad2d: x must be \(N,H,W,C\), got x:\(2,3\)/],
    [() => pad(upload(new Float32Array(1), [1, 1, 1, 1, 1, 1, 1]), new Array(7).fill([0, 0])), /rank 7 exceeds 6/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
