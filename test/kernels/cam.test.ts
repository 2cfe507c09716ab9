// The fused CAM reductions and their helpers against formulas worked on the host in float64:
// every weighting snippet of the methods in METHOD_NAMES (Grad-CAM, Grad-CAM++, XGrad-CAM,
// HiResCAM, LayerCAM, element-wise Grad-CAM, |·|max, given weights; a new one fails until its
// host formula is written),
// the sign fix, channel chunking beyond 1024, 1×1 maps, rows per image; normalisation, one-hot
// rows, repeats, Score-CAM masks and their range (against tf.image.resizeBilinear) and power iteration.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { camReduce, normalizeMaps, oneHotRows, repeatRows, type CamWeighting } from '../../src/kernels/cam.ts';
import { channelRange, pickScores, powerIteration, scoreCamMasks, upsampledRange } from '../../src/kernels/cam-aux.ts';
import { getMethod, METHOD_NAMES, METHODS } from '../../src/cam/methods/index.ts';
import { upload, zeros } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/cam');
s.before(async () => { await gpu(); });

type HostW = (A: Float64Array, G: Float64Array, P: number, C: number) => { w?: Float64Array; map: Float64Array };
const at = (X: ArrayLike<number>, p: number, c: number, C: number) => X[p * C + c]!;
const channel = (f: (a: number[], g: number[]) => number): HostW => (A, G, P, C) => {
  const w = new Float64Array(C);
  for (let c = 0; c < C; c++) {
    const a = Array.from({ length: P }, (_, p) => at(A, p, c, C)), g = Array.from({ length: P }, (_, p) => at(G, p, c, C));
    w[c] = f(a, g);
  }
  const map = new Float64Array(P);
  for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) map[p]! += w[c]! * at(A, p, c, C);
  return { w, map };
};
const pixel = (f: (a: number, g: number) => number, useMax = false): HostW => (A, G, P, C) => {
  const map = new Float64Array(P);
  for (let p = 0; p < P; p++) {
    let acc = useMax ? -Infinity : 0;
    for (let c = 0; c < C; c++) { const t = f(at(A, p, c, C), at(G, p, c, C)); acc = useMax ? Math.max(acc, t) : acc + t; }
    map[p] = acc;
  }
  return { map };
};
const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
// The formulas as the papers write them, with the ε the papers leave out taken from
// pytorch-grad-cam 084273b3 (the reference oracle.test.ts compares whole maps with):
// grad_cam_plusplus.py `eps = 0.000001`, xgrad_cam.py `sum_activations + 1e-7`.
const EPS_GRADCAM_PP = 1e-6, EPS_XGRADCAM = 1e-7;
/** Host formulas by weighting key (the methods' snippets: src/cam/methods/*.ts). */
const HOST: Record<string, HostW> = {
  gradcam: channel((_a, g) => sum(g) / g.length),
  'gradcam++': channel((a, g) => {
    const sa = sum(a);
    return sum(g.map((gi) => (gi === 0 ? 0 : (gi * gi) / (2 * gi * gi + sa * gi ** 3 + EPS_GRADCAM_PP)) * Math.max(gi, 0)));
  }),
  xgradcam: channel((a, g) => sum(a.map((ai, i) => ai * g[i]!)) / (sum(a) + EPS_XGRADCAM)),
  hirescam: pixel((a, g) => a * g),
  layercam: pixel((a, g) => a * Math.max(g, 0)),
  'gradcam-elementwise': pixel((a, g) => Math.max(a * g, 0)),
  absmax: pixel((_a, g) => Math.abs(g), true), // saliency, and Guided Grad-CAM's guided gradient
};
const normalise = (m: Float64Array) => {
  const r = m.map((v) => Math.max(v, 0));
  const peak = Math.max(...r);
  return { map: peak > 0 ? r.map((v) => v / peak) : r, peak };
};

// Every distinct weighting snippet of the methods in METHOD_NAMES, by key; those applying given
// weights (Score-CAM's, Eigen-CAM's) are checked by the given-weights test below.
const WEIGHTINGS = new Map<string, CamWeighting>();
for (const name of METHOD_NAMES) {
  const wt = getMethod(name).weighting;
  if (!wt) continue;
  const had = WEIGHTINGS.get(wt.key);
  if (had && (had.channel !== wt.channel || had.pixel !== wt.pixel || had.pixelMax !== wt.pixelMax)) throw new Error(`weighting key '${wt.key}' names two different snippets (${name}): give each its own key`);
  WEIGHTINGS.set(wt.key, wt);
}
const isGiven = (wt: CamWeighting) => wt.channel?.includes('given(') ?? false;

