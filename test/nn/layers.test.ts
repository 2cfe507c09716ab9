// Every layer class against the tfjs-layers layer with the same config and seeded weights:
// forward, and for the differentiable ones the input and weight gradients; plus config errors.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createLayer, LayerConfigError, UnsupportedLayerError } from '../../src/nn/layers/index.ts';
import { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, rng, tf } from '../helpers.ts';
import { compareWithTf, tfl, wrap } from './keras-helpers.ts';

const s = suite('nn/layers');
s.before(async () => { await gpu(); });

s('Conv2D: same/stride 2/relu with bias, valid/tanh without (grads), dilated (forward)', async () => {
  await compareWithTf(wrap(tfl.layers.conv2d({ name: 'c', filters: 6, kernelSize: [3, 2], strides: 2, padding: 'same', activation: 'relu' }), [[7, 9, 5]]), { grads: true });
  // tfjs has no conv gradient for dilations > 1: forward only here; the dilated backward kernels
  // are checked against float64 host sums in test/kernels/conv2d-backward.test.ts.
  await compareWithTf(wrap(tfl.layers.conv2d({ name: 'c', filters: 3, kernelSize: 3, dilationRate: 2, useBias: false, activation: 'tanh' }), [[9, 8, 4]]));
  await compareWithTf(wrap(tfl.layers.conv2d({ name: 'c', filters: 3, kernelSize: 3, useBias: false, activation: 'tanh' }), [[9, 8, 4]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.conv2d({ name: 'c', filters: 5, kernelSize: 1, activation: 'softmax' }), [[1, 1, 3]]), { batch: 3 });
});

s('DepthwiseConv2D (multiplier 2, stride 2, relu6) and SeparableConv2D (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.depthwiseConv2d({ name: 'd', kernelSize: 3, depthMultiplier: 2, strides: 2, padding: 'same', activation: 'relu6' }), [[7, 6, 3]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.separableConv2d({ name: 'sp', filters: 5, kernelSize: 3, padding: 'valid', activation: 'sigmoid' }), [[6, 7, 4]]), { grads: true });
});

s('Dense: rank 2 and rank 4 inputs, sigmoid and softmax (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.dense({ name: 'fc', units: 7, activation: 'sigmoid' }), [[13]]), { grads: true, batch: 3 });
  await compareWithTf(wrap(tfl.layers.dense({ name: 'fc', units: 5, activation: 'softmax', useBias: false }), [[3, 2, 6]]), { grads: true });
});

s('BatchNormalization at inference, with and without scale/center (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.batchNormalization({ name: 'bn', epsilon: 1e-3 }), [[4, 5, 6]]), { grads: true });
  // tfjs's batch-norm gradient fails without γ, so these cases check the forward only.
  await compareWithTf(wrap(tfl.layers.batchNormalization({ name: 'bn', scale: false }), [[9]]), { batch: 3 });
  await compareWithTf(wrap(tfl.layers.batchNormalization({ name: 'bn', scale: false, center: false }), [[2, 9]]));
});

s('BatchNormalization in training: batch statistics and the moving averages (momentum 0.9)', async () => {
  const tm = wrap(tfl.layers.batchNormalization({ name: 'bn', momentum: 0.9 }), [[3, 4, 5]]);
  const model = await compareWithTf(tm, { seed: 5 });
  const x = randn(2 * 3 * 4 * 5, 77);
  const xt = tf.tensor(x, [2, 3, 4, 5]);
  const bn = tm.layers[1]!.getWeights().map((t) => tf.tensor(t.dataSync().slice(), t.shape));
  // tfjs updates the moving statistics in apply() with training: true, so they are read first.
  const yTf = (tm.layers[1]!.apply(xt, { training: true }) as tf.Tensor).dataSync();
  const y = model.run(upload(x, [2, 3, 4, 5]), { training: true }).output;
  assertClose(await y.data(), yTf, { rtol: 1e-4, atol: 1e-4, what: 'training output' });
  const { mean, variance } = tf.moments(xt, [0, 1, 2]);
  const wantMean = tf.add(tf.mul(bn[2]!, 0.9), tf.mul(mean, 0.1)).dataSync();
  const wantVar = tf.add(tf.mul(bn[3]!, 0.9), tf.mul(variance, 0.1)).dataSync();
  const got = await model.readWeights();
  assertClose(got.get('bn/moving_mean')!.data, wantMean, { rtol: 1e-5, atol: 1e-6, what: 'moving mean' });
  assertClose(got.get('bn/moving_variance')!.data, wantVar, { rtol: 1e-5, atol: 1e-6, what: 'moving variance' });
});

