// conv2d / depthwiseConv2d backward kernels against tf.grads of tf.conv2d / tf.depthwiseConv2d
// (tfjs-core CPU backend; groups by splitting channels) with the same x, w and upstream dy;
// dilated cases against a float64 host sum (tfjs has no gradient for dilations > 1); and a
// finite-difference check of both gradients through camlight's own forward on a tiny shape.
//
// Tolerance: |got - want| ≤ 1e-4·|want| + 1e-4·max|want|, as in the forward test: the sums run
// over up to N·OH·OW (dWeight) or KH·KW·K (dInput) terms in a different order than tfjs, and
// their rounding grows with the terms' magnitude, not the (possibly cancelling) result's. A wrong
// tap, phase or channel gives O(1e-1) errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseInputGradTile, chooseWeightGradTile, conv2dBiasGrad, conv2dInputGrad, conv2dInputGradWithTile, conv2dWeightGrad,
  conv2dWeightGradWithTile, depthwiseConv2dInputGrad, depthwiseConv2dWeightGrad, type InputGradTile, type WeightGradTile,
} from '../../src/kernels/conv2d-backward.ts';
import { conv2d, conv2dOutputShape, type Conv2dOptions } from '../../src/kernels/conv2d.ts';
import { ShapeError } from '../../src/gpu/errors.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/conv2d-backward');
s.before(async () => { await gpu(); });

type Opts = Omit<Conv2dOptions, 'bias' | 'activation'>;
const size = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);
type P4 = [number, number, number, number];

