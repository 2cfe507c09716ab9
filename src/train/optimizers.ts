// Optimisers as small objects holding their per-parameter state on the GPU: SGD (with momentum
// and Nesterov), Adam and AdamW. Each step is one fused kernel per parameter (src/kernels/optim.ts).
import { ShapeError } from '../gpu/errors.ts';
import { optimStep, type OptimRule } from '../kernels/optim.ts';
import { upload, zeros, type Tensor } from '../tensor/tensor.ts';

export interface Optimizer {
  /** 'sgd', 'momentum', 'nesterov', 'adam' or 'adamw'. */
  readonly rule: OptimRule;
  /** The learning rate used when step() is given none. */
  readonly lr: number;
  /** Steps taken so far (Adam's t). */
  readonly iterations: number;
  /**
   * Updates every parameter in place from its gradient (same order, same shapes); state is
   * created on first use. `lr` overrides the configured rate for this step (schedules).
   */
  step(params: Tensor[], grads: Tensor[], lr?: number): void;
  /** A plain description for logs and reports. */
  describe(): Record<string, number | string | boolean>;
  /** Frees the state tensors. */
  dispose(): void;
  /** The step count, bias-correction products and every parameter's slots, read back (checkpoints). */
  exportState(params: Tensor[]): Promise<OptimizerState>;
  /** Restores what exportState gave, for the same parameters in the same order (resuming a run). */
  importState(params: Tensor[], state: OptimizerState): void;
}

/** An optimiser's state on the host: what a checkpoint needs to continue training exactly. */
export interface OptimizerState {
  rule: OptimRule;
  iterations: number;
  /** β1ᵗ and β2ᵗ as kept (Adam); 1 otherwise. */
  acc1: number;
  acc2: number;
  /** Per parameter, its slots (Adam: m and v; momentum: the velocity; none for SGD). */
  slots: Float32Array[][];
}

export interface SgdOptions {
  lr?: number;
  /** μ; 0 (default) is plain SGD. */
  momentum?: number;
  /** Nesterov's accelerated gradient (needs momentum > 0), as tf.train.momentum(lr, μ, true). */
  nesterov?: boolean;
  /** L2 penalty λ: the gradient becomes g + λw. */
  weightDecay?: number;
}

export interface AdamOptions {
  lr?: number;
  beta1?: number;
  beta2?: number;
  /** Added to √v̂ (tfjs's placement); default 1e-7 as tfjs's backend epsilon. */
  epsilon?: number;
  /** adam: L2 penalty added to the gradient; adamw: decoupled decay w ← w − lr·λ·w. */
  weightDecay?: number;
}

class GpuOptimizer implements Optimizer {
  private state = new Map<Tensor, Tensor[]>();
  iterations = 0;
  // β1ᵗ and β2ᵗ as float32 running products, as tf.train.adam keeps them (accBeta1, accBeta2):
  // 1 − β2ᵗ is small early on, so float64 powers would differ from tfjs by ~1e-5 relative.
  private acc1 = 1;
  private acc2 = 1;

  constructor(
    readonly rule: OptimRule,
    readonly lr: number,
    private readonly s: Required<Omit<AdamOptions, 'lr'>> & { momentum: number },
  ) {
    if (!(lr >= 0)) throw new RangeError(`${rule}: learning rate must be a non-negative number, got ${lr}`);
  }

  step(params: Tensor[], grads: Tensor[], lr = this.lr): void {
    if (params.length !== grads.length) throw new ShapeError(`${this.rule}.step: ${params.length} parameters but ${grads.length} gradients`);
    params.forEach((p, i) => {
      const g = grads[i]!;
      if (g.size !== p.size) {
        throw new ShapeError(`${this.rule}.step: parameter ${i} is [${p.shape.join(', ')}] but its gradient is [${g.shape.join(', ')}]`);
      }
    });
    this.iterations++;
    const adam = this.rule === 'adam' || this.rule === 'adamw';
    const f = Math.fround;
    this.acc1 = f(f(this.acc1) * f(this.s.beta1));
    this.acc2 = f(f(this.acc2) * f(this.s.beta2));
    const scalars = {
      lr, momentum: this.s.momentum, beta1: this.s.beta1, beta2: this.s.beta2, epsilon: this.s.epsilon, weightDecay: this.s.weightDecay,
      biasCorrection1: adam ? f(1 - this.acc1) : 1,
      biasCorrection2: adam ? f(1 - this.acc2) : 1,
    };
    const nState = this.rule === 'sgd' ? 0 : adam ? 2 : 1;
    params.forEach((p, i) => {
      const g = grads[i]!;
      let st = this.state.get(p);
      if (!st) {
        st = Array.from({ length: nState }, () => zeros(p.shape, p.runtime));
        this.state.set(p, st);
      }
      optimStep(this.rule, p, g, st, scalars);
    });
  }

