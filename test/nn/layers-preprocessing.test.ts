// The layers EfficientNet's stem and blocks need beyond the basic set: Keras's Normalization
// against its formula on the host (and Keras's documented example), per-channel Rescaling and
// broadcasting Multiply/Add against tfjs-layers (with gradients), and Dropout's noise_shape.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { createLayer, LayerConfigError } from '../../src/nn/layers/index.ts';
import { Model } from '../../src/nn/model.ts';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { KerasGraph } from '../../src/nn/zoo/keras-graph.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, rng } from '../helpers.ts';
import { compareWithTf, tfl, wrap } from './keras-helpers.ts';

const s = suite('nn/layers-preprocessing');
s.before(async () => { await gpu(); });

/** A one-layer functional model over an input of `shape` (batch excluded). */
function one(cls: string, config: Record<string, unknown>, shape: number[]): Model {
  const g = new KerasGraph('m');
  return Model.fromKerasConfig(g.topology(g.add(cls, config, g.input(shape), 'l')));
}

// keras/src/layers/preprocessing/normalization.py, `call`: (x − mean) / max(√variance, ε) with
// ε = keras.backend.epsilon() = 1e-7, per index of the kept (last) axis.
const keras = (x: number, m: number, v: number) => (x - m) / Math.max(Math.sqrt(v), 1e-7);

s('Normalization with weights: (x − mean)/max(√variance, 1e-7) per channel, forward and input gradient, as the host formula', async () => {
  const m = one('Normalization', { axis: [-1], mean: null, variance: null, invert: false }, [4, 5, 4]);
  assert.equal(m.weightList().map((w) => [w.weight, w.shape]), [['mean', [4]], ['variance', [4]], ['count', []]]);
  assert.equal(m.parameterCount(), { trainable: 0, nonTrainable: 9 });
  // Channel 2's variance 0 and channel 3's 1e-16 (< ε²) both divide by ε, as Keras's max() does.
  const mean = Float32Array.of(0.5, -1, 2, 1e-3), variance = Float32Array.of(0.25, 4, 0, 1e-16);
  m.setWeights(new Map([
    ['l/mean', { data: mean, shape: [4] }], ['l/variance', { data: variance, shape: [4] }], ['l/count', { data: Float32Array.of(7), shape: [] }],
  ]));
  const shape = [2, 4, 5, 4];
  const xh = randn(160, 3, -3, 3);
  xh[2] = 2; // x = mean on the zero-variance channel: 0, not NaN
  const want = xh.map((v, i) => keras(v, mean[i % 4]!, variance[i % 4]!));
  const x = upload(xh, shape);
  const got = await m.predict(x).data();
  assert.is(got[2], 0);
  assertClose(got, want, { rtol: 1e-5, atol: 1e-5, what: 'normalization forward' });
  // Grad-CAM differentiates through the stem: d(Σ y ⊙ r)/dx = r / max(√variance, ε).
  const r = randn(160, 4);
  const res = valueAndGrad(() => ops.sumAll(ops.mul(m.predict(x), upload(r, shape))), [x]);
  assertClose(await res.grads[0]!.data(), r.map((v, i) => v / Math.max(Math.sqrt(variance[i % 4]!), 1e-7)), { rtol: 1e-5, atol: 1e-5, what: 'normalization dx' });
  m.dispose();
});

s('Normalization with mean and variance inline: no weights; Keras\'s documented example; per channel', async () => {
  // Keras's docstring: Normalization(mean=3., variance=2.) on [[1.], [2.], [3.]] → [-1.4142135, -0.70710677, 0.].
  const scalar = one('Normalization', { axis: -1, mean: 3, variance: 2 }, [1]);
  assert.equal(scalar.weightList(), []);
  assertClose(await scalar.predict(upload(Float32Array.of(1, 2, 3), [3, 1])).data(), [-1.4142135, -0.70710677, 0], { rtol: 0, atol: 1e-6, what: 'docstring' });
  const per = one('Normalization', { axis: [3], mean: [1, 2, 3], variance: [4, 0.25, 0] }, [2, 2, 3]);
  const xh = randn(24, 5, -5, 5);
  assertClose(await per.predict(upload(xh, [2, 2, 2, 3])).data(), xh.map((v, i) => keras(v, [1, 2, 3][i % 3]!, [4, 0.25, 0][i % 3]!)), { rtol: 1e-5, atol: 1e-5, what: 'inline per channel' });
});

