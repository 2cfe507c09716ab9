// The tiled GEMM core (src/kernels/gemm-*.ts) run on lavapipe with adapterClass forced to 'gpu':
// each user (conv2d forward, dInput, dWeight, matmul/dense) against float64 host sums, on ragged
// shapes (M, N, K not multiples of the tile, K < tile step, 1×1, strided/padded/dilated, batch > 1,
// channels not multiples of 4 → scalar readers), every tile of both classes' tables, GEMV and
// split-K, every epilogue activation; and that selection takes the core on 'gpu' and the
// register-blocked kernels on 'cpu' (control), and follows tuned choices.
//
// Tolerance: |got - want| ≤ 1e-4·|want| + 1e-4·max|want| (as in conv2d.test.ts): fp32 sums over up
// to a few thousand terms in another order than the float64 reference; the rounding grows with
// the terms' magnitude, not the (possibly cancelling) result's. A wrong tap, row or column is O(0.1).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Runtime } from '../../src/gpu/runtime.ts';
import { conv2d, conv2dOutputShape, type Conv2dOptions } from '../../src/kernels/conv2d.ts';
import { conv2dInputGrad, conv2dWeightGrad } from '../../src/kernels/conv2d-backward.ts';
import { conv2dInputGradTiled, conv2dTiled, conv2dWeightGradTiled } from '../../src/kernels/gemm-conv.ts';
import type { GemmPlan, GemmTile } from '../../src/kernels/gemm-tiled.ts';
import { defaultPlan, GEMM_TILES, planGemm, tuneKey, useGemmTuning } from '../../src/kernels/gemm-tiles.ts';
import { dense, matmul } from '../../src/kernels/matmul.ts';
import { ACTIVATIONS, type Activation } from '../../src/kernels/program.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn } from '../helpers.ts';
import { hostAct, hostConv as host } from './gemm-host.ts';

const s = suite('kernels/gemm-tiled');
let rt: Runtime; // adapterClass 'gpu' on lavapipe
let cpuRt: Runtime; // the shared runtime: lavapipe, class 'cpu'
const names: string[] = [];
s.before(async () => {
  cpuRt = await gpu();
  rt = await Runtime.create({ adapterClass: 'gpu' });
  const orig = rt.dispatch.bind(rt);
  rt.dispatch = (spec) => { names.push(spec.program.name); return orig(spec); };
});
s.after(() => { rt.device.destroy(); });

type Opts = Omit<Conv2dOptions, 'bias' | 'activation'>;
const size = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);
let seed = 7;

function close(got: Float32Array, want: Float64Array, what: string) {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  assertClose(got, want, { rtol: 1e-4, atol: 1e-4 * Math.max(scale, 1e-3), what });
}

interface ConvCase { xs: number[]; ws: number[]; o: Opts }
const convCases: ConvCase[] = [
  { xs: [1, 9, 11, 8], ws: [3, 3, 8, 12], o: { padding: 'same' } }, // vec4 everywhere, ragged M
  { xs: [2, 7, 9, 5], ws: [3, 3, 5, 7], o: { padding: 'same', strides: 2 } }, // scalar C and K, batch 2, stride
  { xs: [1, 9, 9, 4], ws: [3, 3, 4, 8], o: { padding: 'same', dilations: 2 } }, // dilation
  { xs: [2, 9, 7, 6], ws: [3, 3, 6, 5], o: { padding: [[1, 0], [2, 1]] } }, // explicit padding, scalar
  { xs: [2, 5, 5, 12], ws: [1, 1, 12, 20], o: {} }, // 1×1 pointwise
  { xs: [1, 6, 6, 3], ws: [3, 3, 3, 4], o: { padding: 'valid', strides: [2, 1] } }, // RGB-like, K = 27 < tile step 32
  { xs: [1, 10, 8, 8], ws: [3, 2, 8, 4], o: { padding: 'valid', dilations: [1, 2], strides: [1, 2] } },
];

