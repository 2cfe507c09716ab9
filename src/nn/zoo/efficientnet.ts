// EfficientNet-B0…B7 (Tan & Le 2019, "EfficientNet: Rethinking Model Scaling for Convolutional
// Neural Networks", Table 1 for B0, §3.3 compound scaling) as keras.applications builds them
// (keras-team/keras keras/src/applications/efficientnet.py): the stem rescales pixels itself
// (Rescaling 1/255 → Normalization with ImageNet's mean/variance as weights → for
// weights='imagenet' a per-channel Rescaling by 1/√stddev, see below), MBConv blocks with
// squeeze-excite (Hu et al. 2018) and drop-connect Dropout(noise_shape=[null,1,1,1]), swish,
// BatchNormalization epsilon 1e-3 momentum 0.99, convolutions without bias except the SE pair,
// `correct_pad` before every stride-2 convolution, and Keras's layer names (stem_conv,
// block1a_dwconv, block2b_se_excite, …, top_activation, predictions).
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, type ApplicationOptions, applicationHead } from './keras-graph.ts';

const BN = { axis: 3, momentum: 0.99, epsilon: 1e-3, center: true, scale: true };

/** One row of efficientnet.py's DEFAULT_BLOCKS_ARGS: a stage of MBConv blocks at width/depth 1. */
export interface BlockArgs {
  kernelSize: number;
  repeats: number;
  filtersIn: number;
  filtersOut: number;
  expandRatio: number;
  idSkip: boolean;
  strides: number;
  seRatio: number;
}

const row = (kernelSize: number, repeats: number, filtersIn: number, filtersOut: number, expandRatio: number, strides: number): BlockArgs =>
  ({ kernelSize, repeats, filtersIn, filtersOut, expandRatio, idSkip: true, strides, seRatio: 0.25 });

/** B0's seven stages (the paper's Table 1, rows 2–8; efficientnet.py DEFAULT_BLOCKS_ARGS). */
export const DEFAULT_BLOCKS_ARGS: readonly BlockArgs[] = [
  row(3, 1, 32, 16, 1, 1), row(3, 2, 16, 24, 6, 2), row(5, 2, 24, 40, 6, 2), row(3, 3, 40, 80, 6, 2),
  row(5, 3, 80, 112, 6, 1), row(5, 4, 112, 192, 6, 2), row(3, 1, 192, 320, 6, 1),
];

/** ImageNet's per-channel (RGB) standard deviations, efficientnet.py IMAGENET_STDDEV_RGB. */
const IMAGENET_STDDEV_RGB = [0.229, 0.224, 0.225];

export interface EfficientNetOptions extends ApplicationOptions {
  /**
   * Add Keras's third stem layer, `rescaling_1` = Rescaling(1/√stddev per channel), as Keras does
   * for weights='imagenet' (default true, since camlight's named weights are those). The ImageNet
   * file's Normalization variance holds stddev, not stddev², so (x − mean)/√variance divides by
   * √stddev only; this layer divides by √stddev again to reach the original (x − mean)/stddev
   * (efficientnet.py's comment, tensorflow/tensorflow#49930). False: Keras's weights=None model.
   */
  imagenetRescaling?: boolean;
}

/** The scaling of one member of the family (efficientnet.py's EfficientNet(...) arguments). */
export interface EfficientNetScaling {
  widthCoefficient: number;
  depthCoefficient: number;
  defaultSize: number;
  dropoutRate: number;
  modelName: string;
  dropConnectRate?: number;
  depthDivisor?: number;
  blocksArgs?: readonly BlockArgs[];
}

/**
 * Channels scaled by width and rounded to the divisor, never more than 10 % down (round_filters).
 * @example
 *   roundFilters(32, 1.1); // 32·1.1 = 35.2 → 32 (B2's stem)
 */
export function roundFilters(filters: number, width: number, divisor = 8): number {
  const f = filters * width;
  let n = Math.max(divisor, Math.floor(Math.trunc(f + divisor / 2) / divisor) * divisor);
  if (n < 0.9 * f) n += divisor;
  return n;
}

/**
 * Block repeats scaled by depth, rounded up (round_repeats).
 * @example
 *   roundRepeats(3, 1.1); // 4 (B1's stage 4)
 */
export const roundRepeats = (repeats: number, depth: number): number => Math.ceil(depth * repeats);