s('Normalization configs camlight cannot honour are errors naming the layer and what to do', () => {
  const err = (f: () => unknown, cls: new (...a: never[]) => Error, re: RegExp) => {
    try {
      f();
    } catch (e) {
      assert.instance(e, cls);
      assert.match((e as Error).message, re);
      return;
    }
    assert.unreachable(`expected ${String(re)}`);
  };
  err(() => createLayer('Normalization', { name: 'n', axis: null }), LayerConfigError, /'n' \(Normalization\): axis null .*last axis only \(axis -1\)/);
  err(() => createLayer('Normalization', { name: 'n', axis: [1, 2] }), LayerConfigError, /axis \[1,2\]/);
  err(() => one('Normalization', { axis: 1 }, [4, 4, 3]), LayerConfigError, /axis 1 of a rank-4 input is not the last axis/);
  err(() => createLayer('Normalization', { name: 'n', invert: true }), LayerConfigError, /invert=True/);
  err(() => createLayer('Normalization', { name: 'n', mean: [1, 2] }), LayerConfigError, /'mean' and 'variance' together/);
  err(() => one('Normalization', { mean: [1, 2], variance: [1, 1] }, [4, 3]), ShapeError, /2 values but the input has 3 channels/);
  err(() => one('Rescaling', { scale: [1, 2] }, [4, 3]), ShapeError, /'scale' has 2 values but the input \(None, 4, 3\) has 3 channels/);
  err(() => createLayer('Rescaling', { name: 'r', scale: 'x' }), LayerConfigError, /'scale' must be a number or a flat list/);
  err(() => one('Dropout', { rate: 0.1, noise_shape: [null, 2, 1, 1] }, [3, 3, 2]), ShapeError, /noise_shape \[null, 2, 1, 1\] does not broadcast/);
});

s('per-channel Rescaling (EfficientNet\'s 1/√stddev) and broadcasting Multiply/Add (squeeze-excite) as tfjs-layers, with gradients', async () => {
  const scale = [0.229, 0.224, 0.225].map((v) => 1 / Math.sqrt(v));
  await compareWithTf(wrap(tfl.layers.rescaling({ name: 'rs', scale: scale as unknown as number }), [[3, 4, 3]]), { grads: true, what: 'rescaling per channel' });
  await compareWithTf(wrap(tfl.layers.rescaling({ name: 'rs', scale: [2, -1, 0.5] as unknown as number, offset: [1, 0, -3] as unknown as number }), [[3, 4, 3]]), { grads: true, what: 'scale and offset per channel' });
  await compareWithTf(wrap(tfl.layers.multiply({ name: 'mul' }), [[4, 5, 6], [1, 1, 6]]), { grads: true, what: 'x ⊙ gate' });
  await compareWithTf(wrap(tfl.layers.add({ name: 'add' }), [[1, 1, 6], [4, 5, 6]]), { grads: true, what: 'gate + x' });
  const m = one('Rescaling', { scale: [1, 10, 100], offset: 0.5 }, [2, 3]);
  assert.equal(Array.from(await m.predict(upload(Float32Array.of(1, 1, 1, 2, 2, 2), [1, 2, 3])).data()), [1.5, 10.5, 100.5, 2.5, 20.5, 200.5]);
});

s('Dropout with noise_shape [null, 1, 1, 1] drops whole images in training (drop-connect), identity at inference', async () => {
  const m = one('Dropout', { rate: 0.25, noise_shape: [null, 1, 1, 1] }, [3, 3, 2]);
  const x = upload(new Float32Array(400 * 18).fill(2), [400, 3, 3, 2]);
  assert.equal(Array.from(await m.predict(x).data()), Array.from(new Float32Array(400 * 18).fill(2)));
  const y = await m.run(x, { training: true, random: rng(5) }).output.data();
  let dropped = 0;
  for (let n = 0; n < 400; n++) {
    const img = y.subarray(n * 18, (n + 1) * 18);
    const v = img[0]!;
    assert.ok(v === 0 || Math.abs(v - 2 / 0.75) < 1e-6, `image ${n}: ${v}`);
    assert.ok(img.every((u) => u === v), `image ${n} is dropped or kept whole`);
    if (v === 0) dropped++;
  }
  assert.ok(Math.abs(dropped / 400 - 0.25) < 0.06, `dropped ${dropped} of 400 images`);
  // The input gradient is the same broadcast mask: 0 for a dropped image, 1/(1 − rate) for a kept one.
  const res = valueAndGrad(() => ops.sumAll(m.run(x, { training: true, random: rng(5) }).output), [x]);
  assert.equal(Array.from(await res.grads[0]!.data()), Array.from(y, (v) => v / 2));
});

s.run();
