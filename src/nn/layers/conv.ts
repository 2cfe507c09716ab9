// Keras's convolution layers (Conv2D, DepthwiseConv2D, SeparableConv2D) on camlight's conv
// kernels, with bias and activation fused into the kernel epilogue where the activation allows.
import { conv2d as conv2dOp, depthwiseConv2d as depthwiseOp } from '../ops.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import {
  activation, applyActivation, bool, channels, checkChannelsLast, convDim, fusable, int, LayerConfigError, layerWhere,
  oneInput, pair, padding, type LayerActivation,
} from './config.ts';
import type { Conv2dOptions } from '../../kernels/conv2d.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

/** The spatial settings every conv layer shares. */
abstract class ConvBase extends StoredLayer {
  readonly kernelSize: [number, number];
  readonly strides: [number, number];
  readonly dilations: [number, number];
  readonly padding: 'same' | 'valid';
  readonly activation: LayerActivation;
  readonly useBias: boolean;

  constructor(config: LayerConfig, cls: string) {
    super(config);
    checkChannelsLast(config, cls);
    this.kernelSize = pair(config, cls, 'kernel_size');
    this.strides = pair(config, cls, 'strides', [1, 1]);
    this.dilations = pair(config, cls, 'dilation_rate', [1, 1]);
    this.padding = padding(config, cls);
    this.activation = activation(config, cls);
    this.useBias = bool(config, 'use_bias', true);
    if ((this.strides[0] > 1 || this.strides[1] > 1) && (this.dilations[0] > 1 || this.dilations[1] > 1)) {
      throw new LayerConfigError(`${layerWhere(config, cls)}: strides > 1 together with dilation_rate > 1 is not allowed (as in Keras)`);
    }
  }

  protected spatial(s: Shape, outChannels: number): Shape {
    const what = `layer '${this.name}' (${this.className}, kernel ${this.kernelSize.join('×')})`;
    const [kh, kw] = this.kernelSize;
    return [
      s[0] ?? null,
      convDim(s[1] ?? null, kh, this.strides[0], this.dilations[0], this.padding, what),
      convDim(s[2] ?? null, kw, this.strides[1], this.dilations[1], this.padding, what),
      outChannels,
    ];
  }

  protected opts(bias: Tensor | undefined, act: LayerActivation): Conv2dOptions {
    return {
      bias, strides: this.strides, dilations: this.dilations, padding: this.padding,
      activation: fusable(act) ? act : 'linear',
    };
  }
}

/** Keras Conv2D: x:(N,H,W,C) kernel:(KH,KW,C/groups,filters) bias:(filters) → (N,OH,OW,filters). */
export class Conv2D extends ConvBase {
  readonly className = 'Conv2D';
  readonly filters: number;
  readonly groups: number;

  constructor(config: LayerConfig) {
    super(config, 'Conv2D');
    this.filters = int(config, 'Conv2D', 'filters');
    this.groups = int(config, 'Conv2D', 'groups', 1);
    if (this.filters % this.groups) throw new LayerConfigError(`${layerWhere(config, 'Conv2D')}: filters (${this.filters}) must be divisible by groups (${this.groups})`);
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const c = channels(oneInput(shapes, this.config, this.className, 4), this.config, this.className);
    if (c % this.groups) throw new LayerConfigError(`${layerWhere(this.config, this.className)}: input channels (${c}) must be divisible by groups (${this.groups})`);
    const specs: WeightSpec[] = [{ name: 'kernel', shape: [...this.kernelSize, c / this.groups, this.filters], trainable: true }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.filters], trainable: true });
    return specs;
  }

  outputShape(shapes: Shape[]): Shape {
    return this.spatial(oneInput(shapes, this.config, this.className, 4), this.filters);
  }

  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return this.forward(x!, this.weight('kernel'), this.useBias ? this.weight('bias') : undefined, this.activation);
  }

  /** The convolution with given weights (the model passes batch-norm-folded ones) and activation. */
  forward(x: Tensor, kernel: Tensor, bias: Tensor | undefined, act: LayerActivation): Tensor {
    const o = this.opts(bias, act);
    const y = conv2dOp(x, kernel, this.groups > 1 ? { ...o, groups: this.groups } : o);
    return fusable(act) ? y : applyActivation(y, act);
  }
}

/** Keras DepthwiseConv2D: x:(N,H,W,C) depthwise_kernel:(KH,KW,C,M) bias:(C·M) → (N,OH,OW,C·M). */
export class DepthwiseConv2D extends ConvBase {
  readonly className = 'DepthwiseConv2D';
  readonly depthMultiplier: number;

  constructor(config: LayerConfig) {
    super(config, 'DepthwiseConv2D');
    this.depthMultiplier = int(config, 'DepthwiseConv2D', 'depth_multiplier', 1);
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const c = channels(oneInput(shapes, this.config, this.className, 4), this.config, this.className);
    const specs: WeightSpec[] = [{ name: 'depthwise_kernel', shape: [...this.kernelSize, c, this.depthMultiplier], trainable: true }];
    if (this.useBias) specs.push({ name: 'bias', shape: [c * this.depthMultiplier], trainable: true });
    return specs;
  }

  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    return this.spatial(s, channels(s, this.config, this.className) * this.depthMultiplier);
  }

  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return this.forward(x!, this.weight('depthwise_kernel'), this.useBias ? this.weight('bias') : undefined, this.activation);
  }

  forward(x: Tensor, kernel: Tensor, bias: Tensor | undefined, act: LayerActivation): Tensor {
    const y = depthwiseOp(x, kernel, this.opts(bias, act));
    return fusable(act) ? y : applyActivation(y, act);
  }
}

/**
 * Keras SeparableConv2D: a depthwise conv (no bias) then a 1×1 conv with bias and activation.
 * x:(N,H,W,C) depthwise_kernel:(KH,KW,C,M) pointwise_kernel:(1,1,C·M,filters) → (N,OH,OW,filters)
 */
export class SeparableConv2D extends ConvBase {
  readonly className = 'SeparableConv2D';
  readonly filters: number;
  readonly depthMultiplier: number;

  constructor(config: LayerConfig) {
    super(config, 'SeparableConv2D');
    this.filters = int(config, 'SeparableConv2D', 'filters');
    this.depthMultiplier = int(config, 'SeparableConv2D', 'depth_multiplier', 1);
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const c = channels(oneInput(shapes, this.config, this.className, 4), this.config, this.className);
    const m = this.depthMultiplier;
    const specs: WeightSpec[] = [
      { name: 'depthwise_kernel', shape: [...this.kernelSize, c, m], trainable: true },
      { name: 'pointwise_kernel', shape: [1, 1, c * m, this.filters], trainable: true },
    ];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.filters], trainable: true });
    return specs;
  }

  outputShape(shapes: Shape[]): Shape {
    return this.spatial(oneInput(shapes, this.config, this.className, 4), this.filters);
  }

  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const d = depthwiseOp(x!, this.weight('depthwise_kernel'), { ...this.opts(undefined, 'linear'), bias: undefined });
    const bias = this.useBias ? this.weight('bias') : undefined;
    const y = conv2dOp(d, this.weight('pointwise_kernel'), { bias, activation: fusable(this.activation) ? this.activation : 'linear' });
    return fusable(this.activation) ? y : applyActivation(y, this.activation);
  }
}
