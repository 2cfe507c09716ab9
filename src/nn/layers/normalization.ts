// Keras BatchNormalization over the channel axis: fixed statistics at inference, batch statistics
// plus the moving-average update in training (Ioffe & Szegedy 2015, Algorithm 1 and 2); and Keras's
// Normalization preprocessing layer (fixed per-channel mean and variance, EfficientNet's stem).
import { ShapeError } from '../../gpu/errors.ts';
import { updateMovingStats } from '../../kernels/batchnorm-train.ts';
import * as ops from '../ops.ts';
import { upload, type Tensor } from '../../tensor/tensor.ts';
import { bool, channels, LayerConfigError, layerWhere, num, oneInput } from './config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

/** Keras BatchNormalization on the last axis: x:(N,…,C) gamma,beta,moving_mean,moving_variance:(C). */
export class BatchNormalization extends StoredLayer {
  readonly className = 'BatchNormalization';
  readonly epsilon: number;
  readonly momentum: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly axis: number;

  constructor(config: LayerConfig) {
    super(config);
    const cls = 'BatchNormalization';
    this.epsilon = num(config, cls, 'epsilon', 1e-3);
    this.momentum = num(config, cls, 'momentum', 0.99);
    this.center = bool(config, 'center', true);
    this.scale = bool(config, 'scale', true);
    const a = Array.isArray(config.axis) ? config.axis : [config.axis ?? -1];
    if (a.length !== 1 || typeof a[0] !== 'number') {
      throw new LayerConfigError(`${layerWhere(config, cls)}: axis ${JSON.stringify(config.axis)} is not supported; normalise the channel (last) axis only`);
    }
    this.axis = a[0];
  }

  private checkAxis(s: Shape): void {
    const r = s.length;
    const a = this.axis < 0 ? this.axis + r : this.axis;
    if (a !== r - 1) {
      throw new ShapeError(
        `${layerWhere(this.config, this.className)}: axis ${this.axis} of a rank-${r} input is not the channel (last) axis; ` +
          'camlight normalises channels_last tensors over their last axis only',
      );
    }
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const s = oneInput(shapes, this.config, this.className);
    this.checkAxis(s);
    const c = channels(s, this.config, this.className);
    return [
      ...(this.scale ? [{ name: 'gamma', shape: [c], trainable: true }] : []),
      ...(this.center ? [{ name: 'beta', shape: [c], trainable: true }] : []),
      { name: 'moving_mean', shape: [c], trainable: false },
      { name: 'moving_variance', shape: [c], trainable: false },
    ];
  }

  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    this.checkAxis(s);
    return s;
  }

  /** γ, β and the moving statistics as the batch-norm ops take them. */
  params(): { gamma?: Tensor; beta?: Tensor; mean: Tensor; variance: Tensor; epsilon: number } {
    return {
      gamma: this.scale ? this.weight('gamma') : undefined,
      beta: this.center ? this.weight('beta') : undefined,
      mean: this.weight('moving_mean'),
      variance: this.weight('moving_variance'),
      epsilon: this.epsilon,
    };
  }

  call([x]: Tensor[], ctx: CallContext): Tensor {
    const p = this.params();
    // Keras runs a frozen (trainable = false) batch norm in inference mode even while training.
    if (!ctx.training || !this.trainable) return ops.batchNorm(x!, p);
    const r = ops.batchNormTrain(x!, { gamma: p.gamma, beta: p.beta, epsilon: p.epsilon });
    // moving = momentum·moving + (1 - momentum)·batch, with the biased batch variance as Keras 3 and tfjs.
    updateMovingStats({ mean: p.mean, variance: p.variance }, { mean: r.mean, variance: r.variance }, this.momentum);
    r.mean.dispose();
    r.variance.dispose();
    return r.y;
  }
}

/** keras.backend.epsilon(), the floor Keras's Normalization puts under √variance. */
export const NORMALIZATION_EPSILON = 1e-7;

/**
 * Keras Normalization on the last axis (keras/src/layers/preprocessing/normalization.py, `call`):
 * y = (x − mean) / max(√variance, 1e-7), per channel. The statistics are the layer's non-trainable
 * weights `mean`, `variance` (C) and `count` (a scalar Keras keeps "for backwards compatibility",
 * unused here), or, when the config gives `mean` and `variance` inline, constants (no weights),
 * as Keras's `build` does. `invert` and axes other than the last are refused.
 */
