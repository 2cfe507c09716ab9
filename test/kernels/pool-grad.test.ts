// Pooling gradients against tfjs-core's tf.grad on the CPU backend (same random x and dy):
// max and avg over windows 2/3, strides 1/2, 'valid'/'same'/explicit padding, odd sizes, 1×1
// spatial, batch 2, channels 3/5/8 (scalar and vec4 paths); explicit ties for max pooling
// (all-equal windows, zeros after a ReLU, repeated values); global avg/max; finite differences
// through the GPU forward on tiny shapes. Tolerances: gradients rtol 1e-5 + atol 1e-6 (sums
// of a few dy values in another order); finite differences atol 1e-3.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { avgPool2d, globalAvgPool, globalMaxPool, maxPool2d, poolGeometry, type PoolPadding } from '../../src/kernels/pool.ts';
import { avgPool2dGrad, globalAvgPoolGrad, globalMaxPoolGrad, maxPool2dGrad } from '../../src/kernels/pool-grad.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, rng, tf } from '../helpers.ts';

const s = suite('kernels/pool-grad');
s.before(async () => { await gpu(); });

const prod = (sh: number[]) => sh.reduce((x, y) => x * y, 1);
const TOL = { rtol: 1e-5, atol: 1e-6 };

type Win = number | [number, number];
type Case = { x: number[]; window: Win; strides: Win; padding: PoolPadding };
const cases: Case[] = [];
for (const x of [[2, 7, 9, 3], [1, 8, 8, 8], [2, 5, 6, 5]]) {
  for (const window of [2, 3] as const) {
    for (const strides of [1, 2] as const) {
      for (const padding of ['valid', 'same'] as const) cases.push({ x, window, strides, padding });
    }
  }
}
cases.push(
  { x: [2, 7, 9, 3], window: 3, strides: 2, padding: [[1, 1], [0, 2]] },
  { x: [1, 6, 5, 8], window: [3, 2], strides: [2, 1], padding: [[1, 2], [1, 0]] },
  { x: [1, 9, 7, 5], window: [2, 3], strides: [1, 2], padding: 'same' },
  { x: [2, 1, 1, 5], window: 1, strides: 1, padding: 'valid' },
  { x: [2, 1, 1, 8], window: 2, strides: 2, padding: 'same' },
  { x: [1, 3, 3, 4], window: 3, strides: 1, padding: 'same' },
  { x: [1, 5, 5, 3], window: 5, strides: 1, padding: 'valid' },
);

const tfPad = (p: PoolPadding) => (Array.isArray(p) ? ([[0, 0], ...p, [0, 0]] as [number, number][]) : p);
type TfPool = (x: tf.Tensor4D, w: Win, s: Win, p: unknown) => tf.Tensor4D;
// tfjs 4.22 declares explicit padding only for conv, but its pool utilities accept it.
const tfMaxPool = tf.maxPool as unknown as TfPool;
const tfAvgPool = tf.avgPool as unknown as TfPool;
const opts = (c: Case) => ({ window: c.window, strides: c.strides, padding: c.padding });
const name = (c: Case) => `x(${c.x}) w${c.window} s${c.strides} ${JSON.stringify(c.padding)}`;
const outShape = (c: Case) => {
  const g = poolGeometry('test', c.x, opts(c));
  return [c.x[0]!, g.oh, g.ow, c.x[3]!];
};

async function checkMax(c: Case, xd: Float32Array, dyd: Float32Array, what: string): Promise<void> {
  const ys = outShape(c);
  const want = tf.grad((x: tf.Tensor) => tfMaxPool(x as tf.Tensor4D, c.window, c.strides, tfPad(c.padding)))(tf.tensor(xd, c.x), tf.tensor(dyd, ys));
  const dx = maxPool2dGrad(upload(dyd, ys), upload(xd, c.x), opts(c));
  assert.equal([...dx.shape], c.x, `${what}: shape`);
  assertClose(await dx.data(), ref(want), { ...TOL, what });
  dx.dispose();
}