  describe(): Record<string, number | string | boolean> {
    const d: Record<string, number | string | boolean> = { optimizer: this.rule, lr: this.lr };
    if (this.rule === 'momentum' || this.rule === 'nesterov') d.momentum = this.s.momentum;
    if (this.rule === 'adam' || this.rule === 'adamw') Object.assign(d, { beta1: this.s.beta1, beta2: this.s.beta2, epsilon: this.s.epsilon });
    if (this.s.weightDecay) d.weightDecay = this.s.weightDecay;
    return d;
  }

  dispose(): void {
    for (const st of this.state.values()) for (const t of st) t.dispose();
    this.state.clear();
  }

  async exportState(params: Tensor[]): Promise<OptimizerState> {
    const slots: Float32Array[][] = [];
    for (const p of params) slots.push(await Promise.all((this.state.get(p) ?? []).map((t) => t.data())));
    return { rule: this.rule, iterations: this.iterations, acc1: this.acc1, acc2: this.acc2, slots };
  }

  importState(params: Tensor[], s: OptimizerState): void {
    if (s.rule !== this.rule) throw new RangeError(`${this.rule}: the saved optimiser state is ${s.rule}'s; resume with the same optimiser`);
    if (s.slots.length !== params.length) throw new ShapeError(`${this.rule}: the saved state has ${s.slots.length} parameters, the model trains ${params.length}`);
    params.forEach((p, i) => {
      for (const d of s.slots[i]!) {
        if (d.length !== p.size) throw new ShapeError(`${this.rule}: saved state for parameter ${i} holds ${d.length} values, the parameter [${p.shape.join(', ')}] ${p.size}`);
      }
    });
    this.dispose();
    params.forEach((p, i) => {
      if (s.slots[i]!.length) this.state.set(p, s.slots[i]!.map((d) => upload(d, p.shape, p.runtime)));
    });
    this.iterations = s.iterations;
    this.acc1 = s.acc1;
    this.acc2 = s.acc2;
  }
}

/**
 * Mini-batch SGD, optionally with momentum (heavy ball) or Nesterov momentum, and L2 weight decay.
 * @example
 *   const opt = sgd({ lr: 0.01, momentum: 0.9, nesterov: true });
 *   opt.step(params, grads);
 */
export function sgd(o: SgdOptions = {}): Optimizer {
  const { lr = 0.01, momentum = 0, nesterov = false, weightDecay = 0 } = o;
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`sgd: momentum must be in [0, 1), got ${momentum}`);
  if (nesterov && momentum === 0) throw new RangeError('sgd: nesterov needs a momentum > 0');
  const rule: OptimRule = momentum === 0 ? 'sgd' : nesterov ? 'nesterov' : 'momentum';
  return new GpuOptimizer(rule, lr, { momentum, beta1: 0, beta2: 0, epsilon: 0, weightDecay });
}

function adamLike(rule: 'adam' | 'adamw', o: AdamOptions): Optimizer {
  const { lr = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-7, weightDecay = rule === 'adamw' ? 0.01 : 0 } = o;
  for (const [n, v] of [['beta1', beta1], ['beta2', beta2]] as const) {
    if (!(v >= 0 && v < 1)) throw new RangeError(`${rule}: ${n} must be in [0, 1), got ${v}`);
  }
  return new GpuOptimizer(rule, lr, { momentum: 0, beta1, beta2, epsilon, weightDecay });
}

/**
 * Adam (Kingma & Ba 2015, Algorithm 1, with ε added to √v̂ as TensorFlow.js does).
 * @example
 *   const opt = adam({ lr: 1e-3 });
 */
export function adam(o: AdamOptions = {}): Optimizer {
  return adamLike('adam', o);
}

/**
 * AdamW: Adam with decoupled weight decay (Loshchilov & Hutter 2019, Algorithm 2), the decay
 * scaled by the learning rate as PyTorch's AdamW does: w ← w − lr·λ·w − lr·m̂/(√v̂ + ε).
 * @example
 *   const opt = adamw({ lr: 1e-3, weightDecay: 1e-2 });
 */
export function adamw(o: AdamOptions = {}): Optimizer {
  return adamLike('adamw', o);
}

export type OptimizerName = 'sgd' | 'momentum' | 'nesterov' | 'adam' | 'adamw';

/**
 * An optimiser by name with common defaults (the CLI's --optimizer).
 * @example
 *   const opt = optimizerByName('adam', { lr: 1e-3 });
 */
export function optimizerByName(name: string, o: { lr?: number; weightDecay?: number } = {}): Optimizer {
  switch (name) {
    case 'sgd': return sgd(o);
    case 'momentum': return sgd({ ...o, momentum: 0.9 });
    case 'nesterov': return sgd({ ...o, momentum: 0.9, nesterov: true });
    case 'adam': return adam(o);
    case 'adamw': return adamw(o);
    default: throw new RangeError(`unknown optimizer '${name}'; use one of sgd, momentum, nesterov, adam, adamw`);
  }
}