const shapes: [number, number, number, number][] = [[2, 5, 7, 6], [1, 1, 1, 9], [3, 3, 4, 1030], [1, 9, 9, 3]];
for (const wt of [...WEIGHTINGS.values()].filter((w) => !isGiven(w))) {
  const name = wt.key;
  s(`camReduce '${name}' matches the host formula (fp32, rtol 1e-4): weights, map, peak`, async () => {
    assert.ok(HOST[name], `no host formula for the weighting '${name}': add the paper's formula to HOST`);
    for (const [i, [N, h, w, C]] of shapes.entries()) {
      const P = h * w, n = N * P * C;
      const A = randn(n, 10 + i, 0, 2), G = randn(n, 20 + i, -0.01, 0.01);
      const r = camReduce(upload(A, [N, h, w, C]), upload(G, [N, h, w, C]), wt);
      const [map, peak] = [await r.map.data(), await r.peak.data()];
      const weights = wt.channel ? await r.weights.data() : null;
      for (let k = 0; k < N; k++) {
        const hw = HOST[name]!(Float64Array.from(A.subarray(k * P * C, (k + 1) * P * C)), Float64Array.from(G.subarray(k * P * C, (k + 1) * P * C)), P, C);
        const want = normalise(hw.map);
        const what = `${name} (${N},${h},${w},${C}) image ${k}`;
        assertClose(map.subarray(k * P, (k + 1) * P), want.map, { rtol: 1e-4, atol: 2e-5, what: `${what} map` });
        assertClose([peak[k]!], [want.peak], { rtol: 1e-4, atol: 1e-9, what: `${what} peak` });
        if (weights) assertClose(weights.subarray(k * C, (k + 1) * C), hw.w!, { rtol: 1e-4, atol: 1e-9, what: `${what} weights` });
      }
    }
  });
}

s('camReduce with given weights (every such weighting of the methods): rows per image share activations; the sign fix flips anti-correlated maps', async () => {
  const [N, h, w, C, K] = [2, 3, 5, 7, 2];
  const P = h * w;
  const A = randn(N * P * C, 3, 0, 1);
  const V = randn(N * K * C, 4, -1, 1);
  V.fill(-0.5, 0, C); // row 0: all-negative weights on positive activations → negative map
  const givens = [...WEIGHTINGS.values()].filter(isGiven);
  assert.ok(givens.length >= 1, 'Score-CAM and Eigen-CAM apply given weights');
  for (const given of givens) for (const signFix of [false, true]) {
    const r = camReduce(upload(A, [N, h, w, C]), upload(V, [N * K, C]), given, { rowsPerImage: K, signFix });
    const map = await r.map.data();
    for (let row = 0; row < N * K; row++) {
      const img = Math.floor(row / K);
      const raw = new Float64Array(P);
      let corr = 0;
      for (let p = 0; p < P; p++) {
        let m = 0;
        for (let c = 0; c < C; c++) { raw[p]! += V[row * C + c]! * A[(img * P + p) * C + c]!; m += A[(img * P + p) * C + c]!; }
        corr += raw[p]! * m;
      }
      const flip = signFix && corr < 0 ? -1 : 1;
      const want = normalise(raw.map((v) => flip * v)).map;
      assertClose(map.subarray(row * P, (row + 1) * P), want, { rtol: 1e-4, atol: 1e-5, what: `given row ${row} signFix ${signFix}` });
    }
    if (!signFix) assert.ok(map.subarray(0, P).every((v) => v === 0), 'row 0 without the sign fix is all zero (ReLU of a negative map)');
    else assert.ok(Math.max(...map.subarray(0, P)) === 1, 'row 0 with the sign fix peaks at 1');
  }
});

s('camReduce rejects mismatched shapes with the shapes in the message', async () => {
  assert.throws(() => camReduce(zeros([1, 2, 2, 3]), zeros([1, 2, 2, 4]), METHODS.gradcam.weighting), /\(1,2,2,3\).*\(1,2,2,4\)/);
  assert.throws(() => camReduce(zeros([1, 2, 2, 3]), zeros([3, 2, 2, 3]), METHODS.gradcam.weighting, { rowsPerImage: 2 }), /rows/);
});

s('normalizeMaps: ReLU then division by each row maximum; an all-zero row stays zero', async () => {
  const x = randn(3 * 20, 5, -1, 1);
  x.fill(-0.3, 20, 40);
  const r = normalizeMaps(upload(x, [3, 4, 5]));
  const got = await r.map.data();
  for (let k = 0; k < 3; k++) assertClose(got.subarray(k * 20, (k + 1) * 20), normalise(Float64Array.from(x.subarray(k * 20, (k + 1) * 20))).map, { what: `row ${k}` });
  assert.equal(Array.from(got.subarray(20, 40)), new Array(20).fill(0));
});