async function convAll(c: ConvCase, plan: GemmPlan | undefined, what: string, which = { f: true, dx: true, dw: true }) {
  const xd = randn(size(c.xs), seed++), wd = randn(size(c.ws), seed++, -0.5, 0.5);
  const g = conv2dOutputShape(c.xs, c.ws, c.o);
  const dyd = randn(size(g.outShape), seed++);
  const ref = host(xd, c.xs, wd, c.ws, c.o, dyd);
  const x = upload(xd, c.xs, rt), w = upload(wd, c.ws, rt), dy = upload(dyd, g.outShape, rt);
  const tag = `${what} x:(${c.xs}) w:(${c.ws}) ${JSON.stringify(c.o)} plan ${JSON.stringify(plan ?? 'default')}`;
  const outs: Tensor[] = [];
  if (which.f) {
    const y = plan ? conv2dTiled(x, w, c.o, plan)! : conv2d(x, w, c.o);
    outs.push(y);
    close(await y.data(), ref.y, `forward ${tag}`);
  }
  if (which.dx) {
    const dx = plan ? conv2dInputGradTiled(dy, w, c.xs, c.o, plan)! : conv2dInputGrad(dy, w, c.xs, c.o);
    outs.push(dx);
    close(await dx.data(), ref.dx, `dInput ${tag}`);
  }
  if (which.dw) {
    const dw = plan ? conv2dWeightGradTiled(x, dy, c.ws, c.o, plan)! : conv2dWeightGrad(x, dy, c.ws, c.o);
    outs.push(dw);
    close(await dw.data(), ref.dw, `dWeight ${tag}`);
  }
  for (const t of [x, w, dy, ...outs]) t.dispose();
}

s('conv forward, dInput, dWeight through conv2d() on the gpu class: ragged, strided, padded, dilated, 1×1, batch 2', async () => {
  names.length = 0;
  for (const c of convCases) await convAll(c, undefined, 'default');
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('gemm.')), `gpu class ran ${[...new Set(names)].join(', ')}; want only gemm.*`);
  for (const n of ['gemm.conv2d', 'gemm.conv2d-dx', 'gemm.conv2d-dw']) assert.ok(names.includes(n), `${n} not used`);
});

const tileName = (t: GemmTile) => `${t.wgx}x${t.wgy}·${t.tm}x${t.tn}·k${t.tk}`;

s('every tile of both tables, each user, vec4 and scalar operands', async () => {
  for (const cls of ['gpu', 'cpu'] as const) {
    for (const tile of GEMM_TILES[cls]) {
      const plan: GemmPlan = { kind: 'tiled', tile, splits: 1 };
      await convAll(convCases[0]!, plan, `${cls} ${tileName(tile)}`);
      await mm([45, 33], [19, 45], true, true, plan, {});
    }
  }
  // Scalar readers (C and K not multiples of 4, stride 2, batch 2) and batched vec4 matmul with
  // bias on the largest and the smallest block (compiles dominate this test's time on lavapipe).
  for (const tile of [GEMM_TILES.gpu[0]!, GEMM_TILES.gpu[GEMM_TILES.gpu.length - 1]!]) {
    const plan: GemmPlan = { kind: 'tiled', tile, splits: 1 };
    await convAll(convCases[1]!, plan, `scalar ${tileName(tile)}`);
    await mm([2, 37, 70], [2, 70, 36], false, false, plan, { bias: true, act: 'relu' });
  }
});

s('split-K: dWeight and matmul with partial sums reduced by the epilogue', async () => {
  const tile = GEMM_TILES.gpu[2]!;
  for (const splits of [2, 5]) {
    const plan: GemmPlan = { kind: 'tiled', tile, splits };
    await convAll({ xs: [2, 12, 12, 8], ws: [3, 3, 8, 4], o: { padding: 'same' } }, plan, `split ${splits}`, { f: false, dx: false, dw: true });
    await convAll(convCases[1]!, plan, `split ${splits}`);
    await mm([3, 200], [200, 12], false, false, plan, { bias: true, act: 'tanh' });
    await mm([2, 150, 9], [2, 11, 150], true, true, plan, { bias: true, act: 'sigmoid' });
  }
  const p = defaultPlan('gpu', { batch: 1, M: 3 * 3 * 64, N: 64, K: 112 * 112 }, false);
  assert.ok(p.kind === 'tiled' && p.splits > 1, `dWeight of a 112² layer should split K: ${JSON.stringify(p)}`);
});