function tfPad(p: Conv2dOptions['padding']) {
  if (p === undefined) return 'valid' as const;
  if (typeof p === 'string') return p;
  return [[0, 0], p[0], p[1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
}

function check(got: Float32Array, want: Float32Array, what: string) {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(got, want, { rtol: 1e-4, atol: 1e-4 * Math.max(scale, 1e-3), what });
}

/** tf.grads of Σ conv(x, w)·dy, with groups as per-group convs concatenated along channels. */
function tfGrads(xd: Float32Array, xs: number[], wd: Float32Array, ws: number[], dyd: Float32Array, o: Opts, depthwise: boolean) {
  return tf.tidy(() => {
    const x = tf.tensor4d(xd, xs as P4), w = tf.tensor4d(wd, ws as P4);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      let y: tf.Tensor;
      if (depthwise) y = tf.depthwiseConv2d(a as tf.Tensor4D, b as tf.Tensor4D, pair(o.strides), o.padding as 'same' | 'valid');
      else {
        const g = o.groups ?? 1;
        const xg = g > 1 ? tf.split(a, g, 3) : [a];
        const wg = g > 1 ? tf.split(b, g, 3) : [b];
        const ys = xg.map((xi, i) => tf.conv2d(xi as tf.Tensor4D, wg[i] as tf.Tensor4D, pair(o.strides), tfPad(o.padding), 'NHWC', 1));
        y = g > 1 ? tf.concat(ys, 3) : ys[0]!;
      }
      return tf.sum(tf.mul(y, tf.tensor(dyd, y.shape)));
    };
    const [dx, dw] = tf.grads(f)([x, w]);
    return [ref(dx!.clone()), ref(dw!.clone())];
  });
}

/** Float64 host sums for any stride/dilation/padding/groups (w:(KH,KW,C/g,K)). */
function hostGrads(xd: Float32Array, xs: number[], wd: Float32Array, ws: number[], dyd: Float32Array, o: Opts) {
  const g = conv2dOutputShape(xs, ws, o);
  const [n, h, w, c] = xs as P4;
  const [kh, kw, cg, k] = ws as P4;
  const [, oh, ow] = g.outShape;
  const kg = k / g.groups;
  const dx = new Float64Array(size(xs)), dw = new Float64Array(size(ws));
  for (let b = 0; b < n; b++) for (let y = 0; y < oh; y++) for (let z = 0; z < ow; z++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    const ih = y * g.strides[0] - g.pads.top + i * g.dilations[0], iw = z * g.strides[1] - g.pads.left + j * g.dilations[1];
    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
    for (let ko = 0; ko < k; ko++) {
      const d = dyd[((b * oh + y) * ow + z) * k + ko]!, grp = Math.floor(ko / kg);
      for (let ci = 0; ci < cg; ci++) {
        const xi = ((b * h + ih) * w + iw) * c + grp * cg + ci, wi = ((i * kw + j) * cg + ci) * k + ko;
        dx[xi]! += d * wd[wi]!;
        dw[wi]! += d * xd[xi]!;
      }
    }
  }
  return [Float32Array.from(dx), Float32Array.from(dw)];
}

let seed = 1;
interface Case { xs: number[]; ws: number[]; o: Opts; depthwise?: boolean; it?: InputGradTile; wt?: WeightGradTile; splits?: number }

async function runCase({ xs, ws, o, depthwise = false, it, wt, splits }: Case) {
  const g = depthwise
    ? conv2dOutputShape(xs, [ws[0]!, ws[1]!, 1, ws[2]! * ws[3]!], { ...o, groups: xs[3]! })
    : conv2dOutputShape(xs, ws, o);
  const xd = randn(size(xs), seed++), wd = randn(size(ws), seed++, -0.5, 0.5), dyd = randn(size(g.outShape), seed++);
  const dil = pair(o.dilations).some((d) => d > 1);
  const [wantDx, wantDw] = dil ? hostGrads(xd, xs, wd, ws, dyd, o) : tfGrads(xd, xs, wd, ws, dyd, o, depthwise);
  const x = upload(xd, xs), w = upload(wd, ws), dy = upload(dyd, g.outShape);
  const dx = depthwise ? depthwiseConv2dInputGrad(dy, w, xs, o) : it || !wt ? conv2dInputGradWithTile(dy, w, xs, o, it ?? null) : null;
  const dw = depthwise ? depthwiseConv2dWeightGrad(x, dy, ws, o) : wt || !it ? conv2dWeightGradWithTile(x, dy, ws, o, wt ?? null, splits) : null;
  const what = `x:(${xs}) w:(${ws}) ${JSON.stringify(o)}${depthwise ? ' depthwise' : ''} ${it ? `dInput tile ${JSON.stringify(it)}` : ''}${wt ? `dWeight tile ${JSON.stringify(wt)} splits ${splits}` : ''}`;
  if (dx) {
    assert.equal([...dx.shape], xs, `dx shape ${what}`);
    check(await dx.data(), wantDx!, `dx ${what}`);
  }
  if (dw) {
    assert.equal([...dw.shape], ws, `dw shape ${what}`);
    check(await dw.data(), wantDw!, `dw ${what}`);
  }
  for (const t of [x, w, dy, dx, dw]) t?.dispose();
}

s('geometry: strides, same/valid/explicit padding, 1×1 kernels and maps, odd sizes (heuristic tiles)', async () => {
  const cases: [number[], number[], Opts][] = [
    [[1, 8, 8, 3], [3, 3, 3, 8], { padding: 'same' }],
    [[2, 7, 9, 5], [3, 3, 5, 7], { padding: 'same', strides: 2 }],
    [[3, 7, 9, 4], [3, 3, 4, 12], { padding: 'valid' }],
    [[2, 9, 7, 6], [3, 3, 6, 5], { padding: [[1, 0], [2, 1]] }],
    [[2, 9, 8, 4], [3, 3, 4, 8], { padding: [[2, 1], [0, 2]], strides: 2 }],
    [[2, 5, 5, 7], [1, 1, 7, 3], {}],
    [[2, 7, 7, 4], [1, 1, 4, 4], { strides: 2 }], // phases with odd ih get no tap: dx = 0 there
    [[2, 1, 1, 8], [1, 1, 8, 4], {}],
    [[1, 1, 1, 3], [3, 3, 3, 5], { padding: 'same' }],
    [[1, 6, 6, 4], [5, 5, 4, 4], { padding: 'same', strides: [2, 1] }],
    [[1, 10, 11, 8], [3, 3, 8, 8], { padding: 'valid', strides: 3 }],
    [[2, 8, 8, 16], [3, 3, 16, 20], { padding: 'same', strides: [1, 2] }],
  ];
  for (const [xs, ws, o] of cases) await runCase({ xs, ws, o });
});

s('dilation 2 (with stride 1, 2 and 3) against float64 host sums', async () => {
  await runCase({ xs: [1, 9, 9, 4], ws: [3, 3, 4, 8], o: { padding: 'same', dilations: 2 } });
  await runCase({ xs: [2, 10, 8, 5], ws: [3, 2, 5, 3], o: { padding: 'valid', dilations: [1, 2] } });
  await runCase({ xs: [1, 11, 9, 4], ws: [3, 3, 4, 4], o: { padding: 'same', dilations: 2, strides: 2 } });
  await runCase({ xs: [1, 13, 12, 3], ws: [3, 3, 3, 4], o: { padding: 'same', dilations: 2, strides: 3 } });
});

s('groups 2 (reference: per-group tf.conv2d)', async () => {
  await runCase({ xs: [2, 6, 5, 8], ws: [3, 3, 4, 6], o: { padding: 'same', groups: 2 } });
  await runCase({ xs: [1, 7, 7, 6], ws: [3, 3, 3, 8], o: { padding: 'valid', groups: 2, strides: 2 } });
  await runCase({ xs: [3, 4, 5, 10], ws: [1, 1, 5, 10], o: { groups: 2 } });
  await runCase({ xs: [1, 9, 9, 4], ws: [3, 3, 2, 6], o: { padding: 'same', groups: 2, dilations: 2 } });
});

s('depthwise: M 1 and 2, stride 1 and 2', async () => {
  await runCase({ xs: [2, 7, 9, 3], ws: [3, 3, 3, 1], o: { padding: 'same' }, depthwise: true });
  await runCase({ xs: [1, 8, 8, 4], ws: [3, 3, 4, 2], o: { padding: 'same', strides: 2 }, depthwise: true });
  await runCase({ xs: [2, 6, 7, 5], ws: [3, 3, 5, 2], o: { padding: 'valid' }, depthwise: true });
  await runCase({ xs: [1, 9, 9, 8], ws: [5, 5, 8, 1], o: { padding: 'same', strides: 2 }, depthwise: true });
});

// Every tile the heuristics can return (checked below), plus odd ones.
const inputTiles: InputGradTile[] = [
  { wgx: 32, p: 5, kb: 8 }, { wgx: 32, p: 4, kb: 8 }, { wgx: 32, p: 5, kb: 4 }, { wgx: 32, p: 4, kb: 4 }, { wgx: 32, p: 4, kb: 16 },
  { wgx: 64, p: 4, kb: 16 }, { wgx: 64, p: 4, kb: 4 }, { wgx: 8, p: 3, kb: 12 },
];
const weightTiles: WeightGradTile[] = [
  { wgx: 8, cb: 16, kb: 16 }, { wgx: 8, cb: 16, kb: 4 }, { wgx: 8, cb: 4, kb: 16 }, { wgx: 8, cb: 4, kb: 8 }, { wgx: 8, cb: 4, kb: 4 },
  { wgx: 8, cb: 3, kb: 16 }, { wgx: 8, cb: 2, kb: 8 }, { wgx: 64, cb: 4, kb: 8 }, { wgx: 64, cb: 4, kb: 4 }, { wgx: 64, cb: 3, kb: 8 },
  { wgx: 64, cb: 2, kb: 8 }, { wgx: 32, cb: 8, kb: 12 }, { wgx: 32, cb: 1, kb: 4 },
];

s('every tile variant, vec4 and scalar layouts', async () => {
  const vec: Case = { xs: [2, 6, 7, 24], ws: [3, 3, 24, 20], o: { padding: 'same', strides: 2 } };
  const scalar: Case = { xs: [1, 7, 6, 5], ws: [3, 3, 5, 7], o: { padding: 'same' } };
  const grouped: Case = { xs: [1, 5, 6, 12], ws: [3, 3, 6, 4], o: { padding: 'valid', groups: 2 } };
  for (const it of inputTiles) for (const c of [vec, scalar]) await runCase({ ...c, it });
  await runCase({ ...grouped, it: inputTiles[6] });
  for (const wt of weightTiles) {
    for (const c of [vec, scalar, grouped]) {
      if (c.ws[2]! % 4 === 0 && wt.cb % 4 !== 0) continue; // cb must be a multiple of 4 when C/groups is
      await runCase({ ...c, wt });
    }
  }
});

s('dWeight split-K: the heuristic splits an RGB layer; explicit uneven splits agree', async () => {
  const g = conv2dOutputShape([1, 32, 32, 3], [3, 3, 3, 8], { padding: 'same' });
  const pick = chooseWeightGradTile(g, true);
  assert.ok(pick.splits > 1, `32×32×3→8 should be split, got ${pick.splits}`);
  await runCase({ xs: [1, 32, 32, 3], ws: [3, 3, 3, 8], o: { padding: 'same' }, wt: pick.tile });
  for (const splits of [2, 3, 7, 100]) {
    await runCase({ xs: [2, 9, 10, 4], ws: [3, 3, 4, 8], o: { padding: 'same', strides: 2 }, wt: { wgx: 8, cb: 4, kb: 8 }, splits });
  }
});

s('the heuristics pick tiles the tile test covers', () => {
  const geo = (xs: number[], ws: number[], o: Opts = { padding: 'same' }) => conv2dOutputShape(xs, ws, o);
  const shapes: [number[], number[]][] = [
    [[1, 224, 224, 3], [3, 3, 3, 64]], [[1, 56, 56, 256], [3, 3, 256, 256]], [[1, 14, 14, 512], [3, 3, 512, 512]],
    [[1, 9, 9, 8], [3, 3, 8, 3]], [[1, 9, 9, 2], [3, 3, 2, 8]], [[1, 9, 9, 4], [3, 3, 4, 2]], [[1, 9, 9, 16], [3, 3, 16, 3]],
  ];
  const key = (t: object) => JSON.stringify(t);
  for (const [xs, ws] of shapes) {
    for (const cpu of [true, false]) {
      const it = chooseInputGradTile(geo(xs, ws), cpu);
      assert.ok(inputTiles.some((t) => key(t) === key(it)), `dInput tile ${key(it)} for x:(${xs}) w:(${ws}) is not tested`);
      const wt = chooseWeightGradTile(geo(xs, ws), cpu).tile;
      assert.ok(weightTiles.some((t) => key(t) === key(wt)), `dWeight tile ${key(wt)} for x:(${xs}) w:(${ws}) is not tested`);
    }
  }
  const dw = chooseInputGradTile(geo([1, 9, 9, 8], [3, 3, 1, 8], { padding: 'same', groups: 8 }), true);
  assert.ok(inputTiles.some((t) => key(t) === key(dw)));
  assert.equal(chooseWeightGradTile(geo([1, 14, 14, 512], [3, 3, 512, 512]), true).splits, 1);
  assert.ok(chooseWeightGradTile(geo([1, 224, 224, 3], [3, 3, 3, 64]), true).splits >= 16);
});

s('bias gradient = Σ_{n,oh,ow} dy', async () => {
  const dyd = randn(2 * 5 * 7 * 6, seed++);
  const dy = upload(dyd, [2, 5, 7, 6]);
  const db = conv2dBiasGrad(dy);
  assert.equal([...db.shape], [6]);
  check(await db.data(), ref(tf.sum(tf.tensor4d(dyd, [2, 5, 7, 6]), [0, 1, 2])), 'dBias');
  dy.dispose(); db.dispose();
  assert.throws(() => conv2dBiasGrad(upload([1, 2], [2])), (e: Error) => e instanceof ShapeError);
});

s('finite differences through camlight forward (conv2d and depthwise)', async () => {
  // f(x, w) = Σ conv(x, w)·dy is linear in each argument, so central differences are exact up to
  // float32 rounding of f (~1e-6·|f| / eps): tolerance 1e-2 absolute.
  for (const depthwise of [false, true]) {
    const xs = [1, 4, 5, depthwise ? 2 : 3], ws = depthwise ? [3, 3, 2, 2] : [3, 3, 3, 2];
    const o: Opts = { padding: 'same', strides: 2 };
    const fwd = (xt: Float32Array, wt: Float32Array) => {
      const x = upload(xt, xs), w = upload(wt, ws);
      const y = depthwise ? conv2d(x, w.reshape([3, 3, 1, 4]), { ...o, groups: 2 }) : conv2d(x, w, o);
      x.dispose(); w.dispose();
      return y;
    };
    const xd = randn(size(xs), seed++), wd = randn(size(ws), seed++);
    const y0 = fwd(xd, wd);
    const dyd = randn(y0.size, seed++), ys = [...y0.shape];
    y0.dispose();
    const f = async (xt: Float32Array, wt: Float32Array) => {
      const y = fwd(xt, wt);
      const d = await y.data();
      y.dispose();
      return d.reduce((a, v, i) => a + v * dyd[i]!, 0);
    };
    const fdx = await finiteDiff((xt) => f(xt, wd), xd);
    const fdw = await finiteDiff((wt) => f(xd, wt), wd);
    const x = upload(xd, xs), w = upload(wd, ws), dy = upload(dyd, ys);
    const dx = depthwise ? depthwiseConv2dInputGrad(dy, w, xs, o) : conv2dInputGrad(dy, w, xs, o);
    const dw = depthwise ? depthwiseConv2dWeightGrad(x, dy, ws, o) : conv2dWeightGrad(x, dy, ws, o);
    assertClose(await dx.data(), fdx, { rtol: 1e-2, atol: 1e-2, what: `finite-difference dx${depthwise ? ' depthwise' : ''}` });
    assertClose(await dw.data(), fdw, { rtol: 1e-2, atol: 1e-2, what: `finite-difference dw${depthwise ? ' depthwise' : ''}` });
    for (const t of [x, w, dy, dx, dw]) t.dispose();
  }
});

s('shape errors name the op and the shapes', () => {
  const w = upload(new Float32Array(3 * 3 * 4 * 8), [3, 3, 4, 8]);
  const dy = upload(new Float32Array(1 * 5 * 5 * 8), [1, 5, 5, 8]);
  assert.throws(() => conv2dInputGrad(dy, w, [1, 6, 6, 4], { padding: 'same' }), (e: Error) => e instanceof ShapeError && /conv2dInputGrad.*dy/.test(e.message));
  const x = upload(new Float32Array(6 * 6 * 4), [1, 6, 6, 4]);
  assert.throws(() => conv2dWeightGrad(x, dy, [3, 3, 4, 8], { padding: 'same' }), (e: Error) => e instanceof ShapeError && /conv2dWeightGrad/.test(e.message));
  assert.throws(() => depthwiseConv2dWeightGrad(x, dy, [3, 3, 5, 2]), (e: Error) => e instanceof ShapeError && /depthwiseConv2dWeightGrad/.test(e.message));
  for (const t of [w, dy, x]) t.dispose();
});

s.run();
