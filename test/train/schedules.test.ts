// Learning-rate schedules against their formulas, worked by hand at chosen points.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { constant, cosine, stepDecay, warmup } from '../../src/train/schedules.ts';

const s = suite('train/schedules');
const at = (epoch: number, step = 0, stepsPerEpoch = 10, epochs = 10) => ({ epoch, step, stepsPerEpoch, epochs });
const close = (a: number, b: number, what: string) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

s('constant and step decay', () => {
  assert.is(constant(0.3)(at(7, 3)), 0.3);
  const f = stepDecay({ lr: 0.1, every: 2, gamma: 0.5 });
  const want = [0.1, 0.1, 0.05, 0.05, 0.025];
  want.forEach((w, e) => close(f(at(e, 9)), w, `epoch ${e}`));
  close(stepDecay({ lr: 1, every: 3 })(at(6)), 0.01, 'default gamma 0.1');
  assert.throws(() => stepDecay({ lr: 1, every: 0 }), /every/);
});

s('cosine: lr at the start, the midpoint mean, finalLr at the end, per step', () => {
  const f = cosine({ lr: 0.1, finalLr: 0.002 });
  close(f(at(0)), 0.1, 'start');
  close(f(at(5)), 0.051, 'midpoint');
  close(f(at(10)), 0.002, 'end');
  // Inside an epoch: t = 2.5 of T = 10.
  close(f(at(2, 5)), 0.002 + 0.5 * 0.098 * (1 + Math.cos(Math.PI * 0.25)), 'epoch 2.5');
  close(cosine({ lr: 1 })(at(10)), 0, 'default final 0');
  close(cosine({ lr: 1, epochs: 4 })(at(2)), 0.5, 'own horizon');
});

s('warm-up rises linearly from `from` then hands over to the base schedule', () => {
  const f = warmup(constant(0.2), { epochs: 2 });
  close(f(at(0)), 0, 'start');
  close(f(at(0, 5)), 0.05, 'quarter');
  close(f(at(1, 5)), 0.15, 'three quarters');
  close(f(at(2)), 0.2, 'done');
  const g = warmup(cosine({ lr: 0.1 }), { epochs: 1, from: 0.1 });
  const base = cosine({ lr: 0.1 });
  close(g(at(0, 5)), base(at(0, 5)) * (0.1 + 0.9 * 0.5), 'with cosine');
  close(g(at(3, 2)), base(at(3, 2)), 'after warm-up');
});

s.run();
