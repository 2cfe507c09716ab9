// Fused optimiser updates against tf.train's optimisers (SGD, momentum, Nesterov, Adam) on the
// same gradients, one and several steps; weight decay and AdamW against host formulas.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { optimStep } from '../../src/kernels/optim.ts';
import { adam, adamw, sgd, type Optimizer } from '../../src/train/optimizers.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';

const s = suite('kernels/optim');
s.before(async () => { await gpu(); });

const shapes = [[3, 5, 7], [1], [1031], [2, 3, 3, 5]];

/** Runs `steps` updates with ours and tfjs's optimiser on the same gradient sequence. */
async function compare(ours: () => Optimizer, theirs: () => tf.Optimizer, steps: number, what: string) {
  for (const [si, shape] of shapes.entries()) {
    const n = shape.reduce((a, b) => a * b, 1);
    const w0 = randn(n, 100 + si);
    const opt = ours();
    const p = upload(w0, shape);
    const ref = theirs();
    const v = tf.variable(tf.tensor(w0, shape), true, `w_${what}_${si}_${Math.random()}`);
    for (let k = 0; k < steps; k++) {
      const g = randn(n, 200 + 10 * si + k, -2, 2);
      const gt = upload(g, shape);
      opt.step([p], [gt]);
      gt.dispose();
      const gT = tf.tensor(g, shape);
      ref.applyGradients({ [v.name]: gT });
      gT.dispose();
    }
    assertClose(await p.data(), v.dataSync(), { rtol: 1e-5, atol: 1e-6, what: `${what} ${shape} after ${steps}` });
    v.dispose();
    ref.dispose();
    opt.dispose();
    p.dispose();
  }
}

for (const steps of [1, 4]) {
  s(`sgd matches tf.train.sgd (${steps} step(s), rtol 1e-5)`, () => compare(() => sgd({ lr: 0.1 }), () => tf.train.sgd(0.1), steps, 'sgd'));
  s(`momentum matches tf.train.momentum (${steps} step(s))`, () =>
    compare(() => sgd({ lr: 0.05, momentum: 0.9 }), () => tf.train.momentum(0.05, 0.9), steps, 'momentum'));
  s(`nesterov matches tf.train.momentum(useNesterov) (${steps} step(s))`, () =>
    compare(() => sgd({ lr: 0.05, momentum: 0.8, nesterov: true }), () => tf.train.momentum(0.05, 0.8, true), steps, 'nesterov'));
  s(`adam matches tf.train.adam (${steps} step(s))`, () =>
    compare(() => adam({ lr: 0.01, beta1: 0.9, beta2: 0.999, epsilon: 1e-7 }), () => tf.train.adam(0.01, 0.9, 0.999, 1e-7), steps, 'adam'));
}
s('adam with other betas and a large epsilon matches tf.train.adam (3 steps)', () =>
  compare(() => adam({ lr: 0.003, beta1: 0.5, beta2: 0.9, epsilon: 0.1 }), () => tf.train.adam(0.003, 0.5, 0.9, 0.1), 3, 'adam2'));

/** Host reference of our documented rules, in float64. */
function hostSteps(rule: 'sgd' | 'momentum' | 'adam' | 'adamw', w: Float64Array, gs: Float32Array[], o: { lr: number; wd: number; mu?: number; b1?: number; b2?: number; eps?: number }) {
  const m = new Float64Array(w.length), v = new Float64Array(w.length);
  const { lr, wd, mu = 0, b1 = 0.9, b2 = 0.999, eps = 1e-7 } = o;
  gs.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < w.length; i++) {
      const gi = rule === 'adamw' ? g[i]! : g[i]! + wd * w[i]!;
      if (rule === 'sgd') w[i] = w[i]! - lr * gi;
      else if (rule === 'momentum') { m[i] = mu * m[i]! + gi; w[i] = w[i]! - lr * m[i]!; }
      else {
        m[i] = b1 * m[i]! + (1 - b1) * gi;
        v[i] = b2 * v[i]! + (1 - b2) * gi * gi;
        const upd = (m[i]! / (1 - b1 ** t)) / (Math.sqrt(v[i]! / (1 - b2 ** t)) + eps);
        w[i] = w[i]! - (rule === 'adamw' ? lr * wd * w[i]! : 0) - lr * upd;
      }
    }
  });
  return w;
}

s('weight decay (L2 for sgd/momentum/adam, decoupled for adamw) matches host formulas over 3 steps', async () => {
  const n = 517;
  const w0 = randn(n, 5, -3, 3);
  const gs = [0, 1, 2].map((k) => randn(n, 50 + k));
  const cases: [Optimizer, Parameters<typeof hostSteps>[0], Parameters<typeof hostSteps>[3]][] = [
    [sgd({ lr: 0.1, weightDecay: 0.05 }), 'sgd', { lr: 0.1, wd: 0.05 }],
    [sgd({ lr: 0.1, momentum: 0.9, weightDecay: 0.05 }), 'momentum', { lr: 0.1, wd: 0.05, mu: 0.9 }],
    [adam({ lr: 0.01, weightDecay: 0.1 }), 'adam', { lr: 0.01, wd: 0.1 }],
    [adamw({ lr: 0.01, weightDecay: 0.1 }), 'adamw', { lr: 0.01, wd: 0.1 }],
  ];
  for (const [opt, rule, o] of cases) {
    const p = upload(w0, [n]);
    for (const g of gs) {
      const gt = upload(g, [n]);
      opt.step([p], [gt]);
      gt.dispose();
    }
    const want = hostSteps(rule, Float64Array.from(w0), gs, o);
    assertClose(await p.data(), want, { rtol: 1e-5, atol: 1e-6, what: rule });
    opt.dispose();
  }
  // AdamW really differs from Adam with L2 on the same inputs (the test can tell them apart).
  const a = hostSteps('adam', Float64Array.from(w0), gs, { lr: 0.01, wd: 0.1 });
  const b = hostSteps('adamw', Float64Array.from(w0), gs, { lr: 0.01, wd: 0.1 });
  assert.ok(a.some((x, i) => Math.abs(x - b[i]!) > 1e-4), 'adam+L2 and adamw give different results');
});

s('several parameters in one step each keep their own state; mismatches are ShapeErrors', async () => {
  const opt = adam({ lr: 0.1 });
  const a = upload(randn(10, 1), [10]), b = upload(randn(6, 2), [2, 3]);
  const ga = upload(randn(10, 3), [10]), gb = upload(randn(6, 4), [2, 3]);
  opt.step([a, b], [ga, gb]);
  opt.step([a, b], [ga, gb]);
  const ref = tf.train.adam(0.1, 0.9, 0.999, 1e-7);
  const va = tf.variable(tf.tensor(randn(10, 1)), true, `va${Math.random()}`), vb = tf.variable(tf.tensor(randn(6, 2), [2, 3]), true, `vb${Math.random()}`);
  for (let k = 0; k < 2; k++) ref.applyGradients([{ name: va.name, tensor: tf.tensor(randn(10, 3)) }, { name: vb.name, tensor: tf.tensor(randn(6, 4), [2, 3]) }]);
  assertClose(await a.data(), va.dataSync(), { rtol: 1e-5, atol: 1e-6, what: 'a' });
  assertClose(await b.data(), vb.dataSync(), { rtol: 1e-5, atol: 1e-6, what: 'b' });
  assert.throws(() => opt.step([a], [gb]), /gradient/);
  assert.throws(() => optimStep('adam', a, ga, [], { lr: 1 }), /state/);
  assert.is(opt.iterations, 2);
});

s.run();
