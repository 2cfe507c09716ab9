// Losses and their gradients against tfjs on the CPU backend, with the same random inputs and
// upstream gradient dLoss = 0.7:
//  - softmaxCrossEntropy vs tf.losses.softmaxCrossEntropy(…, Reduction.MEAN) and vs
//    tf.grad of mean(−Σ labels·logSoftmax(logits)) (exact for labels that do not sum to 1, where
//    tfjs's own softmaxCrossEntropy gradient assumes they do); logits up to ±80; soft labels;
//  - the sparse variant vs the dense one on one-hot labels, and NaN for invalid classes;
//  - meanSquaredError vs tf.losses.meanSquaredError and tf.grad;
//  - finite differences of each loss through the GPU on a tiny shape.
// Tolerance rtol 1e-4 (atol 1e-6 on gradients, whose entries are O(1/B)).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import {
  meanSquaredError, meanSquaredErrorGrad, softmaxCrossEntropy, softmaxCrossEntropyGrad,
  sparseSoftmaxCrossEntropy, sparseSoftmaxCrossEntropyGrad,
} from '../../src/kernels/losses.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, rng, tf } from '../helpers.ts';

const s = suite('kernels/losses');
s.before(async () => { await gpu(); });

const TOL = { rtol: 1e-4, atol: 1e-6 };
const G = 0.7; // upstream gradient of the loss

function classes(B: number, K: number, seed: number): number[] {
  const r = rng(seed);
  return Array.from({ length: B }, () => Math.floor(r() * K));
}
function oneHot(cls: number[], K: number): Float32Array {
  const out = new Float32Array(cls.length * K);
  cls.forEach((c, b) => { out[b * K + c] = 1; });
  return out;
}
/** Random soft labels; each row sums to `rowSum` (1 for distributions). */
function softLabels(B: number, K: number, seed: number, rowSum = 1): Float32Array {
  const l = randn(B * K, seed, 0, 1);
  for (let b = 0; b < B; b++) {
    const row = l.subarray(b * K, (b + 1) * K);
    const t = row.reduce((a, v) => a + v, 0);
    row.forEach((v, k) => { row[k] = (v / t) * rowSum; });
  }
  return l;
}
/** mean_b −Σ_k labels·logSoftmax(logits): valid for any labels, with tfjs's exact gradients. */
const xentRef = (labels: tf.Tensor) => (logits: tf.Tensor) => tf.mean(tf.neg(tf.sum(tf.mul(labels, tf.logSoftmax(logits)), -1)));

async function checkDense(B: number, K: number, labels: Float32Array, amp: number, what: string, seed: number) {
  const x = randn(B * K, seed, -amp, amp);
  const xt = tf.tensor2d(x, [B, K]);
  const lt = tf.tensor2d(labels, [B, K]);
  const { loss, probs } = softmaxCrossEntropy(upload(x, [B, K]), upload(labels, [B, K]));
  assert.equal([...loss.shape], [1], `${what}: loss shape`);
  const wantLoss = ref(xentRef(lt)(xt));
  assertClose(await loss.data(), wantLoss, { rtol: 1e-4, atol: 1e-6, what: `${what} loss` });
  assertClose(await probs.data(), ref(tf.softmax(xt)), { rtol: 1e-4, atol: 1e-7, what: `${what} probs` });
  const dx = softmaxCrossEntropyGrad(upload([G], [1]), probs, upload(labels, [B, K]));
  const want = ref(tf.grad(xentRef(lt))(xt, tf.scalar(G)));
  assertClose(await dx.data(), want, { ...TOL, what: `${what} dlogits` });
  return { loss: (await loss.data())[0]!, dx: await dx.data(), x };
}

s('softmaxCrossEntropy: one-hot labels, logits ±80, vs tf.losses.softmaxCrossEntropy (MEAN)', async () => {
  for (const [B, K, amp, seed] of [[128, 10, 80, 1], [3, 1000, 80, 2], [1, 1, 5, 3], [5, 3, 1, 4]] as const) {
    const labels = oneHot(classes(B, K, seed + 50), K);
    const { x, loss, dx } = await checkDense(B, K, labels, amp, `one-hot B=${B} K=${K} ±${amp}`, seed);
    const lt = tf.tensor2d(labels, [B, K]);
    const tfLoss = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(lt, l, undefined, 0, tf.Reduction.MEAN);
    const xt = tf.tensor2d(x, [B, K]);
    assertClose([loss], ref(tfLoss(xt)), { rtol: 1e-4, atol: 1e-6, what: `B=${B} K=${K} vs tf.losses` });
    assertClose(dx, ref(tf.grad(tfLoss)(xt, tf.scalar(G))), { ...TOL, what: `B=${B} K=${K} dlogits vs tf.losses grad` });
  }
});