s('maxPool2dGrad matches tf.grad(tf.maxPool) over windows, strides and paddings', async () => {
  for (const [i, c] of cases.entries()) {
    const ys = outShape(c);
    await checkMax(c, randn(prod(c.x), 100 + i, -3, 3), randn(prod(ys), 200 + i), `max ${name(c)}`);
  }
});

s('maxPool2dGrad ties: first maximum in row-major window order, as tfjs-backend-cpu', async () => {
  // A 2×2 all-equal window routes its dy to its top-left element only (host formula).
  const dx = maxPool2dGrad(upload([5], [1, 1, 1, 1]), upload([2, 2, 2, 2], [1, 2, 2, 1]), { window: 2 });
  assertClose(await dx.data(), [5, 0, 0, 0], { rtol: 0, atol: 0, what: 'all-equal 2×2 window' });
  // Equal maxima at row-major positions 1 and 2 of a 2×2 window: position 1 wins.
  const dx2 = maxPool2dGrad(upload([7], [1, 1, 1, 1]), upload([0, 3, 3, 1], [1, 2, 2, 1]), { window: 2 });
  assertClose(await dx2.data(), [0, 7, 0, 0], { rtol: 0, atol: 0, what: 'tie at positions 1 and 2' });

  const tieCases: Case[] = [
    { x: [2, 7, 9, 3], window: 3, strides: 1, padding: 'same' },
    { x: [2, 8, 8, 8], window: 2, strides: 2, padding: 'valid' },
    { x: [1, 9, 7, 5], window: 3, strides: 2, padding: 'same' },
    { x: [1, 6, 5, 8], window: [3, 2], strides: [2, 1], padding: [[1, 2], [1, 0]] },
  ];
  for (const [i, c] of tieCases.entries()) {
    const n = prod(c.x);
    const dyd = randn(prod(outShape(c)), 300 + i);
    const r = randn(n, 400 + i, -2, 2);
    const inputs: [string, Float32Array][] = [
      ['all zeros', new Float32Array(n)],
      ['all -1 (padding never wins)', new Float32Array(n).fill(-1)],
      ['zeros after a ReLU', r.map((v) => Math.max(v, 0))],
      ['ReLU of values quantised to 0.5 (repeated maxima)', r.map((v) => Math.max(Math.round(v * 2) / 2, 0))],
    ];
    for (const [label, xd] of inputs) await checkMax(c, xd, dyd, `${label} ${name(c)}`);
  }
});

/** Average pooling whose tf.grad is right with padding: pad, pool 'valid', rescale by kh·kw/count. */
function avgPoolRef(x: tf.Tensor4D, c: Case): tf.Tensor4D {
  const H = c.x[1]!, W = c.x[2]!;
  const g = poolGeometry('ref', c.x, opts(c));
  const pb = (g.oh - 1) * g.sh + g.kh - H - g.pt, pr = (g.ow - 1) * g.sw + g.kw - W - g.pl;
  const pads: [number, number][] = [[0, 0], [g.pt, Math.max(pb, 0)], [g.pl, Math.max(pr, 0)], [0, 0]];
  const sums = tf.mul(tf.avgPool(tf.pad(x, pads), [g.kh, g.kw], [g.sh, g.sw], 'valid'), g.kh * g.kw);
  const counts = tf.mul(tf.avgPool(tf.pad(tf.ones(x.shape) as tf.Tensor4D, pads), [g.kh, g.kw], [g.sh, g.sw], 'valid'), g.kh * g.kw);
  return tf.div(sums, counts) as tf.Tensor4D;   // counts are constants: no gradient path
}

