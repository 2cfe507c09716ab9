// conv2d and depthwiseConv2d forward against tfjs-core on the CPU backend: padding modes,
// strides, dilations, groups, odd channel counts, every activation, and every tile variant the
// heuristic can pick (so a bug in any of them is caught), plus the shape errors.
//
// Tolerance: |got - want| ≤ 1e-4·|want| + 1e-4·max|want|. The GPU sums the KH·KW·C/groups terms
// in another order than tfjs; the rounding error of such a sum grows with the magnitude of the
// terms, not of the (possibly cancelling) result, so the absolute part scales with the output's
// largest magnitude. Observed errors are ~1e-6 relative; a wrong tap or channel is O(1e-1).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d, conv2dOutputShape, conv2dWithTile, depthwiseConv2d, chooseConvTile, CONV_POLICY, type ConvTile, type Conv2dOptions } from '../../src/kernels/conv2d.ts';
import { ShapeError } from '../../src/gpu/errors.ts';
import { ACTIVATIONS, type Activation } from '../../src/kernels/program.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/conv2d');
s.before(async () => { await gpu(); });

const size = (sh: number[]) => sh.reduce((a, b) => a * b, 1);
const pair = (v: number | [number, number] | undefined): [number, number] => (v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : v);

function tfAct(y: tf.Tensor4D, a: Activation): tf.Tensor {
  return { linear: () => y, relu: () => tf.relu(y), relu6: () => tf.relu6(y), sigmoid: () => tf.sigmoid(y), tanh: () => tf.tanh(y) }[a]();
}

function tfPad(p: Conv2dOptions['padding']) {
  if (p === undefined) return 'valid' as const;
  if (typeof p === 'string') return p;
  return [[0, 0], p[0], p[1], [0, 0]] as [[number, number], [number, number], [number, number], [number, number]];
}

/** Reference: per-group tf.conv2d, concatenated along channels, + bias, then the activation. */
function reference(xd: Float32Array, xs: number[], wd: Float32Array, ws: number[], o: Conv2dOptions, bd?: Float32Array): Float32Array {
  return tf.tidy(() => {
    const x = tf.tensor4d(xd, xs as [number, number, number, number]);
    const w = tf.tensor4d(wd, ws as [number, number, number, number]);
    const g = o.groups ?? 1;
    const xg = g > 1 ? tf.split(x, g, 3) : [x];
    const wg = g > 1 ? tf.split(w, g, 3) : [w];
    const ys = xg.map((xi, i) =>
      tf.conv2d(xi as tf.Tensor4D, wg[i] as tf.Tensor4D, pair(o.strides), tfPad(o.padding), 'NHWC', pair(o.dilations)),
    );
    let y = (g > 1 ? tf.concat(ys, 3) : ys[0]!) as tf.Tensor4D;
    if (bd) y = tf.add(y, tf.tensor1d(bd)) as tf.Tensor4D;
    return ref(tfAct(y, o.activation ?? 'linear').clone());
  });
}

function check(got: Float32Array, want: Float32Array, what: string) {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(got, want, { rtol: 1e-4, atol: 1e-4 * Math.max(scale, 1e-3), what });
}

let seed = 1;
async function runCase(xs: number[], ws: number[], o: Omit<Conv2dOptions, 'bias'> & { withBias?: boolean }, tile: ConvTile | null = null, what = '') {
  const xd = randn(size(xs), seed++);
  const wd = randn(size(ws), seed++, -0.5, 0.5);
  const bd = o.withBias ? randn(ws[3]!, seed++) : undefined;
  const { withBias: _, ...opts } = o;
  const want = reference(xd, xs, wd, ws, opts, bd);
  const y = conv2dWithTile(upload(xd, xs), upload(wd, ws), { ...opts, bias: bd && upload(bd, [ws[3]!]) }, tile);
  const g = conv2dOutputShape(xs, ws, opts);
  assert.equal([...y.shape], g.outShape, `${what} shape`);
  check(await y.data(), want, `${what} x:(${xs}) w:(${ws}) ${JSON.stringify(opts)} tile ${JSON.stringify(tile)}`);
  y.dispose();
}

