// Keras class name → camlight layer, so a model config can be turned into layers; a class that
// is not here is an error naming the layer, its class and what is supported.
import { Conv2D, DepthwiseConv2D, SeparableConv2D } from './conv.ts';
import { Activation, Dropout, Flatten, InputLayer, ReLU, Reshape, Rescaling, Softmax, ZeroPadding2D } from './core.ts';
import { Dense } from './dense.ts';
import type { StoredLayer, LayerConfig } from './layer.ts';
import { Add, Concatenate, Multiply } from './merge.ts';
import { BatchNormalization, Normalization } from './normalization.ts';
import { AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, MaxPooling2D } from './pooling.ts';
import { ONNX_LAYER_CLASSES } from '../onnx/layers.ts';

type LayerClass = new (config: LayerConfig) => StoredLayer;

export const LAYER_CLASSES: Record<string, LayerClass> = {
  InputLayer, Conv2D, DepthwiseConv2D, SeparableConv2D, Dense, BatchNormalization, Activation, ReLU, Softmax,
  MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D, Flatten, Dropout, Concatenate, Add,
  Multiply, ZeroPadding2D, Rescaling, Reshape, Normalization,
  ...ONNX_LAYER_CLASSES, // layers ONNX (PyTorch) models need: HardSwish, Broadcast, ChannelShuffle, …
};

/** Other names Keras (and older Keras) writes for the same classes. */
const ALIASES: Record<string, string> = {
  Convolution2D: 'Conv2D', SeparableConvolution2D: 'SeparableConv2D', MaxPool2D: 'MaxPooling2D', AvgPool2D: 'AveragePooling2D',
  GlobalAvgPool2D: 'GlobalAveragePooling2D', GlobalMaxPool2D: 'GlobalMaxPooling2D',
};

/** A layer class camlight does not implement. */
export class UnsupportedLayerError extends Error {
  constructor(readonly layerName: string, readonly className: string) {
    super(
      `layer '${layerName}' has class '${className}', which camlight does not support; ` +
        `supported: ${Object.keys(LAYER_CLASSES).join(', ')}`,
    );
    this.name = 'UnsupportedLayerError';
  }
}

/**
 * Creates a layer from its Keras class name and config.
 * @example
 *   const conv = createLayer('Conv2D', { name: 'c1', filters: 8, kernel_size: [3, 3], padding: 'same' });
 */
export function createLayer(className: string, config: LayerConfig): StoredLayer {
  const cls = LAYER_CLASSES[ALIASES[className] ?? className];
  if (!cls) throw new UnsupportedLayerError(config.name, className);
  return new cls(config);
}