s('avgPool2dGrad matches tf.grad of average pooling, padding excluded from counts', async () => {
  // tfjs-backend-cpu's own avgPoolGrad divides by kh·kw even where the forward divided by the
  // in-bounds count, so padded cases use a composition whose gradient is the true one (its
  // forward is checked against tf.avgPool first).
  for (const [i, c] of cases.entries()) {
    const ys = outShape(c);
    const xd = randn(prod(c.x), 500 + i, -3, 3), dyd = randn(prod(ys), 600 + i);
    const xt = tf.tensor4d(xd, c.x as [number, number, number, number]);
    assertClose(ref(avgPoolRef(xt, c)), ref(tfAvgPool(xt, c.window, c.strides, tfPad(c.padding))), { ...TOL, what: `ref forward ${name(c)}` });
    const want = tf.grad((x: tf.Tensor) => avgPoolRef(x as tf.Tensor4D, c))(xt, tf.tensor(dyd, ys));
    if (c.padding === 'valid') {
      const direct = tf.grad((x: tf.Tensor) => tf.avgPool(x as tf.Tensor4D, c.window, c.strides, 'valid'))(xt, tf.tensor(dyd, ys));
      assertClose(ref(direct), await want.data(), { ...TOL, what: `tf.grad(avgPool) valid ${name(c)}` });
    }
    const dx = avgPool2dGrad(upload(dyd, ys), c.x, opts(c));
    assert.equal([...dx.shape], c.x);
    assertClose(await dx.data(), ref(want), { ...TOL, what: `avg ${name(c)}` });
    dx.dispose();
  }
});

s('global pool gradients match tf.grad of tf.mean / tf.max over H,W (ties: every maximum, as tfjs)', async () => {
  for (const [i, sh] of [[2, 7, 9, 3], [1, 8, 8, 8], [2, 1, 1, 5], [3, 4, 5, 12], [1, 13, 11, 2]].entries()) {
    const n = prod(sh), dys = [sh[0]!, sh[3]!];
    const r = randn(n, 700 + i, -2, 2), dyd = randn(prod(dys), 800 + i);
    const dy = upload(dyd, dys);
    const xt = tf.tensor(r, sh);
    const gap = globalAvgPoolGrad(dy, sh);
    assertClose(await gap.data(), ref(tf.grad((x: tf.Tensor) => tf.mean(x, [1, 2]))(xt, tf.tensor(dyd, dys))), { ...TOL, what: `gap ${sh}` });
    for (const [label, xd] of [['random', r], ['zeros after a ReLU', r.map((v) => Math.max(v, 0))], ['all zeros', new Float32Array(n)]] as const) {
      const want = tf.grad((x: tf.Tensor) => tf.max(x, [1, 2]))(tf.tensor(xd, sh), tf.tensor(dyd, dys));
      const dx = globalMaxPoolGrad(dy, upload(xd, sh));
      assertClose(await dx.data(), ref(want), { ...TOL, what: `gmp ${label} ${sh}` });
    }
  }
});

s("globalMaxPoolGrad 'first' and 'split' tie rules vs a host formula", async () => {
  const sh = [2, 5, 6, 3];
  const [N, H, W, C] = sh as [number, number, number, number];
  const r = randn(prod(sh), 900, -1, 1).map((v) => Math.max(Math.round(v * 2) / 2, 0));
  r.fill(0, 0, H * W * C);   // batch 0: every position ties
  const dyd = randn(N * C, 901);
  const first = new Float32Array(r.length), split = new Float32Array(r.length);
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const at = (p: number) => (n * H * W + p) * C + c;
      let best = -Infinity, arg = -1, ties = 0;
      for (let p = 0; p < H * W; p++) {
        const v = r[at(p)]!;
        if (v > best) { best = v; arg = p; ties = 1; } else if (v === best) ties++;
      }
      first[at(arg)] = dyd[n * C + c]!;
      for (let p = 0; p < H * W; p++) if (r[at(p)] === best) split[at(p)] = dyd[n * C + c]! / ties;
    }
  }
  const x = upload(r, sh), dy = upload(dyd, [N, C]);
  assertClose(await globalMaxPoolGrad(dy, x, 'first').data(), first, { ...TOL, what: 'first' });
  assertClose(await globalMaxPoolGrad(dy, x, 'split').data(), split, { ...TOL, what: 'split' });
});