const geometry: [number[], number[], Conv2dOptions][] = [
  [[1, 8, 8, 3], [3, 3, 3, 8], { padding: 'same' }],
  [[2, 7, 9, 5], [3, 3, 5, 7], { padding: 'same', strides: 2 }],
  [[3, 7, 9, 4], [3, 3, 4, 12], { padding: 'valid' }],
  [[2, 9, 7, 6], [3, 3, 6, 5], { padding: [[1, 0], [2, 1]] }],
  [[1, 9, 9, 4], [3, 3, 4, 8], { padding: 'same', dilations: 2 }],
  [[1, 10, 8, 4], [3, 2, 4, 4], { padding: 'valid', dilations: [1, 2] }],
  [[2, 5, 5, 7], [1, 1, 7, 3], {}],
  [[2, 1, 1, 8], [1, 1, 8, 4], {}],
  [[1, 1, 1, 3], [3, 3, 3, 5], { padding: 'same' }],
  [[1, 6, 6, 4], [5, 5, 4, 4], { padding: 'same', strides: [2, 1] }],
  [[1, 2, 3, 4], [3, 3, 4, 4], { padding: 'same' }],
  [[2, 8, 8, 16], [3, 3, 16, 20], { padding: 'same', strides: [1, 2] }],
];

s('geometry: strides, padding modes, dilation, 1×1, odd sizes (heuristic tile)', async () => {
  for (const [xs, ws, o] of geometry) await runCase(xs, ws, o);
});

s('same padding follows TensorFlow (pad total split floor/ceil)', () => {
  const g = conv2dOutputShape([1, 224, 224, 3], [3, 3, 3, 64], { padding: 'same', strides: 2 });
  assert.equal(g.outShape, [1, 112, 112, 64]);
  assert.equal(g.pads, { top: 0, left: 0, bottom: 1, right: 1 });
  const h = conv2dOutputShape([1, 7, 9, 3], [5, 5, 3, 4], { padding: 'same', dilations: 2 });
  assert.equal(h.pads, { top: 4, left: 4, bottom: 4, right: 4 });
});

s('every activation, with and without bias', async () => {
  for (const activation of ACTIVATIONS) {
    for (const withBias of [false, true]) await runCase([2, 6, 7, 8], [3, 3, 8, 12], { padding: 'same', activation, withBias });
  }
  await runCase([1, 5, 6, 3], [3, 3, 3, 5], { padding: 'same', activation: 'sigmoid', withBias: true });
});

s('groups: 2 and 4, per-group channels not multiples of 4', async () => {
  await runCase([2, 6, 5, 8], [3, 3, 4, 6], { padding: 'same', groups: 2, withBias: true, activation: 'relu' });
  await runCase([1, 5, 5, 6], [3, 3, 3, 8], { padding: 'valid', groups: 2 });
  await runCase([1, 7, 7, 16], [3, 3, 4, 24], { padding: 'same', groups: 4, strides: 2, withBias: true });
  await runCase([1, 6, 6, 10], [1, 1, 5, 10], { groups: 2 });
});

// Every tile chooseConvTile can return (checked below), plus the row variant and odd sizes.
const tiles: ConvTile[] = [
  { kind: 'gemm', wgx: 32, p: 5, kb: 8 },
  { kind: 'gemm', wgx: 32, p: 4, kb: 8 },
  { kind: 'gemm', wgx: 32, p: 4, kb: 16 },
  { kind: 'gemm', wgx: 32, p: 4, kb: 4 },
  { kind: 'gemm', wgx: 64, p: 4, kb: 16 },
  { kind: 'gemm', wgx: 8, p: 1, kb: 12 },
  // Fewer lanes on small maps (CPU adapters): 8×8 and 7×7 maps, 14×14 maps.
  { kind: 'gemm', wgx: 16, p: 4, kb: 8 },
  { kind: 'gemm', wgx: 8, p: 5, kb: 8 },
  { kind: 'gemm', wgx: 16, p: 4, kb: 16 },
  { kind: 'gemm', wgx: 8, p: 4, kb: 4 },
  { kind: 'row', wgx: 64, p: 4, kb: 8 },
  { kind: 'row', wgx: 8, p: 3, kb: 4 },
];

