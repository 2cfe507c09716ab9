// Learning-rate schedules as pure host functions of the training position, so that a trainer
// asks for the rate of each step and nothing schedule-related lives on the GPU.

/** Where training is: the epoch (0-based), the step within it, and the steps per epoch. */
export interface SchedulePoint {
  epoch: number;
  step: number;
  stepsPerEpoch: number;
  /** Total epochs of the run (cosine needs the horizon). */
  epochs: number;
}

/** A learning rate for a point of training. */
export type Schedule = (p: SchedulePoint) => number;

/** Fractional epochs elapsed at a point: epoch + step / stepsPerEpoch. */
const progress = (p: SchedulePoint) => p.epoch + p.step / Math.max(1, p.stepsPerEpoch);

/**
 * A constant rate.
 * @example
 *   constant(0.01)({ epoch: 3, step: 0, stepsPerEpoch: 10, epochs: 5 }); // 0.01
 */
export function constant(lr: number): Schedule {
  return () => lr;
}

/**
 * Step decay: lr · gamma^⌊epoch / every⌋, changing at epoch boundaries (Keras's
 * LearningRateScheduler idiom; PyTorch's StepLR).
 * @example
 *   stepDecay({ lr: 0.1, every: 2, gamma: 0.5 }); // 0.1, 0.1, 0.05, 0.05, 0.025, …
 */
export function stepDecay(o: { lr: number; every: number; gamma?: number }): Schedule {
  const { lr, every, gamma = 0.1 } = o;
  if (!(every >= 1)) throw new RangeError(`stepDecay: every must be at least 1 epoch, got ${every}`);
  return (p) => lr * gamma ** Math.floor(p.epoch / every);
}

/**
 * Cosine annealing without restarts (Loshchilov & Hutter 2017, SGDR, Eq. 5), per step:
 * lr_min + ½(lr − lr_min)(1 + cos(π·t/T)), t the fractional epoch and T the run's epochs.
 * @example
 *   cosine({ lr: 0.1, finalLr: 0.001 });
 */
export function cosine(o: { lr: number; finalLr?: number; epochs?: number }): Schedule {
  const { lr, finalLr = 0 } = o;
  return (p) => {
    const T = o.epochs ?? p.epochs;
    const t = Math.min(progress(p), T);
    return finalLr + 0.5 * (lr - finalLr) * (1 + Math.cos((Math.PI * t) / Math.max(T, 1e-12)));
  };
}

/**
 * Linear warm-up from `from`·(base rate) to the base schedule over `epochs` (fractional epochs,
 * counted per step; Goyal et al. 2017, §2.2), then the base schedule unchanged.
 * @example
 *   warmup(cosine({ lr: 0.1 }), { epochs: 1 });
 */
export function warmup(base: Schedule, o: { epochs: number; from?: number }): Schedule {
  const { epochs: w, from = 0 } = o;
  if (!(w >= 0)) throw new RangeError(`warmup: epochs must be non-negative, got ${w}`);
  return (p) => {
    const t = progress(p);
    const lr = base(p);
    if (t >= w) return lr;
    return lr * (from + (1 - from) * (t / w));
  };
}