s('pooling layers: max same 3×3/2, average valid 2×2, global average/max (keepdims) (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.maxPooling2d({ name: 'p', poolSize: 3, strides: 2, padding: 'same' }), [[7, 8, 3]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.averagePooling2d({ name: 'p', poolSize: 2, padding: 'valid' }), [[5, 7, 6]]), { grads: true });
  // Forward only: tfjs's CPU avgPool gradient divides border windows by the full window size
  // (9 here) although its forward excludes the padding (6 values); camlight's follows TensorFlow.
  await compareWithTf(wrap(tfl.layers.averagePooling2d({ name: 'p', poolSize: 3, strides: 1, padding: 'same' }), [[5, 4, 2]]));
  await compareWithTf(wrap(tfl.layers.globalAveragePooling2d({ name: 'g' }), [[3, 5, 7]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.globalMaxPooling2d({ name: 'g' }), [[4, 3, 6]]), { grads: true });
  const keep = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: { name: 's', layers: [{ class_name: 'GlobalAveragePooling2D', config: { name: 'g', keepdims: true, batch_input_shape: [null, 3, 3, 2] } }] },
  });
  assert.equal(keep.outputShape, [null, 1, 1, 2]);
  assert.equal(keep.predict(upload(randn(18, 1), [1, 3, 3, 2])).shape, [1, 1, 1, 2]);
});

s('Activation, ReLU (plain and max_value 6), Softmax, Rescaling (grads)', async () => {
  for (const a of ['relu', 'relu6', 'sigmoid', 'tanh', 'softmax', 'linear'] as const) {
    await compareWithTf(wrap(tfl.layers.activation({ name: 'a', activation: a }), [[3, 7]]), { grads: true, what: a });
  }
  await compareWithTf(wrap(tfl.layers.reLU({ name: 'r' }), [[5, 2]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.reLU({ name: 'r', maxValue: 6 }), [[5, 2]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.softmax({ name: 'sm' }), [[9]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.rescaling({ name: 'rs', scale: 1 / 127.5, offset: -1 }), [[3, 3, 3]]), { grads: true });
});

s('Flatten, Reshape (with -1), ZeroPadding2D (int, pair, pair of pairs) (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.flatten({ name: 'f' }), [[3, 4, 5]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.reshape({ name: 'r', targetShape: [5, -1] }), [[3, 4, 5]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.zeroPadding2d({ name: 'z', padding: 2 }), [[3, 2, 3]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.zeroPadding2d({ name: 'z', padding: [1, 3] }), [[3, 2, 3]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.zeroPadding2d({ name: 'z', padding: [[0, 1], [2, 0]] }), [[3, 2, 3]]), { grads: true });
});

s('Concatenate, Add, Multiply over several inputs (grads)', async () => {
  await compareWithTf(wrap(tfl.layers.concatenate({ name: 'cat' }), [[3, 3, 2], [3, 3, 5], [3, 3, 1]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.add({ name: 'add' }), [[4, 5], [4, 5], [4, 5]]), { grads: true });
  await compareWithTf(wrap(tfl.layers.multiply({ name: 'mul' }), [[4, 5], [4, 5]]), { grads: true });
});

s('Dropout: identity at inference; inverted dropout in training with the seeded source', async () => {
  const m = await compareWithTf(wrap(tfl.layers.dropout({ name: 'd', rate: 0.3 }), [[40, 50]]));
  const x = upload(new Float32Array(2 * 40 * 50).fill(2), [2, 40, 50]);
  const y = await m.run(x, { training: true, random: rng(3) }).output.data();
  const zeros = y.filter((v) => v === 0).length / y.length;
  assert.ok(Math.abs(zeros - 0.3) < 0.03, `dropped fraction ${zeros}`);
  assert.ok(y.every((v) => v === 0 || Math.abs(v - 2 / 0.7) < 1e-5), 'kept values are scaled by 1/(1-rate)');
  const again = await m.run(x, { training: true, random: rng(3) }).output.data();
  assert.equal(Array.from(again), Array.from(y), 'same seed, same mask');
});

s('unsupported classes and configs are errors that name the layer and what to do', () => {
  const thrown = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return e as Error;
    }
    throw new Error('no error');
  };
  const e1 = thrown(() => createLayer('LSTM', { name: 'lstm_1', units: 4 }));
  assert.instance(e1, UnsupportedLayerError);
  assert.match(e1.message, /'lstm_1'.*'LSTM'.*supported: InputLayer, Conv2D/);
  const e2 = thrown(() => createLayer('Conv2D', { name: 'c', filters: 2, kernel_size: 3, data_format: 'channels_first' }));
  assert.instance(e2, LayerConfigError);
  assert.match(e2.message, /'c' \(Conv2D\).*channels_first.*channels_last/);
  assert.match(thrown(() => createLayer('Dense', { name: 'fc', units: 2, activation: 'elu' })).message, /'fc'.*elu.*relu6/);
  assert.match(thrown(() => createLayer('Conv2D', { name: 'c', filters: 2, kernel_size: 3, padding: 'causal' })).message, /causal/);
  assert.match(thrown(() => createLayer('ReLU', { name: 'r', negative_slope: 0.1 })).message, /negative_slope/);
  assert.match(thrown(() => createLayer('Conv2D', { name: 'c', kernel_size: 3 })).message, /'filters'/);
  const e3 = thrown(() => Model.fromKerasConfig({
    class_name: 'Sequential',
    config: { layers: [{ class_name: 'Dense', config: { name: 'a', units: 2, batch_input_shape: [null, 3] } }, { class_name: 'GRU', config: { name: 'g' } }] },
  }));
  assert.match(e3.message, /'g'.*'GRU'/);
});

s.run();