s('every tile variant on realistic and awkward shapes', async () => {
  const cases: [number[], number[], Conv2dOptions & { withBias?: boolean }][] = [
    [[1, 14, 14, 64], [3, 3, 64, 64], { padding: 'same', withBias: true, activation: 'relu' }],
    [[1, 9, 11, 3], [3, 3, 3, 5], { padding: 'same', withBias: true }],
    [[2, 7, 7, 8], [3, 3, 8, 12], { padding: [[0, 2], [1, 1]], dilations: [2, 1] }],
    [[1, 6, 5, 8], [3, 3, 4, 12], { padding: 'same', groups: 2, withBias: true, activation: 'tanh' }],
  ];
  // Shader compiles dominate this test's time on lavapipe, so each tile gets the realistic vec4
  // case and the scalar (C, K not multiples of 4) case; the others rotate over the tiles.
  for (const [i, t] of tiles.entries()) {
    for (const [j, [xs, ws, o]] of cases.entries()) if (j < 2 || i < 2 || j === 2 + (i % 2)) await runCase(xs, ws, o, t, t.kind);
  }
  await runCase([2, 7, 9, 8], [3, 3, 8, 8], { padding: 'same', strides: 2 }, tiles[0]!);
  // vec4 channels with a partial last block (K 20 over 16-channel blocks; per group 12 over 8):
  // the clamped weight offsets must keep the stored outputs right.
  await runCase([1, 6, 7, 8], [3, 3, 8, 20], { padding: 'same', withBias: true }, tiles[2]!, 'partial block');
  await runCase([1, 6, 5, 8], [3, 3, 4, 24], { padding: 'valid', groups: 2 }, tiles[0]!, 'partial block per group');
});

s('the heuristic picks the tiles the tile test covers', () => {
  const pick = (xs: number[], ws: number[], cpu: boolean) => chooseConvTile(conv2dOutputShape(xs, ws, { padding: 'same' }), cpu);
  const covered = (t: ConvTile) => tiles.some((u) => JSON.stringify(u) === JSON.stringify(t));
  const picks = [
    pick([1, 56, 56, 256], [3, 3, 256, 256], true), // 5 pixels per lane
    pick([1, 28, 28, 512], [3, 3, 512, 512], true), // 5 pixels per lane, 32 lanes (784 pixels: little padding)
    pick([1, 14, 14, 512], [3, 3, 512, 512], true), // 196 pixels: 8 lanes × 5 pixels pad to 200 (32 × 4 pads to 256)
    pick([1, 8, 8, 1280], [1, 1, 1280, 320], true), // 64 pixels: 16 lanes × 4 (32 lanes would idle half)
    pick([1, 7, 7, 512], [3, 3, 512, 512], true), // 49 pixels: 16 lanes × 4 (8 × 4 pads the same, more groups)
    pick([1, 8, 8, 3], [3, 3, 3, 64], true), // tiny reduction on a small map: 16 channels, 16 lanes × 4 pixels
    // 1225 pixels: 8 lanes would save < 10 %, so 32 (s3-inc2, idle lavapipe: 8 or 16 lanes on maps of
    // ≥ 1000 pixels, and 16 on 17² maps, gave no whole-forward gain in alternating A/B: bench/NOTES.md)
    pick([1, 35, 35, 288], [1, 1, 288, 64], true),
    pick([1, 224, 224, 3], [3, 3, 3, 64], true), // tiny reduction: 16 channels per lane
    pick([1, 9, 9, 8], [3, 3, 8, 3], true), // K ≤ 4 (81 pixels: 8 lanes × 4 pad to 96, 32 × 4 to 128)
    pick([1, 56, 56, 256], [3, 3, 256, 256], false), // GPU: row
    chooseConvTile(conv2dOutputShape([1, 56, 56, 256], [3, 3, 256, 256], { padding: 'same', strides: 2 }), false), // GPU: gemm
  ];
  assert.equal(picks.map((t) => `${t.kind}${t.wgx}x${t.p}x${t.kb}`), ['gemm32x5x8', 'gemm32x5x8', 'gemm8x5x8', 'gemm16x4x8', 'gemm16x4x8', 'gemm16x4x16', 'gemm32x5x8', 'gemm32x4x16', 'gemm8x4x4', 'row64x4x8', 'gemm64x4x16']);
  for (const t of picks) assert.ok(covered(t), `tile ${JSON.stringify(t)} is not exercised by the tile test`);
});

