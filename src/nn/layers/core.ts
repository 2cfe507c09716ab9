// Keras's weightless layers: the input, activations, shape changes (Flatten, Reshape,
// ZeroPadding2D), Rescaling and Dropout. Identity layers return their input; the model turns
// that into a view so that freeing one never frees the other.
import { ShapeError } from '../../gpu/errors.ts';
import * as ops from '../ops.ts';
import { upload, type Tensor } from '../../tensor/tensor.ts';
import {
  activation, applyActivation, checkChannelsLast, fmtShape, LayerConfigError, layerWhere, num, oneInput, type LayerActivation,
} from './config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

abstract class Weightless extends StoredLayer {
  weightSpecs(): WeightSpec[] {
    return [];
  }
}

const isDims = (v: unknown): v is (number | null)[] => Array.isArray(v) && v.every((d) => d === null || typeof d === 'number');

/** The batch input shape a config declares (batch_input_shape, batch_shape, or input_shape without the batch), or null. */
export function declaredInputShape(c: Record<string, unknown>): Shape | null {
  for (const key of ['batch_input_shape', 'batch_shape']) {
    const v = c[key];
    if (isDims(v)) return v.map((d) => d ?? null);
  }
  for (const key of ['input_shape', 'shape']) {
    const v = c[key];
    if (isDims(v)) return [null, ...v.map((d) => d ?? null)];
  }
  return null;
}

/** Keras InputLayer: declares the model input's shape (batch as null). */
export class InputLayer extends Weightless {
  readonly className = 'InputLayer';
  readonly batchShape: Shape;
  constructor(config: LayerConfig) {
    super(config);
    const s = declaredInputShape(config);
    if (!s) throw new LayerConfigError(`${layerWhere(config, 'InputLayer')}: config needs 'batch_input_shape' or 'batch_shape', e.g. [null, 224, 224, 3]`);
    this.batchShape = s;
  }
  outputShape(): Shape {
    return this.batchShape;
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return x!;
  }
}

/** Keras Activation: one of linear, relu, relu6, sigmoid, tanh, softmax, swish. */
export class Activation extends Weightless {
  readonly className = 'Activation';
  readonly activation: LayerActivation;
  constructor(config: LayerConfig) {
    super(config);
    this.activation = activation(config, 'Activation');
  }
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return applyActivation(x!, this.activation);
  }
}

/** Keras ReLU layer: plain ReLU, or ReLU6 via max_value 6 (no negative slope or threshold). */
export class ReLU extends Weightless {
  readonly className = 'ReLU';
  readonly activation: 'relu' | 'relu6';
  constructor(config: LayerConfig) {
    super(config);
    const max = config.max_value ?? null;
    const slope = num(config, 'ReLU', 'negative_slope', 0);
    const threshold = num(config, 'ReLU', 'threshold', 0);
    if ((max !== null && max !== 6) || slope !== 0 || threshold !== 0) {
      throw new LayerConfigError(
        `${layerWhere(config, 'ReLU')}: max_value ${String(max)}, negative_slope ${slope}, threshold ${threshold} is not supported; ` +
          'camlight supports ReLU (max_value null) and ReLU6 (max_value 6) with no slope or threshold',
      );
    }
    this.activation = max === 6 ? 'relu6' : 'relu';
  }
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.activation(x!, this.activation);
  }
}

/** Keras Softmax layer over the last axis (tfjs writes it as a positive index). */
export class Softmax extends Weightless {
  readonly className = 'Softmax';
  readonly axis: number;
  constructor(config: LayerConfig) {
    super(config);
    const a = Array.isArray(config.axis) ? config.axis : [config.axis ?? -1];
    if (a.length !== 1 || !Number.isInteger(a[0])) {
      throw new LayerConfigError(`${layerWhere(config, 'Softmax')}: axis ${JSON.stringify(config.axis)} is not supported; softmax runs over the last axis (-1)`);
    }
    this.axis = a[0] as number;
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    if (this.axis !== -1 && this.axis !== s.length - 1) {
      throw new LayerConfigError(`${layerWhere(this.config, this.className)}: axis ${this.axis} of a rank-${s.length} input is not supported; softmax runs over the last axis`);
    }
    return s;
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.softmax(x!);
  }
}

/** Keras Flatten: (N, d1, d2, …) → (N, d1·d2·…), in NHWC order as Keras's channels_last. */
export class Flatten extends Weightless {
  readonly className = 'Flatten';
  constructor(config: LayerConfig) {
    super(config);
    checkChannelsLast(config, 'Flatten');
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    const rest = s.slice(1);
    return [s[0] ?? null, rest.some((d) => d === null) ? null : rest.reduce<number>((a, d) => a * d!, 1)];
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.reshape(x!, [x!.shape[0]!, x!.size / x!.shape[0]!]);
  }
}