s('softmaxCrossEntropy: soft labels (rows sum to 1), and labels that do not sum to 1', async () => {
  const [B, K] = [6, 7];
  const soft = softLabels(B, K, 10);
  const { x, dx } = await checkDense(B, K, soft, 80, 'soft labels', 11);
  const lt = tf.tensor2d(soft, [B, K]);
  const tfLoss = (l: tf.Tensor) => tf.losses.softmaxCrossEntropy(lt, l, undefined, 0, tf.Reduction.MEAN);
  assertClose(dx, ref(tf.grad(tfLoss)(tf.tensor2d(x, [B, K]), tf.scalar(G))), { ...TOL, what: 'soft labels vs tf.losses grad' });
  // Rows summing to 2.5: the general form probs·Σlabels − labels differs from probs − labels.
  const scaled = softLabels(B, K, 12, 2.5);
  const r = await checkDense(B, K, scaled, 30, 'labels summing to 2.5', 13);
  const probs = ref(tf.softmax(tf.tensor2d(r.x, [B, K])));
  const short = probs.map((p, i) => (G * (p - scaled[i]!)) / B);
  const gap = r.dx.reduce((m, v, i) => Math.max(m, Math.abs(v - short[i]!)), 0);
  assert.ok(gap > 1e-2, `the short form should be wrong here (max gap ${gap})`);
});

s('sparseSoftmaxCrossEntropy equals the one-hot dense loss and gradient; bad classes give NaN', async () => {
  for (const [B, K, seed] of [[128, 10, 20], [3, 1000, 21], [2, 1, 22]] as const) {
    const cls = classes(B, K, seed);
    const x = randn(B * K, seed + 1, -80, 80);
    const dense = softmaxCrossEntropy(upload(x, [B, K]), upload(oneHot(cls, K), [B, K]));
    const sparse = sparseSoftmaxCrossEntropy(upload(x, [B, K]), upload(cls, [B]));
    const what = `sparse B=${B} K=${K}`;
    assert.equal([...sparse.loss.shape], [1]);
    const want = ref(xentRef(tf.tensor2d(oneHot(cls, K), [B, K]))(tf.tensor2d(x, [B, K])));
    assertClose(await sparse.loss.data(), want, { rtol: 1e-4, atol: 1e-6, what: `${what} loss vs tf` });
    assertClose(await sparse.loss.data(), await dense.loss.data(), { rtol: 1e-6, atol: 1e-6, what: `${what} loss vs dense` });
    assertClose(await sparse.probs.data(), await dense.probs.data(), { rtol: 0, atol: 0, what: `${what} probs` });
    const gs = sparseSoftmaxCrossEntropyGrad(upload([G], [1]), sparse.probs, upload(cls, [B]));
    const gd = softmaxCrossEntropyGrad(upload([G], [1]), dense.probs, upload(oneHot(cls, K), [B, K]));
    assertClose(await gs.data(), await gd.data(), { rtol: 1e-6, atol: 1e-9, what: `${what} dlogits vs dense` });
  }
  // Classes −1, 3 (= K) and 1.5 are invalid: NaN loss, NaN gradient rows; row 1 stays finite.
  const x = upload(randn(4 * 3, 30), [4, 3]);
  const bad = upload([-1, 2, 3, 1.5], [4]);
  const { loss, probs } = sparseSoftmaxCrossEntropy(x, bad);
  assert.ok(Number.isNaN((await loss.data())[0]), 'loss is NaN');
  const g = await sparseSoftmaxCrossEntropyGrad(upload([1], [1]), probs, bad).data();
  assert.equal([...g].map(Number.isNaN), [true, true, true, false, false, false, true, true, true, true, true, true]);
});