s('CONV_POLICY.cpuFine (an A/B hook, off by default) sets the lanes on maps in its pixel range only', () => {
  const pick = (xs: number[], ws: number[]) => chooseConvTile(conv2dOutputShape(xs, ws, { padding: 'same' }), true);
  const name = (t: ConvTile) => `${t.kind}${t.wgx}x${t.p}x${t.kb}`;
  assert.equal(CONV_POLICY.cpuFine, null);
  CONV_POLICY.cpuFine = { lanes: 8, minPixels: 1000, maxPixels: Infinity };
  try {
    assert.equal(
      [pick([1, 35, 35, 288], [1, 1, 288, 64]), pick([1, 17, 17, 192], [1, 7, 192, 192]), pick([1, 8, 8, 1280], [1, 1, 1280, 320]), pick([1, 224, 224, 3], [3, 3, 3, 64])].map(name),
      // 1225 px: in range → 8 lanes; 289 px and 64 px: out of range, unchanged; 16-channel tiles: unchanged.
      ['gemm8x5x8', 'gemm32x5x8', 'gemm16x4x8', 'gemm32x4x16'],
    );
  } finally {
    CONV_POLICY.cpuFine = null;
  }
});

s('depthwiseConv2d: M = 1 and 2, strides, bias, activations', async () => {
  const cases: [number[], number[], Omit<Conv2dOptions, 'groups'> & { withBias?: boolean }][] = [
    [[2, 7, 9, 5], [3, 3, 5, 1], { padding: 'same' }],
    [[1, 8, 8, 4], [3, 3, 4, 2], { padding: 'same', strides: 2, withBias: true, activation: 'relu6' }],
    [[1, 11, 10, 3], [5, 5, 3, 2], { padding: 'valid', dilations: 2, withBias: true }],
    [[3, 1, 1, 6], [3, 3, 6, 1], { padding: 'same', activation: 'sigmoid' }],
  ];
  for (const [xs, ws, o] of cases) {
    const xd = randn(size(xs), seed++);
    const wd = randn(size(ws), seed++, -0.5, 0.5);
    const k = ws[2]! * ws[3]!;
    const bd = o.withBias ? randn(k, seed++) : undefined;
    const { withBias: _, ...opts } = o;
    const want = tf.tidy(() => {
      let y = tf.depthwiseConv2d(tf.tensor4d(xd, xs as [number, number, number, number]), tf.tensor4d(wd, ws as [number, number, number, number]),
        pair(opts.strides), tfPad(opts.padding), 'NHWC', pair(opts.dilations));
      if (bd) y = tf.add(y, tf.tensor1d(bd));
      return ref(tfAct(y, opts.activation ?? 'linear').clone());
    });
    const y = depthwiseConv2d(upload(xd, xs), upload(wd, ws), { ...opts, bias: bd && upload(bd, [k]) });
    check(await y.data(), want, `depthwise x:(${xs}) w:(${ws}) ${JSON.stringify(opts)}`);
  }
});

function throwsShape(fn: () => unknown, re: RegExp) {
  try {
    fn();
  } catch (e) {
    assert.instance(e, ShapeError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a ShapeError matching ${re}`);
}

s('shape errors name the shapes and the problem', () => {
  const x = upload(new Float32Array(2 * 5 * 5 * 6), [2, 5, 5, 6]);
  throwsShape(() => conv2d(x, upload(new Float32Array(9 * 4 * 8), [3, 3, 4, 8])), /C\/groups.*x:\(2,5,5,6\) w:\(3,3,4,8\)/);
  throwsShape(() => conv2d(x, upload(new Float32Array(9 * 2 * 8), [3, 3, 2, 8]), { groups: 4 }), /groups=4 must divide/);
  throwsShape(() => conv2d(x, upload(new Float32Array(9 * 6 * 8), [3, 3, 6, 8]), { bias: upload(new Float32Array(4), [4]) }), /bias must be \(8\)/);
  throwsShape(() => conv2d(x, upload(new Float32Array(49 * 6), [7, 7, 6, 1])), /does not fit/);
  throwsShape(() => depthwiseConv2d(x, upload(new Float32Array(9 * 4), [3, 3, 4, 1])), /must equal x's channels/);
  throwsShape(
    () => conv2dWithTile(x, upload(new Float32Array(9 * 6 * 4), [3, 3, 6, 4]), { strides: 2 }, { kind: 'row', wgx: 8, p: 2, kb: 4 }),
    /stride 1/,
  );
});

s.run();
