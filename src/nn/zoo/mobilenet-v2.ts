// MobileNetV2 (Sandler et al. 2018, "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
// Table 2) as keras.applications.MobileNetV2 builds it (keras-team/keras,
// keras/src/applications/mobilenet_v2.py): Conv1 (3×3, stride 2, 'same', no bias) → bn_Conv1 →
// Conv1_relu (ReLU 6), 17 inverted residual blocks (expanded_conv_*, then block_1_* …
// block_16_*: 1×1 expand → ReLU6 → 3×3 depthwise → ReLU6 → 1×1 linear projection, with an Add
// when the block keeps its shape), a ZeroPadding2D `block_N_pad` (Keras's `correct_pad`) before
// each stride-2 depthwise convolution, which is then 'valid'; Conv_1 (1×1 → 1280) → Conv_1_bn →
// out_relu; head global_average_pooling2d → predictions. No convolution has a bias; every
// BatchNormalization has epsilon 1e-3 and momentum 0.999. Channel counts go through Keras's
// `_make_divisible(v, 8)` (the nearest multiple of 8, never more than 10 % below v).
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, type ApplicationOptions, applicationHead } from './keras-graph.ts';

const BN = { axis: 3, momentum: 0.999, epsilon: 1e-3, center: true, scale: true };
const RELU6 = { max_value: 6, negative_slope: 0, threshold: 0 };

/** Keras's `_make_divisible(v, divisor)`: v rounded to the nearest multiple of `divisor` (half up), at least `divisor`, and bumped one step if rounding lost more than 10 %. */
function makeDivisible(v: number, divisor = 8): number {
  let n = Math.max(divisor, Math.floor((v + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * v) n += divisor;
  return n;
}

/**
 * Keras's `correct_pad(inputs, 3)` for one spatial size: the ZeroPadding2D that makes a 3×3,
 * stride-2 'valid' convolution match TensorFlow's 'same' one: (0, 1) for an even size, (1, 1) for an odd one.
 */
const correctPad = (size: number): [number, number] => [size % 2 ? 1 : 0, 1];

/** Options: those of every keras.applications classifier plus the width multiplier α. */
export interface MobileNetV2Options extends ApplicationOptions {
  /**
   * Width multiplier α (default 1.0): scales every block's channels (`_make_divisible(·α, 8)`).
   * Keras publishes ImageNet weights for 0.35, 0.5, 0.75, 1.0, 1.3 and 1.4; camlight names 1.0.
   */
  alpha?: number;
}

/**
 * MobileNetV2 (weights not allocated: initWeights() or a loader), named `mobilenetv2_1.00_224`
 * as Keras names it (α with two decimals, then the input rows). Inputs from 32×32 up; at
 * 224×224 the last feature map, out_relu, is 7×7×1280 (the usual CAM layer).
 * @example
 *   const m = mobilenetV2();   // m.getLayer('out_relu')
 */
export function mobilenetV2(o: MobileNetV2Options = {}): Model {
  const { inputShape = [224, 224, 3], alpha = 1.0 } = o;
  checkInput('mobilenet_v2', inputShape, 32);
  if (!(alpha > 0 && Number.isFinite(alpha))) throw new RangeError(`mobilenet_v2: alpha must be a positive number, got ${alpha}`);
  const g = new KerasGraph(`mobilenetv2_${alpha.toFixed(2)}_${inputShape[0]}`);
  // Spatial size tracked alongside the graph: correct_pad depends on it.
  let [h, w] = inputShape;
  let channels = makeDivisible(32 * alpha);

  // One inverted residual block: (h, w, channels) → (h/stride, w/stride, makeDivisible(filters·α)).
  const block = (input: string, filters: number, stride: 1 | 2, expansion: number, id: number): string => {
    const out = makeDivisible(Math.trunc(filters * alpha));
    const prefix = id ? `block_${id}_` : 'expanded_conv_';
    let x = input;
    if (id) {
      x = g.add('Conv2D', conv(expansion * channels, [1, 1], { padding: 'same', useBias: false }), x, `${prefix}expand`);
      x = g.add('BatchNormalization', BN, x, `${prefix}expand_BN`);
      x = g.add('ReLU', RELU6, x, `${prefix}expand_relu`);
    }
    if (stride === 2) {
      x = g.add('ZeroPadding2D', { padding: [correctPad(h), correctPad(w)], data_format: 'channels_last' }, x, `${prefix}pad`);
      // (h + pad − 3) / 2 + 1 with pad = 1 (even) or 2 (odd): ⌈h / 2⌉ either way, as 'same' would give.
      [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)];
    }
    x = g.add('DepthwiseConv2D', {
      kernel_size: [3, 3], strides: [stride, stride], padding: stride === 1 ? 'same' : 'valid', depth_multiplier: 1,
      data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: false,
    }, x, `${prefix}depthwise`);
    x = g.add('BatchNormalization', BN, x, `${prefix}depthwise_BN`);
    x = g.add('ReLU', RELU6, x, `${prefix}depthwise_relu`);
    x = g.add('Conv2D', conv(out, [1, 1], { padding: 'same', useBias: false }), x, `${prefix}project`);
    x = g.add('BatchNormalization', BN, x, `${prefix}project_BN`);
    const residual = channels === out && stride === 1;
    channels = out;
    return residual ? g.add('Add', {}, [input, x], `${prefix}add`) : x;
  };

  let x = g.input(inputShape);
  x = g.add('Conv2D', conv(channels, [3, 3], { strides: 2, padding: 'same', useBias: false }), x, 'Conv1');
  [h, w] = [Math.ceil(h / 2), Math.ceil(w / 2)];
  x = g.add('BatchNormalization', BN, x, 'bn_Conv1');
  x = g.add('ReLU', RELU6, x, 'Conv1_relu');
  // Sandler et al. 2018, Table 2: (expansion t, channels c, repeats n, first stride s) per row.
  const rows: [number, number, number, 1 | 2][] = [
    [1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1],
  ];
  let id = 0;
  for (const [t, c, n, s] of rows) {
    for (let i = 0; i < n; i++) x = block(x, c, i === 0 ? s : 1, t, id++);
  }
  // The last 1×1 convolution widens with α > 1 only (the paper's note, kept by Keras).
  const last = alpha > 1 ? makeDivisible(1280 * alpha) : 1280;
  x = g.add('Conv2D', conv(last, [1, 1], { padding: 'valid', useBias: false }), x, 'Conv_1');
  x = g.add('BatchNormalization', BN, x, 'Conv_1_bn');
  x = g.add('ReLU', RELU6, x, 'out_relu');
  x = applicationHead(g, x, o);
  return Model.fromKerasConfig(g.topology(x));
}