export class Normalization extends StoredLayer {
  readonly className = 'Normalization';
  /** Statistics given in the config (scalars or one per channel), else null (weights). */
  private readonly inline: { mean: Float32Array; variance: Float32Array } | null;
  private readonly axis: number;

  constructor(config: LayerConfig) {
    super(config);
    const cls = 'Normalization';
    const a = Array.isArray(config.axis) ? config.axis : [config.axis === undefined ? -1 : config.axis];
    if (a.length !== 1 || !Number.isInteger(a[0])) {
      throw new LayerConfigError(
        `${layerWhere(config, cls)}: axis ${JSON.stringify(config.axis)} is not supported; camlight normalises per channel over the last axis only (axis -1)`,
      );
    }
    this.axis = a[0] as number;
    if (config.invert === true) throw new LayerConfigError(`${layerWhere(config, cls)}: invert=True (de-normalisation) is not supported; only (x - mean) / sqrt(variance)`);
    const stat = (k: 'mean' | 'variance'): Float32Array | null => {
      const v = config[k];
      if (v === undefined || v === null) return null;
      if (typeof v === 'number') return Float32Array.of(v);
      if (Array.isArray(v) && v.length > 0 && v.every((e) => typeof e === 'number')) return Float32Array.from(v as number[]);
      throw new LayerConfigError(`${layerWhere(config, cls)}: '${k}' must be a number or a flat list of numbers (one per channel), got ${JSON.stringify(v)}`);
    };
    const mean = stat('mean'), variance = stat('variance');
    if ((mean === null) !== (variance === null) || (mean && variance && mean.length !== variance.length)) {
      throw new LayerConfigError(`${layerWhere(config, cls)}: give 'mean' and 'variance' together with the same length (or neither, to read them from the weights)`);
    }
    this.inline = mean && variance ? { mean, variance } : null;
  }

  private channels(shapes: Shape[]): number {
    const s = oneInput(shapes, this.config, this.className);
    const r = s.length;
    if ((this.axis < 0 ? this.axis + r : this.axis) !== r - 1) {
      throw new LayerConfigError(
        `${layerWhere(this.config, this.className)}: axis ${this.axis} of a rank-${r} input is not the last axis; camlight normalises over the last axis only (axis -1)`,
      );
    }
    const c = channels(s, this.config, this.className);
    const n = this.inline?.mean.length ?? 1;
    if (n !== 1 && n !== c) {
      throw new ShapeError(`${layerWhere(this.config, this.className)}: 'mean'/'variance' have ${n} values but the input has ${c} channels; give one value or one per channel`);
    }
    return c;
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const c = this.channels(shapes);
    if (this.inline) return [];
    return [
      { name: 'mean', shape: [c], trainable: false },
      { name: 'variance', shape: [c], trainable: false },
      { name: 'count', shape: [], trainable: false },
    ];
  }

  outputShape(shapes: Shape[]): Shape {
    this.channels(shapes);
    return shapes[0]!;
  }

  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const eps = NORMALIZATION_EPSILON;
    const c = x!.shape[x!.shape.length - 1]!;
    if (this.inline) {
      // Constants: y = x·s + o with s = 1/max(√v, ε), o = −mean·s, computed on the host per channel.
      const { mean, variance } = this.inline;
      const s = new Float32Array(c), o = new Float32Array(c);
      for (let i = 0; i < c; i++) {
        const k = mean.length === 1 ? 0 : i;
        s[i] = 1 / Math.max(Math.sqrt(variance[k]!), eps);
        o[i] = -mean[k]! * s[i]!;
      }
      return ops.add(ops.mul(x!, upload(s, [c])), upload(o, [c]));
    }
    // Weights on the GPU: batchNorm's (x − mean)·1/√(v' + ε²) with v' = max(v − ε², 0) is
    // (x − mean)/√max(v, ε²) = (x − mean)/max(√v, ε), Keras's formula; one C-sized affine
    // dispatch for v', and batchNorm's rule gives the input gradient Grad-CAM needs.
    const v = ops.affine(this.weight('variance'), 1, -eps * eps, 'relu');
    return ops.batchNorm(x!, { mean: this.weight('mean'), variance: v, epsilon: eps * eps });
  }
}
