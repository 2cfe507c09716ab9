// Gradient rules compute only the gradients that are wanted: a CAM pass (weights untracked)
// launches no weight-gradient kernel, training (input untracked) no input-gradient kernel for
// the first layer, and the gradients that are computed still match tf.grads on the CPU backend.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/nn/ops.ts';
import { grads, valueAndGrad, watch } from '../../src/nn/tape.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import type { DispatchSpec, Runtime } from '../../src/gpu/runtime.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('nn/needed-grads');
let rt: Runtime;
s.before(async () => {
  rt = await gpu();
  pick = upload(new Float32Array([0, 1, 0, 0, 1, 0]), [2, 3]);
});
s.after(() => pick.dispose());

/** Runs f and returns the names of the kernels it launched. */
function launched<T>(f: () => T): { result: T; kernels: string[] } {
  const kernels: string[] = [];
  const original = rt.dispatch;
  rt.dispatch = (spec: DispatchSpec) => {
    kernels.push(spec.program.name);
    original.call(rt, spec);
  };
  try {
    return { result: f(), kernels };
  } finally {
    rt.dispatch = original;
  }
}

const count = (kernels: string[], name: string) => kernels.filter((k) => k === name).length;

// A two-conv network with a dense head: x:(2,8,8,3) → conv 3x3 (4, relu) → a:(2,8,8,4)
// → conv 3x3 (5, relu) → mean over space → dense (5→3) → Σ of class 1's score over the batch.
const shapes = { x: [2, 8, 8, 3], w1: [3, 3, 3, 4], b1: [4], w2: [3, 3, 4, 5], b2: [5], wd: [5, 3] };
const data = Object.fromEntries(Object.entries(shapes).map(([k, sh], i) =>
  [k, randn(sh.reduce((a, b) => a * b, 1), 50 + i, k.startsWith('b') ? 0 : -0.5, 0.5)])) as Record<keyof typeof shapes, Float32Array>;
let pick: Tensor; // class 1 of both images, made once the device exists

function head(a: Tensor, p: Record<string, Tensor>): Tensor {
  const h = ops.conv2d(a, p.w2!, { bias: p.b2, padding: 'same', activation: 'relu' });
  const logits = ops.matmul(ops.mean(h, [1, 2]), p.wd!);
  return ops.sumAll(ops.mul(logits, pick));
}

function tfNet(x: tf.Tensor4D, w1: tf.Tensor4D, b1: tf.Tensor1D, w2: tf.Tensor4D, b2: tf.Tensor1D, wd: tf.Tensor2D) {
  const a = tf.relu(tf.add(tf.conv2d(x, w1, 1, 'same'), b1)) as tf.Tensor4D;
  return { a, score: (a2: tf.Tensor) => {
    const h = tf.relu(tf.add(tf.conv2d(a2 as tf.Tensor4D, w2, 1, 'same'), b2));
    return tf.sum(tf.mul(tf.matMul(tf.mean(h, [1, 2]) as tf.Tensor2D, wd), tf.tensor2d([0, 1, 0, 0, 1, 0], [2, 3])));
  } };
}

const tfInputs = () => [
  tf.tensor4d(data.x, shapes.x as [number, number, number, number]), tf.tensor4d(data.w1, shapes.w1 as [number, number, number, number]),
  tf.tensor1d(data.b1), tf.tensor4d(data.w2, shapes.w2 as [number, number, number, number]), tf.tensor1d(data.b2),
  tf.tensor2d(data.wd, shapes.wd as [number, number]),
] as const;

