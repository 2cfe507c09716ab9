// DenseNet-121/169/201 (Huang et al. 2017, "Densely Connected Convolutional Networks", Table 1,
// growth rate k = 32, compression θ = 0.5) as keras.applications builds them: densenet.py in
// tf.keras / Keras 2 (keras-team/keras keras/applications/densenet.py, keras-applications 1.0.8),
// whose layer names hold a '/' ('conv1/conv', 'conv1/bn', 'conv1/relu'), as the weights files do
// (their datasets sit at '/conv1/conv/conv1/conv/kernel:0'). Keras 3 (keras/src/applications/
// densenet.py) renamed those three to 'conv1_conv', 'conv1_bn', 'conv1_relu' because Keras 3
// forbids '/' in names; everything else (names, shapes, file URLs and hashes) is the same there.
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, pool, type ApplicationOptions, applicationHead } from './keras-graph.ts';

// densenet.py: BatchNormalization(axis=3, epsilon=1.001e-5); momentum and center/scale are Keras's defaults.
const BN = { axis: 3, momentum: 0.99, epsilon: 1.001e-5, center: true, scale: true };
const GROWTH = 32;

/** The block counts of the four dense blocks (densenet.py's `blocks`), and the model name Keras gives. */
export const DENSENET_BLOCKS = {
  densenet121: [6, 12, 24, 16],
  densenet169: [6, 12, 32, 32],
  densenet201: [6, 12, 48, 32],
} as const satisfies Record<string, readonly [number, number, number, number]>;

/**
 * A DenseNet with `blocks` conv blocks in its four dense blocks (weights not allocated). Keras
 * names the model densenet121/169/201 for the three published block counts, else 'densenet'.
 * Inputs from 32×32 up; at 224×224 the last feature map, 'relu', is 7×7×1024 (121), 7×7×1664
 * (169) or 7×7×1920 (201).
 * @example
 *   const m = denseNet([6, 12, 24, 16]);   // = densenet121(); m.getLayer('conv1/conv')
 */
export function denseNet(blocks: readonly [number, number, number, number], o: ApplicationOptions = {}): Model {
  const { inputShape = [224, 224, 3] } = o;
  const known = Object.entries(DENSENET_BLOCKS).find(([, b]) => b.every((n, i) => n === blocks[i]));
  const name = known ? known[0] : 'densenet';
  checkInput(name, inputShape, 32);
  if (!blocks.every((n) => Number.isInteger(n) && n > 0)) throw new RangeError(`${name}: blocks must be four positive integers, got [${blocks.join(', ')}]`);
  const g = new KerasGraph(name);
  const channels = new Map<string, number>();

  // One conv block (the paper's BN-ReLU-Conv(1×1)-BN-ReLU-Conv(3×3) "DenseNet-B" layer):
  // (H, W, C) → (H, W, C + 32); the new 32 channels are concatenated after the old ones.
  const convBlock = (x: string, name: string): string => {
    let y = g.add('BatchNormalization', BN, x, `${name}_0_bn`);
    y = g.add('Activation', { activation: 'relu' }, y, `${name}_0_relu`);
    y = g.add('Conv2D', conv(4 * GROWTH, [1, 1], { padding: 'valid', useBias: false }), y, `${name}_1_conv`);
    y = g.add('BatchNormalization', BN, y, `${name}_1_bn`);
    y = g.add('Activation', { activation: 'relu' }, y, `${name}_1_relu`);
    y = g.add('Conv2D', conv(GROWTH, [3, 3], { padding: 'same', useBias: false }), y, `${name}_2_conv`);
    const out = g.add('Concatenate', { axis: 3 }, [x, y], `${name}_concat`);
    channels.set(out, channels.get(x)! + GROWTH);
    return out;
  };
  const denseBlock = (x: string, n: number, name: string): string => {
    for (let i = 1; i <= n; i++) x = convBlock(x, `${name}_block${i}`);
    return x;
  };
  // Transition: (H, W, C) → (H/2, W/2, ⌊C·0.5⌋) by a 1×1 convolution and a 2×2 average pool.
  const transition = (x: string, name: string): string => {
    const c = Math.floor(channels.get(x)! * 0.5);
    let y = g.add('BatchNormalization', BN, x, `${name}_bn`);
    y = g.add('Activation', { activation: 'relu' }, y, `${name}_relu`);
    y = g.add('Conv2D', conv(c, [1, 1], { padding: 'valid', useBias: false }), y, `${name}_conv`);
    y = g.add('AveragePooling2D', pool(2, 2), y, `${name}_pool`);
    channels.set(y, c);
    return y;
  };

  let x = g.input(inputShape);
  // The two ZeroPadding2D layers have no name in densenet.py: Keras calls them zero_padding2d, zero_padding2d_1.
  x = g.add('ZeroPadding2D', { padding: [[3, 3], [3, 3]], data_format: 'channels_last' }, x);
  x = g.add('Conv2D', conv(64, [7, 7], { strides: 2, padding: 'valid', useBias: false }), x, 'conv1/conv');
  x = g.add('BatchNormalization', BN, x, 'conv1/bn');
  x = g.add('Activation', { activation: 'relu' }, x, 'conv1/relu');
  x = g.add('ZeroPadding2D', { padding: [[1, 1], [1, 1]], data_format: 'channels_last' }, x);
  x = g.add('MaxPooling2D', pool(3, 2), x, 'pool1');
  channels.set(x, 64);
  x = denseBlock(x, blocks[0], 'conv2');
  x = transition(x, 'pool2');
  x = denseBlock(x, blocks[1], 'conv3');
  x = transition(x, 'pool3');
  x = denseBlock(x, blocks[2], 'conv4');
  x = transition(x, 'pool4');
  x = denseBlock(x, blocks[3], 'conv5');
  x = g.add('BatchNormalization', BN, x, 'bn');
  x = g.add('Activation', { activation: 'relu' }, x, 'relu');
  x = applicationHead(g, x, o, { topPool: 'avg_pool', pooled: { avg: 'avg_pool', max: 'max_pool' } });
  return Model.fromKerasConfig(g.topology(x));
}

/**
 * DenseNet121 (weights not allocated: initWeights() or a loader).
 * @example
 *   const m = densenet121();   // m.getLayer('relu'): 7×7×1024 at 224×224, the usual CAM layer
 */
export const densenet121 = (o: ApplicationOptions = {}): Model => denseNet(DENSENET_BLOCKS.densenet121, o);
/** DenseNet169 (weights not allocated). @example const m = densenet169(); */
export const densenet169 = (o: ApplicationOptions = {}): Model => denseNet(DENSENET_BLOCKS.densenet169, o);
/** DenseNet201 (weights not allocated). @example const m = densenet201(); */
export const densenet201 = (o: ApplicationOptions = {}): Model => denseNet(DENSENET_BLOCKS.densenet201, o);