s('oneHotRows picks column r mod k of each index row; repeatRows repeats images in place', async () => {
  const idx = upload([3, 1, 0, 2, 4, 1], [3, 2]);
  assert.equal(Array.from(await oneHotRows(idx, 5, 1).data()), [0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  assert.equal(Array.from(await oneHotRows(idx, 5, 2).data()), [0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1]);
  const x = randn(2 * 3 * 2, 6);
  const y = await repeatRows(upload(x, [2, 3, 2]), 3).data();
  const want = [0, 0, 0, 1, 1, 1].flatMap((n) => Array.from(x.subarray(n * 6, n * 6 + 6)));
  assert.equal(Array.from(y), want);
});

s('upsampledRange and scoreCamMasks: x ⊙ s(Up(a)), Up bilinear with aligned corners (tf.image.resizeBilinear alignCorners), s min-max over the up-sampled map (Wang et al. Eq. 6-7; rtol 1e-4)', async () => {
  const [N, H, W, Ci, h, w, C] = [2, 11, 9, 3, 3, 4, 5];
  const X = randn(N * H * W * Ci, 7), A = randn(N * h * w * C, 8, 0, 3);
  const at = upload(A, [N, h, w, C]);
  const range = upsampledRange(at, [H, W]);
  const xt = upload(X, [N, H, W, Ci]);
  const img = 1, c0 = 1, count = 3;
  const got = await scoreCamMasks(xt, at, range, img, c0, count).data();
  const up = tf.image.resizeBilinear(tf.tensor4d(A, [N, h, w, C]), [H, W], true); // (N,H,W,C)
  const lo = tf.min(up, [1, 2]), hi = tf.max(up, [1, 2]); // (N,C)
  assertClose(await range.data(), ref(tf.stack([lo, hi], 2)), { rtol: 1e-5, atol: 1e-6, what: 'up-sampled range' });
  // Control: the up-sampled range is not the source range (Up lands between the source pixels).
  const src = await channelRange(at).data();
  assert.ok(Array.from(await range.data()).some((v, i) => Math.abs(v - src[i]!) > 1e-3), 'the up-sampled range equals the source range');
  const a = tf.slice(up, [img, 0, 0, c0], [1, H, W, count]); // (1,H,W,count)
  const alo = tf.min(a, [1, 2], true), ahi = tf.max(a, [1, 2], true);
  const norm = tf.div(tf.sub(a, alo), tf.sub(ahi, alo));
  const masks = tf.transpose(norm, [3, 1, 2, 0]); // (count,H,W,1)
  const want = ref(tf.mul(masks, tf.slice(tf.tensor(X, [N, H, W, Ci]), [img, 0, 0, 0], [1, H, W, Ci])));
  assertClose(got, want, { rtol: 1e-4, atol: 1e-5, what: 'masked inputs' });
  const scores = zeros([2, 6]);
  pickScores(upload([1, 2, 3, 4, 5, 6], [3, 2]), 1, scores, 1, 2);
  assert.equal(Array.from(await scores.data()), [0, 0, 0, 0, 0, 0, 0, 0, 2, 4, 6, 0]);
});

s('powerIteration finds the leading eigenvector of Gram matrices (|cos| > 0.9999 vs a float64 host iteration)', async () => {
  for (const [N, d, k] of [[2, 7, 5], [1, 70, 12], [1, 1, 3]] as const) {
    const B = randn(N * d * k, 9 + d, 0, 1);
    const S = new Float32Array(N * d * d);
    for (let n = 0; n < N; n++) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) {
      let v = 0;
      for (let t = 0; t < k; t++) v += B[(n * d + i) * k + t]! * B[(n * d + j) * k + t]!;
      S[(n * d + i) * d + j] = v;
    }
    const u = await powerIteration(upload(S, [N, d, d]), 100).data();
    for (let n = 0; n < N; n++) {
      let v = new Float64Array(d).fill(1);
      for (let it = 0; it < 2000; it++) {
        const t = new Float64Array(d);
        for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) t[i]! += S[(n * d + i) * d + j]! * v[j]!;
        const nrm = Math.hypot(...t);
        v = t.map((x) => x / nrm);
      }
      let cos = 0;
      for (let i = 0; i < d; i++) cos += v[i]! * u[n * d + i]!;
      assert.ok(Math.abs(cos) > 0.9999, `matrix ${n} (d ${d}): |cos| ${Math.abs(cos)}`);
    }
  }
});

s.run();