s('meanSquaredError and its gradient vs tf.losses.meanSquaredError (MEAN), up to 301056 elements', async () => {
  for (const [i, sh] of [[2, 5, 7, 3], [1], [3, 1000], [2, 224, 224, 3]].entries()) {
    const n = sh.reduce((a, b) => a * b, 1);
    const p = randn(n, 40 + i, -2, 2);
    const t = randn(n, 60 + i, -2, 2);
    const tt = tf.tensor(t, sh);
    const tfLoss = (x: tf.Tensor) => tf.losses.meanSquaredError(tt, x, undefined, tf.Reduction.MEAN);
    const loss = meanSquaredError(upload(p, sh), upload(t, sh));
    assert.equal([...loss.shape], [1]);
    assertClose(await loss.data(), ref(tfLoss(tf.tensor(p, sh))), { rtol: 1e-4, atol: 1e-7, what: `mse ${sh}` });
    const dx = meanSquaredErrorGrad(upload([G], [1]), upload(p, sh), upload(t, sh));
    assert.equal([...dx.shape], sh);
    assertClose(await dx.data(), ref(tf.grad(tfLoss)(tf.tensor(p, sh), tf.scalar(G))), { rtol: 1e-4, atol: 1e-9, what: `mse grad ${sh}` });
  }
});

s('finite differences of each loss through the GPU (2×3 logits, 2×3 MSE)', async () => {
  const [B, K] = [2, 3];
  const x0 = randn(B * K, 70, -2, 2);
  const soft = softLabels(B, K, 71, 1.5);
  const cls = [2, 0];
  const lossOf = async (t: { data(): Promise<Float32Array> }) => (await t.data())[0]! * G;
  const dLoss = upload([G], [1]);
  // Central differences in f32 through the GPU: step 1e-2, tolerance 1e-3 on O(0.1) gradients.
  const tol = { rtol: 1e-2, atol: 1e-3 };
  const fdDense = await finiteDiff(async (x) => lossOf(softmaxCrossEntropy(upload(x, [B, K]), upload(soft, [B, K])).loss), x0);
  const dense = softmaxCrossEntropy(upload(x0, [B, K]), upload(soft, [B, K]));
  assertClose(await softmaxCrossEntropyGrad(dLoss, dense.probs, upload(soft, [B, K])).data(), fdDense, { ...tol, what: 'dense fd' });
  const fdSparse = await finiteDiff(async (x) => lossOf(sparseSoftmaxCrossEntropy(upload(x, [B, K]), upload(cls, [B])).loss), x0);
  const sparse = sparseSoftmaxCrossEntropy(upload(x0, [B, K]), upload(cls, [B]));
  assertClose(await sparseSoftmaxCrossEntropyGrad(dLoss, sparse.probs, upload(cls, [B])).data(), fdSparse, { ...tol, what: 'sparse fd' });
  const target = randn(6, 72);
  const fdMse = await finiteDiff(async (x) => lossOf(meanSquaredError(upload(x, [B, K]), upload(target, [B, K]))), x0);
  const mse = meanSquaredErrorGrad(dLoss, upload(x0, [B, K]), upload(target, [B, K]));
  assertClose(await mse.data(), fdMse, { ...tol, what: 'mse fd' });
});

s('bad shapes are ShapeErrors that name them', () => {
  const x = upload(new Float32Array(12), [4, 3]);
  const one = upload([1], [1]);
  const cases: [() => unknown, RegExp][] = [
    [() => softmaxCrossEntropy(x, upload(new Float32Array(12), [3, 4])), /labels:\(3,4\).*labels must match logits \(4,3\)/],
    [() => softmaxCrossEntropy(upload(new Float32Array(12), [12]), x), /logits must be \(B,K\)/],
    [() => sparseSoftmaxCrossEntropy(x, upload([0, 1, 2], [3])), /classes must be \(B\) = \(4\)/],
    [() => softmaxCrossEntropyGrad(upload([1, 2], [2]), x, x), /dLoss must hold one value.*got \[2\]/],
    [() => sparseSoftmaxCrossEntropyGrad(one, x, upload(new Float32Array(4), [4, 1])), /classes must be \(B\)/],
    [() => meanSquaredError(x, upload(new Float32Array(12), [3, 4])), /pred:\(4,3\) target:\(3,4\).*same shape/],
    [() => meanSquaredError(upload([], [0]), upload([], [0])), /mean of no elements/],
    [() => meanSquaredErrorGrad(upload([], [0]), x, x), /dLoss must hold one value/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
