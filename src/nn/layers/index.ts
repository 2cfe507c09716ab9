// The Keras-compatible layers, their registry and config helpers.
export { Layer, StoredLayer, type Shape, type LayerConfig, type WeightSpec, type CallContext } from './layer.ts';
export { Conv2D, DepthwiseConv2D, SeparableConv2D } from './conv.ts';
export { Dense, weightSplitting, weightByteLimit } from './dense.ts';
export { BatchNormalization, Normalization } from './normalization.ts';
export { MaxPooling2D, AveragePooling2D, GlobalAveragePooling2D, GlobalMaxPooling2D } from './pooling.ts';
export { InputLayer, Activation, ReLU, Softmax, Flatten, Reshape, Rescaling, ZeroPadding2D, Dropout } from './core.ts';
export { Concatenate, Add, Multiply } from './merge.ts';
export { createLayer, LAYER_CLASSES, UnsupportedLayerError } from './registry.ts';
export { LayerConfigError, type LayerActivation } from './config.ts';
