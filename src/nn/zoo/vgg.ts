// VGG-16 and VGG-19 (Simonyan & Zisserman 2015, "Very Deep Convolutional Networks", Table 1,
// configurations D and E) with keras.applications' layer names: block1_conv1 … block5_pool,
// flatten, fc1, fc2, predictions.
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, pool, type ApplicationOptions } from './keras-graph.ts';

function vgg(name: 'vgg16' | 'vgg19', convsPerBlock: number[], o: ApplicationOptions): Model {
  const { inputShape = [224, 224, 3], includeTop = true, classes = 1000, pooling = null, classifierActivation = 'softmax' } = o;
  checkInput(name, inputShape, 32);
  const g = new KerasGraph(name);
  let x = g.input(inputShape);
  const widths = [64, 128, 256, 512, 512];
  convsPerBlock.forEach((n, b) => {
    for (let i = 1; i <= n; i++) x = g.add('Conv2D', conv(widths[b]!, [3, 3], { activation: 'relu' }), x, `block${b + 1}_conv${i}`);
    x = g.add('MaxPooling2D', pool(2, 2), x, `block${b + 1}_pool`);
  });
  if (includeTop) {
    x = g.add('Flatten', { data_format: 'channels_last' }, x, 'flatten');
    x = g.add('Dense', { units: 4096, activation: 'relu', use_bias: true }, x, 'fc1');
    x = g.add('Dense', { units: 4096, activation: 'relu', use_bias: true }, x, 'fc2');
    x = g.add('Dense', { units: classes, activation: classifierActivation, use_bias: true }, x, 'predictions');
  } else if (pooling === 'avg') x = g.add('GlobalAveragePooling2D', { data_format: 'channels_last', keepdims: false }, x);
  else if (pooling === 'max') x = g.add('GlobalMaxPooling2D', { data_format: 'channels_last', keepdims: false }, x);
  return Model.fromKerasConfig(g.topology(x));
}

/**
 * VGG-16 as keras.applications.VGG16 builds it (weights not allocated: initWeights() or a loader).
 * @example
 *   const m = vgg16({ inputShape: [64, 64, 3], includeTop: false, pooling: 'avg' });
 */
export function vgg16(o: ApplicationOptions = {}): Model {
  return vgg('vgg16', [2, 2, 3, 3, 3], o);
}

/**
 * VGG-19 as keras.applications.VGG19 builds it; the 224×224 head's fc1 kernel (392 MiB) is held
 * in chunks under the adapter's binding limit.
 * @example
 *   const m = vgg19(); m.getLayer('block5_conv4');
 */
export function vgg19(o: ApplicationOptions = {}): Model {
  return vgg('vgg19', [2, 2, 4, 4, 4], o);
}
