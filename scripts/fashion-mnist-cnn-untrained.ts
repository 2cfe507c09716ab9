// Writes the untrained small Fashion-MNIST CNN (seeded Glorot weights) that `camlight train`
// starts from when weights/fashion-mnist-cnn/ is rebuilt (see weights/README.md):
// conv 16 → pool → conv 32 → pool → conv 64 → global average pool → dense 10 (the CAM network of
// Zhou et al. 2016, "Learning Deep Features for Discriminative Localization", Sec. 2: a global
// average pool before the classifier keeps Grad-CAM's maps informative); 23,946 parameters.
// usage: node --import tsx scripts/fashion-mnist-cnn-untrained.ts OUTDIR
import { saveLayersModel } from '../src/nn/loaders/index.ts';
import { Model } from '../src/nn/model.ts';
import { init } from '../src/tensor/runtime-global.ts';

const out = process.argv[2];
if (!out) throw new Error('usage: scripts/fashion-mnist-cnn-untrained.ts OUTDIR');
process.env.XDG_RUNTIME_DIR ??= '/tmp';
await init();
const conv = (name: string, filters: number, first = false) => ({
  class_name: 'Conv2D',
  config: {
    name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last', dilation_rate: [1, 1],
    activation: 'relu', use_bias: true, ...(first ? { batch_input_shape: [null, 28, 28, 1] } : {}),
  },
});
const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, pool_size: [2, 2], strides: [2, 2], padding: 'valid', data_format: 'channels_last' } });
const model = Model.fromKerasConfig({
  class_name: 'Sequential',
  config: {
    name: 'fashion_mnist_cnn',
    layers: [conv('conv1', 16, true), pool('pool1'), conv('conv2', 32), pool('pool2'), conv('conv3', 64),
      { class_name: 'GlobalAveragePooling2D', config: { name: 'gap', data_format: 'channels_last', keepdims: false } },
      { class_name: 'Dense', config: { name: 'predictions', units: 10, activation: 'softmax', use_bias: true } }],
  },
});
model.initWeights(1);
console.error(`${model.name}: ${model.parameterCount().trainable} parameters`);
await saveLayersModel(model, out);
model.dispose();
process.exit(0);