/** Host matmul on storage shapes with transposes, batch broadcast, bias and activation. */
async function mm(as: number[], bs: number[], ta: boolean, tb: boolean, plan: GemmPlan | undefined, e: { bias?: boolean; act?: Activation }) {
  const ad = randn(size(as), seed++), bd = randn(size(bs), seed++);
  const [ba, r0, c0] = as.length === 3 ? as as [number, number, number] : [1, ...as] as [number, number, number];
  const [bb, r1, c1] = bs.length === 3 ? bs as [number, number, number] : [1, ...bs] as [number, number, number];
  const [M, K] = ta ? [c0, r0] : [r0, c0];
  const N = tb ? r1 : c1;
  const B = Math.max(ba, bb);
  const biasd = e.bias ? randn(N, seed++) : undefined;
  const want = new Float64Array(B * M * N);
  for (let b = 0; b < B; b++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let v = 0;
    for (let k = 0; k < K; k++) {
      const av = ad[(ba === 1 ? 0 : b * M * K) + (ta ? k * M + m : m * K + k)]!;
      const bv = bd[(bb === 1 ? 0 : b * K * N) + (tb ? n * K + k : k * N + n)]!;
      v += av * bv;
    }
    want[(b * M + m) * N + n] = hostAct[e.act ?? 'linear'](v + (biasd ? biasd[n]! : 0));
  }
  const a = upload(ad, as, rt), bt = upload(bd, bs, rt), bias = biasd && upload(biasd, [N], rt);
  const opts = { transposeA: ta, transposeB: tb, bias, activation: e.act };
  let y: Tensor;
  if (plan) {
    const { matmulTiled } = await import('../../src/kernels/gemm-matmul.ts');
    const outShape = as.length === 3 || bs.length === 3 ? [B, M, N] : [M, N];
    y = matmulTiled(a, bt, { batch: B, M, N, K, aBatch: ba, bBatch: bb, outShape }, { ta, tb, bias, act: e.act ?? 'linear', shapes: 'test' }, plan)!;
  } else y = matmul(a, bt, opts);
  close(await y.data(), want, `matmul a(${as}) b(${bs}) ta=${ta} tb=${tb} ${JSON.stringify(e)} plan ${JSON.stringify(plan ?? 'default')}`);
  for (const t of [a, bt, y, ...(bias ? [bias] : [])]) t.dispose();
}

s('matmul on the gpu class: transposes, broadcast batches, ragged sizes, K below the tile step', async () => {
  names.length = 0;
  for (const [M, N, K] of [[7, 5, 3], [33, 17, 65], [20, 8, 8], [70, 130, 36]] as const) {
    for (const ta of [false, true]) {
      for (const tb of [false, true]) await mm(ta ? [K, M] : [M, K], tb ? [N, K] : [K, N], ta, tb, undefined, {});
    }
  }
  await mm([1, 13, 12], [3, 12, 8], false, false, undefined, { bias: true });
  await mm([3, 12, 13], [12, 8], true, false, undefined, {});
  assert.ok(names.every((n) => n.startsWith('gemm.')), `gpu class ran ${[...new Set(names)].join(', ')}`);
});

