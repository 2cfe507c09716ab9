// Xception (Chollet 2017, "Xception: Deep Learning with Depthwise Separable Convolutions", Fig. 5:
// entry flow, 8 middle-flow blocks, exit flow) as keras.applications.Xception builds it
// (keras-team/keras, keras/src/applications/xception.py): SeparableConv2D without bias (depth
// multiplier 1) and Conv2D without bias, each followed by BatchNormalization with Keras's defaults
// (momentum 0.99, epsilon 1e-3); residual 1×1 stride-2 'same' Conv2D + BatchNormalization on the
// entry/exit blocks, MaxPooling2D 3×3 stride 2 'same'; names block1_conv1 … block14_sepconv2_act,
// avg_pool, predictions, and Keras's automatic names for the unnamed residual layers (conv2d …
// conv2d_3, batch_normalization …, add … add_11). Layers are written in the order Keras's
// model.layers lists them (by depth, so each residual Conv2D follows its block's second batch norm,
// as model.summary() prints it), which is the order the ImageNet file is loaded by.
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, pool, type ApplicationOptions, applicationHead } from './keras-graph.ts';

const BN = { axis: 3, momentum: 0.99, epsilon: 1e-3, center: true, scale: true };

/** SeparableConv2D config fields (channels_last, 'same', no bias), as xception.py sets them. */
function sep(filters: number): Record<string, unknown> {
  return {
    filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', data_format: 'channels_last',
    dilation_rate: [1, 1], depth_multiplier: 1, activation: 'linear', use_bias: false,
  };
}

/**
 * Xception (weights not allocated: initWeights() or a loader). Inputs from 71×71 up (Keras's
 * `min_size`); at 299×299 the last feature map, block14_sepconv2_act, is 10×10×2048 (the CAM layer
 * of Keras's Grad-CAM example).
 * @example
 *   const m = xception();   // m.getLayer('block14_sepconv2_act')
 */
export function xception(o: ApplicationOptions = {}): Model {
  const { inputShape = [299, 299, 3] } = o;
  checkInput('xception', inputShape, 71);
  const g = new KerasGraph('xception');
  const relu = (x: string, name: string) => g.add('Activation', { activation: 'relu' }, x, name);
  // SeparableConv2D → BatchNormalization named `${name}`, `${name}_bn`: (H, W, C) → (H, W, filters).
  const sepBn = (x: string, filters: number, name: string) => g.add('BatchNormalization', BN, g.add('SeparableConv2D', sep(filters), x, name), `${name}_bn`);

  // Entry and exit blocks with a projection shortcut: (H, W, C) → (⌈H/2⌉, ⌈W/2⌉, f2). `act1` is
  // false for block 2, which starts from block1_conv2_act's output without another ReLU.
  const downBlock = (x: string, b: number, f1: number, f2: number, act1: boolean): string => {
    let y = act1 ? relu(x, `block${b}_sepconv1_act`) : x;
    y = sepBn(y, f1, `block${b}_sepconv1`);
    y = relu(y, `block${b}_sepconv2_act`);
    y = sepBn(y, f2, `block${b}_sepconv2`);
    // Keras lists the shortcut's unnamed Conv2D after the second batch norm, its batch norm after the pool.
    const r = g.add('Conv2D', conv(f2, [1, 1], { strides: 2, padding: 'same', useBias: false }), x);
    y = g.add('MaxPooling2D', pool(3, 2, 'same'), y, `block${b}_pool`);
    const rb = g.add('BatchNormalization', BN, r);
    return g.add('Add', {}, [y, rb]);
  };

  let x = g.input(inputShape);
  // Entry flow. block1: (299, 299, 3) → (149, 149, 32) → (147, 147, 64), both 'valid'.
  x = g.add('Conv2D', conv(32, [3, 3], { strides: 2, padding: 'valid', useBias: false }), x, 'block1_conv1');
  x = relu(g.add('BatchNormalization', BN, x, 'block1_conv1_bn'), 'block1_conv1_act');
  x = g.add('Conv2D', conv(64, [3, 3], { padding: 'valid', useBias: false }), x, 'block1_conv2');
  x = relu(g.add('BatchNormalization', BN, x, 'block1_conv2_bn'), 'block1_conv2_act');
  x = downBlock(x, 2, 128, 128, false); // (74, 74, 128)
  x = downBlock(x, 3, 256, 256, true); //  (37, 37, 256)
  x = downBlock(x, 4, 728, 728, true); //  (19, 19, 728)
  // Middle flow: blocks 5–12, three ReLU → SeparableConv2D → BN with an identity shortcut, (19, 19, 728).
  for (let b = 5; b <= 12; b++) {
    let y = x;
    for (let k = 1; k <= 3; k++) y = sepBn(relu(y, `block${b}_sepconv${k}_act`), 728, `block${b}_sepconv${k}`);
    x = g.add('Add', {}, [y, x]);
  }
  // Exit flow: block13 → (10, 10, 1024); block14 → (10, 10, 1536) → (10, 10, 2048), ReLU after each.
  x = downBlock(x, 13, 728, 1024, true);
  x = relu(sepBn(x, 1536, 'block14_sepconv1'), 'block14_sepconv1_act');
  x = relu(sepBn(x, 2048, 'block14_sepconv2'), 'block14_sepconv2_act');
  x = applicationHead(g, x, o, { topPool: 'avg_pool' });
  return Model.fromKerasConfig(g.topology(x));
}