/** Distinct values spaced 0.05 apart (no ties, and no argmax change under a ±0.01 step). */
function distinct(n: number, seed: number): Float32Array {
  const r = rng(seed);
  const v = Array.from({ length: n }, (_, i) => (i - n / 2) * 0.05);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [v[i], v[j]] = [v[j]!, v[i]!];
  }
  return Float32Array.from(v);
}

/** ⟨w, f(x)⟩ in float64 with f run on the GPU. */
function dotWith(w: Float32Array, sh: number[], f: (x: Tensor) => Tensor) {
  return async (xd: Float32Array) => {
    const y = f(upload(xd, sh));
    const d = await y.data();
    y.dispose();
    let acc = 0;
    for (let i = 0; i < d.length; i++) acc += d[i]! * w[i]!;
    return acc;
  };
}

s('finite differences of the GPU forwards agree with every pooling gradient (atol 1e-3)', async () => {
  const sh = [1, 5, 4, 2];
  const xd = distinct(prod(sh), 11);
  const FD = { rtol: 1e-3, atol: 1e-3 };
  for (const c of [
    { x: sh, window: 3, strides: 2, padding: 'same' },
    { x: sh, window: 2, strides: 1, padding: 'valid' },
  ] as Case[]) {
    const ys = outShape(c);
    const w = randn(prod(ys), 12);
    const maxFd = await finiteDiff(dotWith(w, sh, (x) => maxPool2d(x, opts(c))), xd);
    assertClose(await maxPool2dGrad(upload(w, ys), upload(xd, sh), opts(c)).data(), maxFd, { ...FD, what: `max FD ${name(c)}` });
    const avgFd = await finiteDiff(dotWith(w, sh, (x) => avgPool2d(x, opts(c))), xd);
    assertClose(await avgPool2dGrad(upload(w, ys), sh, opts(c)).data(), avgFd, { ...FD, what: `avg FD ${name(c)}` });
  }
  const wg = randn(sh[0]! * sh[3]!, 13);
  const gapFd = await finiteDiff(dotWith(wg, sh, globalAvgPool), xd);
  assertClose(await globalAvgPoolGrad(upload(wg, [1, 2]), sh).data(), gapFd, { ...FD, what: 'gap FD' });
  const gmpFd = await finiteDiff(dotWith(wg, sh, globalMaxPool), xd);
  assertClose(await globalMaxPoolGrad(upload(wg, [1, 2]), upload(xd, sh)).data(), gmpFd, { ...FD, what: 'gmp FD' });
});

s('gradient shape errors name the op and what to do', () => {
  const t = (sh: number[]) => upload(new Float32Array(prod(sh)), sh);
  const expect = (fn: () => unknown, re: RegExp) => {
    try {
      fn();
    } catch (e) {
      assert.ok(e instanceof ShapeError, `expected ShapeError, got ${String(e)}`);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable('no error thrown');
  };
  expect(() => maxPool2dGrad(t([1, 3, 3, 2]), t([1, 4, 4, 2]), { window: 2 }), /maxPool2dGrad.*\(1,2,2,2\).*same window/);
  expect(() => avgPool2dGrad(t([1, 2, 2, 2]), [1, 4, 4, 3], { window: 2 }), /avgPool2dGrad.*dy must have/);
  expect(() => avgPool2dGrad(t([1, 2, 2, 2]), [4, 4, 2], { window: 2 }), /avgPool2dGrad.*NHWC/);
  expect(() => globalAvgPoolGrad(t([2, 3]), [2, 4, 4, 5]), /globalAvgPoolGrad.*\(2,5\)/);
  expect(() => globalMaxPoolGrad(t([2, 3]), t([2, 3, 3])), /globalMaxPoolGrad.*NHWC/);
  expect(() => globalMaxPoolGrad(t([1, 3]), t([1, 2, 2, 3]), 'mean' as 'all'), /unknown ties rule/);
});

s.run();