/** Keras Reshape to `target_shape` (batch kept; one entry may be -1). */
export class Reshape extends Weightless {
  readonly className = 'Reshape';
  readonly targetShape: number[];
  constructor(config: LayerConfig) {
    super(config);
    // tfjs writes the free dimension as null, Keras as -1.
    const t = Array.isArray(config.target_shape) ? config.target_shape.map((d) => d ?? -1) : config.target_shape;
    if (!Array.isArray(t) || !t.every((d) => Number.isInteger(d) && (d > 0 || d === -1)) || t.filter((d) => d === -1).length > 1) {
      throw new LayerConfigError(`${layerWhere(config, 'Reshape')}: target_shape must be a list of positive ints (one may be -1), got ${JSON.stringify(t)}`);
    }
    this.targetShape = t as number[];
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    const rest = s.slice(1);
    const out: Shape = [...this.targetShape];
    const free = out.indexOf(-1);
    if (rest.every((d) => d !== null)) {
      const n = rest.reduce<number>((a, d) => a * d!, 1);
      const known = this.targetShape.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
      if (free >= 0 ? n % known !== 0 : n !== known) {
        throw new ShapeError(`${layerWhere(this.config, this.className)}: cannot reshape (${fmtShape(s)}) to (None, ${this.targetShape.join(', ')})`);
      }
      if (free >= 0) out[free] = n / known;
    } else if (free >= 0) out[free] = null;
    return [s[0] ?? null, ...out];
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.reshape(x!, [x!.shape[0]!, ...this.targetShape]);
  }
}

/** Keras Rescaling: x·scale + offset (scalars). */
export class Rescaling extends Weightless {
  readonly className = 'Rescaling';
  readonly scale: number;
  readonly offset: number;
  constructor(config: LayerConfig) {
    super(config);
    const one = (k: string, d: number) => {
      const v = config[k];
      const s = Array.isArray(v) && v.length === 1 ? v[0] : v;
      if (s !== undefined && s !== null && typeof s !== 'number') {
        throw new LayerConfigError(`${layerWhere(config, 'Rescaling')}: '${k}' must be a number (per-channel values are not supported), got ${JSON.stringify(v)}`);
      }
      return (s as number | undefined) ?? d;
    };
    this.scale = one('scale', 1);
    this.offset = one('offset', 0);
  }
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.affine(x!, this.scale, this.offset);
  }
}

/** Keras ZeroPadding2D: padding n | [h, w] | [[top, bottom], [left, right]]. */
export class ZeroPadding2D extends Weightless {
  readonly className = 'ZeroPadding2D';
  readonly pads: [[number, number], [number, number]];
  constructor(config: LayerConfig) {
    super(config);
    checkChannelsLast(config, 'ZeroPadding2D');
    const p = config.padding ?? 1;
    const ok = (v: unknown): v is number => Number.isInteger(v) && (v as number) >= 0;
    let pads: [[number, number], [number, number]] | null = null;
    if (ok(p)) pads = [[p, p], [p, p]];
    else if (Array.isArray(p) && p.length === 2 && ok(p[0]) && ok(p[1])) pads = [[p[0], p[0]], [p[1], p[1]]];
    else if (Array.isArray(p) && p.length === 2 && p.every((q) => Array.isArray(q) && q.length === 2 && q.every(ok))) {
      pads = p as [[number, number], [number, number]];
    }
    if (!pads) {
      throw new LayerConfigError(`${layerWhere(config, 'ZeroPadding2D')}: padding must be n, [h, w] or [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
    }
    this.pads = pads;
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    const [[t, b], [l, r]] = this.pads;
    return [s[0] ?? null, s[1] === null ? null : s[1]! + t + b, s[2] === null ? null : s[2]! + l + r, s[3] ?? null];
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.zeroPad2d(x!, this.pads);
  }
}

/** Keras Dropout: identity at inference; in training, inverted dropout (kept values scaled by 1/(1-rate)). */
export class Dropout extends Weightless {
  readonly className = 'Dropout';
  readonly rate: number;
  constructor(config: LayerConfig) {
    super(config);
    this.rate = num(config, 'Dropout', 'rate');
    if (!(this.rate >= 0 && this.rate < 1)) throw new LayerConfigError(`${layerWhere(config, 'Dropout')}: rate must lie in [0, 1), got ${this.rate}`);
    if (config.noise_shape !== undefined && config.noise_shape !== null) {
      throw new LayerConfigError(`${layerWhere(config, 'Dropout')}: noise_shape is not supported; remove it (null drops each element independently)`);
    }
  }
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], ctx: CallContext): Tensor {
    if (!ctx.training || this.rate === 0) return x!;
    const random = ctx.random ?? Math.random;
    const keep = 1 / (1 - this.rate);
    const mask = new Float32Array(x!.size);
    for (let i = 0; i < mask.length; i++) mask[i] = random() >= this.rate ? keep : 0;
    return ops.mul(x!, upload(mask, x!.shape));
  }
}
