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

/**
 * Keras Rescaling: x·scale + offset, each a scalar or one value per channel (a list of C numbers,
 * broadcast over the last axis as Keras does; EfficientNet's ImageNet stem divides by √stddev per
 * channel this way).
 */
export class Rescaling extends Weightless {
  readonly className = 'Rescaling';
  /** A number, or per-channel values (length C > 1). */
  readonly scale: number | Float32Array;
  readonly offset: number | Float32Array;
  constructor(config: LayerConfig) {
    super(config);
    const read = (k: string, d: number): number | Float32Array => {
      const v = config[k];
      if (v === undefined || v === null) return d;
      if (typeof v === 'number') return v;
      if (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'number')) return v.length === 1 ? (v[0] as number) : Float32Array.from(v as number[]);
      throw new LayerConfigError(`${layerWhere(config, 'Rescaling')}: '${k}' must be a number or a flat list of numbers (one per channel), got ${JSON.stringify(v)}`);
    };
    this.scale = read('scale', 1);
    this.offset = read('offset', 0);
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    const c = s[s.length - 1];
    for (const [k, v] of [['scale', this.scale], ['offset', this.offset]] as const) {
      if (typeof v !== 'number' && c !== null && c !== undefined && v.length !== c) {
        throw new ShapeError(`${layerWhere(this.config, this.className)}: '${k}' has ${v.length} values but the input (${fmtShape(s)}) has ${c} channels; give one value or one per channel`);
      }
    }
    return s;
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const { scale, offset } = this;
    if (typeof scale === 'number' && typeof offset === 'number') return ops.affine(x!, scale, offset);
    // Per channel: x:(N,…,C) ⊙ scale:(C) + offset:(C), broadcast over the last axis; the constants
    // are made per call (C floats) so the layer holds no GPU memory, as the other weightless layers.
    const c = x!.shape[x!.shape.length - 1]!;
    const y = typeof scale === 'number' ? ops.mulScalar(x!, scale) : ops.mul(x!, upload(scale, [c]));
    return typeof offset === 'number' ? (offset === 0 ? y : ops.addScalar(y, offset)) : ops.add(y, upload(offset, [c]));
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

/**
 * Keras Dropout: identity at inference; in training, inverted dropout (kept values scaled by
 * 1/(1-rate)). `noise_shape` (null entries = the input's size) draws one keep/drop per cell of that
 * shape, broadcast over its 1s: EfficientNet's [null, 1, 1, 1] drops a whole residual branch per
 * image (drop-connect / stochastic depth, Huang et al. 2016).
 */
export class Dropout extends Weightless {
  readonly className = 'Dropout';
  readonly rate: number;
  readonly noiseShape: (number | null)[] | null;
  constructor(config: LayerConfig) {
    super(config);
    this.rate = num(config, 'Dropout', 'rate');
    if (!(this.rate >= 0 && this.rate < 1)) throw new LayerConfigError(`${layerWhere(config, 'Dropout')}: rate must lie in [0, 1), got ${this.rate}`);
    const ns = config.noise_shape;
    if (ns !== undefined && ns !== null && !(Array.isArray(ns) && ns.every((d) => d === null || (Number.isInteger(d) && d > 0)))) {
      throw new LayerConfigError(`${layerWhere(config, 'Dropout')}: noise_shape must be null or a list of positive ints and nulls (e.g. [null, 1, 1, 1]), got ${JSON.stringify(ns)}`);
    }
    this.noiseShape = (ns as (number | null)[] | null | undefined) ?? null;
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    const ns = this.noiseShape;
    if (ns && (ns.length !== s.length || ns.some((d, i) => d !== null && d !== 1 && s[i] !== null && d !== s[i]))) {
      throw new ShapeError(`${layerWhere(this.config, this.className)}: noise_shape [${ns.map(String).join(', ')}] does not broadcast to the input (${fmtShape(s)}); use 1 or the input's size (or null) per axis`);
    }
    return s;
  }
  call([x]: Tensor[], ctx: CallContext): Tensor {
    if (!ctx.training || this.rate === 0) return x!;
    const random = ctx.random ?? Math.random;
    const keep = 1 / (1 - this.rate);
    const shape = this.noiseShape ? this.noiseShape.map((d, i) => d ?? x!.shape[i]!) : [...x!.shape];
    const mask = new Float32Array(shape.reduce((a, d) => a * d, 1));
    for (let i = 0; i < mask.length; i++) mask[i] = random() >= this.rate ? keep : 0;
    return ops.mul(x!, upload(mask, shape));
  }
}