/** imagenet_utils.correct_pad for a known size: ((k//2 − 1 + h%2, k//2), (k//2 − 1 + w%2, k//2)). */
const correctPad = (h: number, w: number, k: number): [[number, number], [number, number]] => {
  const c = Math.floor(k / 2);
  return [[c - (1 - (h % 2)), c], [c - (1 - (w % 2)), c]];
};

/**
 * Any EfficientNet of the family (weights not allocated). Inputs from 32×32 up (Keras's min_size).
 * @example
 *   const m = efficientnet({ widthCoefficient: 1.0, depthCoefficient: 1.1, defaultSize: 240, dropoutRate: 0.2, modelName: 'efficientnetb1' });
 */
export function efficientnet(sc: EfficientNetScaling, o: EfficientNetOptions = {}): Model {
  const { widthCoefficient: width, depthCoefficient: depth, depthDivisor = 8, dropConnectRate = 0.2, blocksArgs = DEFAULT_BLOCKS_ARGS } = sc;
  const {
    inputShape = [sc.defaultSize, sc.defaultSize, 3],
    imagenetRescaling = true,
  } = o;
  checkInput(sc.modelName, inputShape, 32);
  const g = new KerasGraph(sc.modelName);
  const filters = (f: number) => roundFilters(f, width, depthDivisor);
  const act = { activation: 'swish' };
  let [h, w] = inputShape;
  // Output size of a k×k stride-2 'valid' convolution after correct_pad.
  const down = (k: number, x: string, name: string): string => {
    const pads = correctPad(h, w, k);
    x = g.add('ZeroPadding2D', { padding: pads, data_format: 'channels_last' }, x, name);
    h = Math.floor((h + pads[0][0] + pads[0][1] - k) / 2) + 1;
    w = Math.floor((w + pads[1][0] + pads[1][1] - k) / 2) + 1;
    return x;
  };

  // One MBConv block (efficientnet.py `block`): (h, w, filtersIn) → (h/strides, w/strides, filtersOut).
  const block = (input: string, a: BlockArgs, dropRate: number, name: string): string => {
    const expanded = a.filtersIn * a.expandRatio;
    let x = input;
    if (a.expandRatio !== 1) {
      x = g.add('Conv2D', conv(expanded, [1, 1], { padding: 'same', useBias: false }), x, `${name}expand_conv`);
      x = g.add('BatchNormalization', BN, x, `${name}expand_bn`);
      x = g.add('Activation', act, x, `${name}expand_activation`);
    }
    let pad: 'same' | 'valid' = 'same';
    if (a.strides === 2) {
      x = down(a.kernelSize, x, `${name}dwconv_pad`);
      pad = 'valid';
    }
    x = g.add('DepthwiseConv2D', {
      kernel_size: [a.kernelSize, a.kernelSize], strides: [a.strides, a.strides], padding: pad, depth_multiplier: 1,
      data_format: 'channels_last', dilation_rate: [1, 1], activation: 'linear', use_bias: false,
    }, x, `${name}dwconv`);
    x = g.add('BatchNormalization', BN, x, `${name}bn`);
    x = g.add('Activation', act, x, `${name}activation`);
    if (a.seRatio > 0 && a.seRatio <= 1) {
      // Squeeze-excite: (h, w, C) → GAP (C) → (1, 1, C) → 1×1 swish (filtersIn·seRatio) → 1×1 sigmoid (C) → ⊙.
      const se = Math.max(1, Math.trunc(a.filtersIn * a.seRatio));
      let s = g.add('GlobalAveragePooling2D', { data_format: 'channels_last', keepdims: false }, x, `${name}se_squeeze`);
      s = g.add('Reshape', { target_shape: [1, 1, expanded] }, s, `${name}se_reshape`);
      s = g.add('Conv2D', conv(se, [1, 1], { padding: 'same', activation: 'swish' }), s, `${name}se_reduce`);
      s = g.add('Conv2D', conv(expanded, [1, 1], { padding: 'same', activation: 'sigmoid' }), s, `${name}se_expand`);
      x = g.add('Multiply', {}, [x, s], `${name}se_excite`);
    }
    x = g.add('Conv2D', conv(a.filtersOut, [1, 1], { padding: 'same', useBias: false }), x, `${name}project_conv`);
    x = g.add('BatchNormalization', BN, x, `${name}project_bn`);
    if (a.idSkip && a.strides === 1 && a.filtersIn === a.filtersOut) {
      // Drop-connect: the whole residual branch of an image is dropped in training.
      if (dropRate > 0) x = g.add('Dropout', { rate: dropRate, noise_shape: [null, 1, 1, 1], seed: null }, x, `${name}drop`);
      x = g.add('Add', {}, [x, input], `${name}add`);
    }
    return x;
  };

  let x = g.input(inputShape);
  // Stem: pixels 0–255 → /255 → (x − mean)/√variance → /√stddev (ImageNet weights only).
  x = g.add('Rescaling', { scale: 1 / 255, offset: 0 }, x);
  x = g.add('Normalization', { axis: [3], mean: null, variance: null, invert: false }, x);
  if (imagenetRescaling) x = g.add('Rescaling', { scale: IMAGENET_STDDEV_RGB.map((s) => 1 / Math.sqrt(s)), offset: 0 }, x);
  x = down(3, x, 'stem_conv_pad');
  x = g.add('Conv2D', conv(filters(32), [3, 3], { strides: 2, padding: 'valid', useBias: false }), x, 'stem_conv');
  x = g.add('BatchNormalization', BN, x, 'stem_bn');
  x = g.add('Activation', act, x, 'stem_activation');

  // Blocks: block b of all (0-based) drops with rate dropConnectRate·b/blocks.
  const blocks = blocksArgs.reduce((n, a) => n + roundRepeats(a.repeats, depth), 0);
  let b = 0;
  blocksArgs.forEach((args, i) => {
    const a = { ...args, filtersIn: filters(args.filtersIn), filtersOut: filters(args.filtersOut) };
    for (let j = 0; j < roundRepeats(args.repeats, depth); j++) {
      if (j > 0) Object.assign(a, { strides: 1, filtersIn: a.filtersOut });
      x = block(x, a, (dropConnectRate * b) / blocks, `block${i + 1}${String.fromCharCode(97 + j)}_`);
      b++;
    }
  });

  x = g.add('Conv2D', conv(filters(1280), [1, 1], { padding: 'same', useBias: false }), x, 'top_conv');
  x = g.add('BatchNormalization', BN, x, 'top_bn');
  x = g.add('Activation', act, x, 'top_activation');
  x = applicationHead(g, x, o, { topPool: 'avg_pool', pooled: { avg: 'avg_pool', max: 'max_pool' }, dropout: sc.dropoutRate });
  return Model.fromKerasConfig(g.topology(x));
}

