// Keras's pooling layers: windowed max/average pooling and the global poolings that end most
// classifier backbones (Inception's avg_pool, VGG's pooling='avg'|'max' head).
import * as ops from '../ops.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { bool, channels, checkChannelsLast, convDim, oneInput, pair, padding } from './config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

abstract class Pool2D extends StoredLayer {
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly padding: 'same' | 'valid';

  constructor(config: LayerConfig, cls: string) {
    super(config);
    checkChannelsLast(config, cls);
    this.poolSize = pair(config, cls, 'pool_size', [2, 2]);
    this.strides = pair(config, cls, 'strides', this.poolSize);
    this.padding = padding(config, cls);
  }

  weightSpecs(): WeightSpec[] {
    return [];
  }

  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    const what = `layer '${this.name}' (${this.className}, pool ${this.poolSize.join('×')})`;
    return [
      s[0] ?? null,
      convDim(s[1] ?? null, this.poolSize[0], this.strides[0], 1, this.padding, what),
      convDim(s[2] ?? null, this.poolSize[1], this.strides[1], 1, this.padding, what),
      s[3] ?? null,
    ];
  }

  protected get opts() {
    return { window: this.poolSize, strides: this.strides, padding: this.padding };
  }
}

/** Keras MaxPooling2D: x:(N,H,W,C) → (N,OH,OW,C). */
export class MaxPooling2D extends Pool2D {
  readonly className = 'MaxPooling2D';
  constructor(config: LayerConfig) {
    super(config, 'MaxPooling2D');
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.maxPool2d(x!, this.opts);
  }
}

/** Keras AveragePooling2D (padding excluded from each window's count): x:(N,H,W,C) → (N,OH,OW,C). */
export class AveragePooling2D extends Pool2D {
  readonly className = 'AveragePooling2D';
  constructor(config: LayerConfig) {
    super(config, 'AveragePooling2D');
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.avgPool2d(x!, this.opts);
  }
}

abstract class GlobalPool2D extends StoredLayer {
  readonly keepDims: boolean;
  constructor(config: LayerConfig, cls: string) {
    super(config);
    checkChannelsLast(config, cls);
    this.keepDims = bool(config, 'keepdims', false);
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    const c = channels(s, this.config, this.className);
    return this.keepDims ? [s[0] ?? null, 1, 1, c] : [s[0] ?? null, c];
  }
  protected finish(y: Tensor): Tensor {
    return this.keepDims ? ops.reshape(y, [y.shape[0]!, 1, 1, y.shape[1]!]) : y;
  }
}

/** Keras GlobalAveragePooling2D: x:(N,H,W,C) → (N,C) (or (N,1,1,C) with keepdims). */
export class GlobalAveragePooling2D extends GlobalPool2D {
  readonly className = 'GlobalAveragePooling2D';
  constructor(config: LayerConfig) {
    super(config, 'GlobalAveragePooling2D');
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return this.finish(ops.globalAvgPool(x!));
  }
}

/** Keras GlobalMaxPooling2D: x:(N,H,W,C) → (N,C) (or (N,1,1,C) with keepdims). */
export class GlobalMaxPooling2D extends GlobalPool2D {
  readonly className = 'GlobalMaxPooling2D';
  constructor(config: LayerConfig) {
    super(config, 'GlobalMaxPooling2D');
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return this.finish(ops.globalMaxPool(x!));
  }
}