s('a CAM pass (watched activation, weights untracked) launches no weight gradient', async () => {
  const p = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, upload(v, shapes[k as keyof typeof shapes])]));
  const { result: r, kernels } = launched(() => valueAndGrad(() => {
    const a = watch(ops.conv2d(p.x!, p.w1!, { bias: p.b1, padding: 'same', activation: 'relu' }));
    return head(a, p);
  }, []));
  assert.is(count(kernels, 'conv2d.dWeight'), 0, `kernels launched: ${kernels.join(', ')}`);
  // The only input gradient wanted is at the watched activation: one dInput (conv 2), none for conv 1.
  assert.is(count(kernels, 'conv2d.dInput'), 1, `kernels launched: ${kernels.join(', ')}`);
  const [x, w1, b1, w2, b2, wd] = tfInputs();
  const { a, score } = tfNet(x, w1, b1, w2, b2, wd);
  const want = tf.grad(score)(a);
  assertClose(await r.watched[0]!.grad.data(), ref(want), { rtol: 1e-4, atol: 1e-6, what: 'dA' });
  r.value.dispose();
  r.watched[0]!.grad.dispose();
  Object.values(p).forEach((t) => t.dispose());
});

s('training (input untracked) skips the first layer\'s input gradient; weight gradients match tf', async () => {
  const p = Object.fromEntries(Object.entries(data).map(([k, v]) => [k, upload(v, shapes[k as keyof typeof shapes])]));
  const wrt = [p.w1!, p.b1!, p.w2!, p.b2!, p.wd!];
  const { result: g, kernels } = launched(() => grads(() =>
    head(ops.conv2d(p.x!, p.w1!, { bias: p.b1, padding: 'same', activation: 'relu' }), p), wrt));
  assert.is(count(kernels, 'conv2d.dInput'), 1, `kernels launched: ${kernels.join(', ')}`);
  assert.is(count(kernels, 'conv2d.dWeight'), 2, `kernels launched: ${kernels.join(', ')}`);
  const [x, ...params] = tfInputs();
  const f = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor, wd: tf.Tensor) => {
    const { a, score } = tfNet(x, w1 as tf.Tensor4D, b1 as tf.Tensor1D, w2 as tf.Tensor4D, b2 as tf.Tensor1D, wd as tf.Tensor2D);
    return score(a);
  };
  const want = tf.grads(f as (...a: tf.Tensor[]) => tf.Tensor)([...params]);
  const names = ['dW1', 'db1', 'dW2', 'db2', 'dWd'];
  for (let i = 0; i < wrt.length; i++) {
    assertClose(await g[i]!.data(), ref(want[i]!), { rtol: 1e-4, atol: 1e-6, what: names[i] });
    g[i]!.dispose();
  }
  Object.values(p).forEach((t) => t.dispose());
});

/**
 * Kernels launched by grads(f, wrt) for wrt = [p], [q] and [p, q]. A rule that computed every
 * input's gradient and let the tape drop the unwanted one would launch as many kernels for [p]
 * as for [p, q]; one that computes only what is wanted launches strictly fewer.
 */
function separable(f: () => Tensor, p: Tensor, q: Tensor, what: string) {
  const k = (wrt: Tensor[]) => {
    const { result, kernels } = launched(() => grads(f, wrt));
    result.forEach((t) => t.dispose());
    return kernels.length;
  };
  const [onlyP, onlyQ, both] = [k([p]), k([q]), k([p, q])];
  assert.ok(onlyP < both && onlyQ < both, `${what}: kernels for [p] ${onlyP}, [q] ${onlyQ}, [p, q] ${both}`);
}