/** The family as efficientnet.py's EfficientNetB0…B7 call EfficientNet(width, depth, size, dropout). */
export const EFFICIENTNET_SCALING = {
  b0: { widthCoefficient: 1.0, depthCoefficient: 1.0, defaultSize: 224, dropoutRate: 0.2, modelName: 'efficientnetb0' },
  b1: { widthCoefficient: 1.0, depthCoefficient: 1.1, defaultSize: 240, dropoutRate: 0.2, modelName: 'efficientnetb1' },
  b2: { widthCoefficient: 1.1, depthCoefficient: 1.2, defaultSize: 260, dropoutRate: 0.3, modelName: 'efficientnetb2' },
  b3: { widthCoefficient: 1.2, depthCoefficient: 1.4, defaultSize: 300, dropoutRate: 0.3, modelName: 'efficientnetb3' },
  b4: { widthCoefficient: 1.4, depthCoefficient: 1.8, defaultSize: 380, dropoutRate: 0.4, modelName: 'efficientnetb4' },
  b5: { widthCoefficient: 1.6, depthCoefficient: 2.2, defaultSize: 456, dropoutRate: 0.4, modelName: 'efficientnetb5' },
  b6: { widthCoefficient: 1.8, depthCoefficient: 2.6, defaultSize: 528, dropoutRate: 0.5, modelName: 'efficientnetb6' },
  b7: { widthCoefficient: 2.0, depthCoefficient: 3.1, defaultSize: 600, dropoutRate: 0.5, modelName: 'efficientnetb7' },
} as const satisfies Record<string, EfficientNetScaling>;

/**
 * EfficientNetB0 (224×224; weights not allocated: initWeights() or a loader). Takes pixels 0–255
 * (the model rescales them itself); at 224×224 top_activation, the usual CAM layer, is 7×7×1280.
 * @example
 *   const m = efficientnetB0();   // m.getLayer('top_activation')
 */
export const efficientnetB0 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b0, o);
export const efficientnetB1 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b1, o);
export const efficientnetB2 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b2, o);
export const efficientnetB3 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b3, o);
export const efficientnetB4 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b4, o);
export const efficientnetB5 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b5, o);
export const efficientnetB6 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b6, o);
export const efficientnetB7 = (o: EfficientNetOptions = {}): Model => efficientnet(EFFICIENTNET_SCALING.b7, o);
