// Keras BatchNormalization over the channel axis: fixed statistics at inference, batch statistics
// plus the moving-average update in training (Ioffe & Szegedy 2015, Algorithm 1 and 2).
import { ShapeError } from '../../gpu/errors.ts';
import { updateMovingStats } from '../../kernels/batchnorm-train.ts';
import * as ops from '../ops.ts';
import type { Tensor } from '../../tensor/tensor.ts';
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