s('each operand of matmul, mul/div and batch norm alone: its gradient matches tf, the other is not computed', async () => {
  const a = upload(randn(12, 61), [3, 4]), b = upload(randn(8, 62), [4, 2]);
  const ta = tf.tensor2d(randn(12, 61), [3, 4]), tb = tf.tensor2d(randn(8, 62), [4, 2]);
  const mmLoss2 = () => ops.sumAll(ops.mul(ops.matmul(a, b, { activation: 'tanh' }), ops.matmul(a, b)));
  const mmLoss = () => ops.sumAll(ops.matmul(a, b, { activation: 'tanh' }));
  const tfMm = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.tanh(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)), tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D)));
  const [da] = grads(mmLoss2, [a]);
  const [db] = grads(mmLoss2, [b]);
  const [wantA, wantB] = tf.grads(tfMm)([ta, tb]);
  assertClose(await da!.data(), ref(wantA!), { rtol: 1e-4, atol: 1e-6, what: 'matmul dA alone' });
  assertClose(await db!.data(), ref(wantB!), { rtol: 1e-4, atol: 1e-6, what: 'matmul dB alone' });
  separable(mmLoss, a, b, 'matmul');

  const u = upload(randn(6, 63, 0.5, 2), [6]), v = upload(randn(6, 64, 0.5, 2), [6]);
  const tu = tf.tensor1d(randn(6, 63, 0.5, 2)), tv = tf.tensor1d(randn(6, 64, 0.5, 2));
  const mdLoss = () => ops.sumAll(ops.mul(ops.div(u, v), ops.mul(v, v)));
  const [dv] = grads(mdLoss, [v]);
  const [, wantV] = tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.mul(tf.div(p, q), tf.mul(q, q))))([tu, tv]);
  assertClose(await dv!.data(), ref(wantV!), { rtol: 1e-4, atol: 1e-6, what: 'mul/div dB alone' });
  separable(mdLoss, u, v, 'mul/div');

  const x = upload(randn(2 * 3 * 4, 65), [2, 3, 4]);
  const stats = { mean: upload(randn(4, 66), [4]), variance: upload(randn(4, 67, 0.5, 1.5), [4]) };
  const gamma = upload(randn(4, 68, 0.5, 1.5), [4]), beta = upload(randn(4, 69), [4]);
  const bnLoss = () => ops.sumAll(ops.mul(ops.batchNorm(x, { ...stats, gamma, beta, epsilon: 1e-3 }), x));
  const [dGamma] = grads(bnLoss, [gamma]);
  const tfx = tf.tensor3d(randn(24, 65), [2, 3, 4]);
  const [wantGamma] = tf.grads((gm: tf.Tensor) =>
    tf.sum(tf.mul(tf.batchNorm(tfx, tf.tensor1d(randn(4, 66)), tf.tensor1d(randn(4, 67, 0.5, 1.5)), tf.tensor1d(randn(4, 69)), gm as tf.Tensor1D, 1e-3), tfx)))([tf.tensor1d(randn(4, 68, 0.5, 1.5))]);
  assertClose(await dGamma!.data(), ref(wantGamma!), { rtol: 1e-4, atol: 1e-6, what: 'batchNorm dγ alone' });
  separable(bnLoss, gamma, beta, 'batchNorm γ/β');
  separable(bnLoss, x, gamma, 'batchNorm x/γ');
  [a, b, u, v, x, gamma, beta, stats.mean, stats.variance, da!, db!, dv!, dGamma!].forEach((t) => t.dispose());
});

s('a CAM pass through a large dense layer never allocates the weight gradient (peak GPU memory)', async () => {
  // h:(1,4096) → dense W:(4096,1024), 16 MiB → score of unit 7. d score/d h needs W·e7 (16 KiB);
  // a rule that also computed dW = hᵀ·dy would allocate another 16 MiB.
  const x0 = upload(randn(4096, 71), [1, 4096]);
  const w = upload(randn(4096 * 1024, 72, -0.02, 0.02), [4096, 1024]);
  const unit = new Float32Array(1024);
  unit[7] = 1;
  const e7 = upload(unit, [1, 1024]);
  const before = rt.stats().liveBytes;
  rt.pool.resetPeak();
  const r = valueAndGrad(() => ops.sumAll(ops.mul(ops.matmul(watch(ops.relu(x0)), w), e7)), []);
  const extra = rt.stats().peakLiveBytes - before;
  const wBytes = 4096 * 1024 * 4;
  assert.ok(extra < wBytes / 4, `the CAM pass held ${extra} bytes at its peak; the weight gradient alone would be ${wBytes}`);
  // and the gradient at the watched h is W's column 7: a formula on the host
  const xs = await x0.data(), ws = await w.data(), got = await r.watched[0]!.grad.data();
  assertClose(got, Array.from(xs, (_, i) => ws[i * 1024 + 7]!), { rtol: 1e-6, atol: 1e-7, what: 'dh' });
  r.value.dispose();
  r.watched.forEach((t) => t.grad.dispose());
  [x0, w, e7].forEach((t) => t.dispose());
});

s.run();