s('GEMV for M ≤ 4: batch-1 dense, vec4 and scalar columns, split over K, batches', async () => {
  names.length = 0;
  for (const M of [1, 3]) {
    for (const splits of [1, 4]) {
      const plan: GemmPlan = { kind: 'gemv', splits };
      await mm([M, 300], [300, 40], false, false, plan, { bias: true, act: 'relu' });
      await mm([M, 70], [70, 37], false, false, plan, {});
      await mm([2, 70, M], [2, 37, 70], true, true, plan, { bias: true });
    }
  }
  // The split path ran: the tiled GEMV, then matmul's split-K reduce (shared with the lavapipe kernels).
  assert.ok(names.includes('gemm.matmul') && names.includes('matmul.split-reduce'));
  // dense() at batch 1 picks GEMV by itself, split over K for a long reduction (fc layers).
  const fc = defaultPlan('gpu', { batch: 1, M: 1, N: 1000, K: 4096 }, true);
  assert.equal(fc.kind, 'gemv');
  assert.ok(fc.splits > 1, `a 4096-long reduction with 1000 outputs should split: ${JSON.stringify(fc)}`);
  const xd = randn(2048, seed++), wd = randn(2048 * 24, seed++), bd = randn(24, seed++);
  const want = new Float64Array(24);
  for (let n = 0; n < 24; n++) { let v = bd[n]!; for (let k = 0; k < 2048; k++) v += xd[k]! * wd[k * 24 + n]!; want[n] = Math.max(v, 0); }
  const y = dense(upload(xd, [1, 2048], rt), upload(wd, [2048, 24], rt), upload(bd, [24], rt), 'relu');
  close(await y.data(), want, 'dense 1×2048·2048×24 relu');
});

s('every epilogue activation, with and without bias (conv and matmul)', async () => {
  for (const act of ACTIVATIONS) {
    for (const bias of [false, true]) {
      const xs = [1, 6, 7, 8], ws = [3, 3, 8, 12], o: Opts = { padding: 'same' };
      const xd = randn(size(xs), seed++), wd = randn(size(ws), seed++, -0.5, 0.5), bd = randn(12, seed++);
      const r = host(xd, xs, wd, ws, o).y.map((v, i) => hostAct[act](v + (bias ? bd[i % 12]! : 0)));
      const y = conv2d(upload(xd, xs, rt), upload(wd, ws, rt), { ...o, activation: act, bias: bias ? upload(bd, [12], rt) : undefined });
      close(await y.data(), r, `conv ${act} bias=${bias}`);
      await mm([9, 10], [10, 6], false, false, undefined, { bias, act });
    }
  }
});

s('selection: the cpu class keeps the register-blocked kernels (control); tuned choices override', async () => {
  const d = { batch: 1, M: 3136, N: 256, K: 2304 };
  assert.is(planGemm(cpuRt, 'conv2d', d), null, 'cpu class without tuning: register-blocked kernels');
  const p = planGemm(rt, 'conv2d', d);
  assert.ok(p && p.kind === 'tiled', 'gpu class: tiled core');
  // The control: on the shared cpu-class runtime conv2d and matmul run no gemm.* program.
  const seen: string[] = [];
  const orig = cpuRt.dispatch.bind(cpuRt);
  cpuRt.dispatch = (spec) => { seen.push(spec.program.name); return orig(spec); };
  try {
    const x = upload(randn(2 * 5 * 5 * 8, 1), [2, 5, 5, 8], cpuRt), w = upload(randn(9 * 8 * 4, 2), [3, 3, 8, 4], cpuRt);
    (await conv2d(x, w, { padding: 'same' }).data());
    (await matmul(upload(randn(24, 3), [4, 6], cpuRt), upload(randn(30, 4), [6, 5], cpuRt)).data());
  } finally {
    cpuRt.dispatch = orig;
  }
  assert.ok(seen.length >= 2 && !seen.some((n) => n.startsWith('gemm.')), `cpu class ran ${seen.join(', ')}`);
  // A tuning source is read once per runtime: a fresh runtime sees it.
  const tile = GEMM_TILES.cpu[0]!;
  const prev = useGemmTuning(() => ({ [tuneKey('conv2d', 'cpu', d)]: tile, [tuneKey('conv2d', 'gpu', d)]: 'legacy' }));
  try {
    const cpu2 = await Runtime.create({ adapterClass: 'cpu' });
    const gpu2 = await Runtime.create({ adapterClass: 'gpu' });
    assert.equal(planGemm(cpu2, 'conv2d', d), { kind: 'tiled', tile, splits: 1 });
    assert.is(planGemm(gpu2, 'conv2d', d), null);
    assert.ok(planGemm(gpu2, 'conv2d', { ...d, M: 3137 }), 'untuned shapes keep the table');
    cpu2.device.destroy(); gpu2.device.destroy();
  } finally {
    useGemmTuning(prev);
  }
});

s.run();
