// ResNet-50 (He et al. 2016, "Deep Residual Learning for Image Recognition", Table 1, the
// 50-layer column) as keras.applications.ResNet50 builds it (keras/src/applications/resnet.py):
// post-activation bottleneck blocks (1×1 → 3×3 → 1×1, ×4 channels out), the stride on the first
// 1×1 convolution of each stage's first block, biases on every convolution, BatchNormalization
// with epsilon 1.001e-5, and Keras's layer names (conv1_conv, conv2_block1_1_conv, …, conv5_block3_out).
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, pool, type ApplicationOptions, applicationHead } from './keras-graph.ts';

const BN = { axis: 3, momentum: 0.99, epsilon: 1.001e-5, center: true, scale: true };

/**
 * ResNet50 (weights not allocated: initWeights() or a loader). Inputs from 32×32 up; at 224×224
 * the last block, conv5_block3_out, is 7×7×2048 (the usual CAM layer).
 * @example
 *   const m = resnet50();   // m.getLayer('conv5_block3_out')
 */
export function resnet50(o: ApplicationOptions = {}): Model {
  const { inputShape = [224, 224, 3] } = o;
  checkInput('resnet50', inputShape, 32);
  const g = new KerasGraph('resnet50');

  // One bottleneck block: shape (H, W, C) → (H/stride, W/stride, 4·filters).
  const block = (x: string, filters: number, stride: number, convShortcut: boolean, name: string): string => {
    let shortcut = x;
    if (convShortcut) {
      shortcut = g.add('Conv2D', conv(4 * filters, [1, 1], { strides: stride, padding: 'valid' }), x, `${name}_0_conv`);
      shortcut = g.add('BatchNormalization', BN, shortcut, `${name}_0_bn`);
    }
    let y = g.add('Conv2D', conv(filters, [1, 1], { strides: stride, padding: 'valid' }), x, `${name}_1_conv`);
    y = g.add('BatchNormalization', BN, y, `${name}_1_bn`);
    y = g.add('Activation', { activation: 'relu' }, y, `${name}_1_relu`);
    y = g.add('Conv2D', conv(filters, [3, 3], { padding: 'same' }), y, `${name}_2_conv`);
    y = g.add('BatchNormalization', BN, y, `${name}_2_bn`);
    y = g.add('Activation', { activation: 'relu' }, y, `${name}_2_relu`);
    y = g.add('Conv2D', conv(4 * filters, [1, 1], { padding: 'valid' }), y, `${name}_3_conv`);
    y = g.add('BatchNormalization', BN, y, `${name}_3_bn`);
    const sum = g.add('Add', {}, [shortcut, y], `${name}_add`);
    return g.add('Activation', { activation: 'relu' }, sum, `${name}_out`);
  };
  const stack = (x: string, filters: number, blocks: number, stride1: number, name: string): string => {
    x = block(x, filters, stride1, true, `${name}_block1`);
    for (let i = 2; i <= blocks; i++) x = block(x, filters, 1, false, `${name}_block${i}`);
    return x;
  };

  let x = g.input(inputShape);
  x = g.add('ZeroPadding2D', { padding: [[3, 3], [3, 3]], data_format: 'channels_last' }, x, 'conv1_pad');
  x = g.add('Conv2D', conv(64, [7, 7], { strides: 2, padding: 'valid' }), x, 'conv1_conv');
  x = g.add('BatchNormalization', BN, x, 'conv1_bn');
  x = g.add('Activation', { activation: 'relu' }, x, 'conv1_relu');
  x = g.add('ZeroPadding2D', { padding: [[1, 1], [1, 1]], data_format: 'channels_last' }, x, 'pool1_pad');
  x = g.add('MaxPooling2D', pool(3, 2), x, 'pool1_pool');
  x = stack(x, 64, 3, 1, 'conv2');
  x = stack(x, 128, 4, 2, 'conv3');
  x = stack(x, 256, 6, 2, 'conv4');
  x = stack(x, 512, 3, 2, 'conv5');
  x = applicationHead(g, x, o, { topPool: 'avg_pool', pooled: { avg: 'avg_pool', max: 'max_pool' } });
  return Model.fromKerasConfig(g.topology(x));
}
