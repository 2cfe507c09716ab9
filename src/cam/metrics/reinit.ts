// Fresh random weights for one layer from the initialisers its Keras config names (GlorotUniform
// kernels, zero biases, …), seeded: the randomisation sanity check re-initialises layer by layer.
import type { Model, WeightEntry } from '../../nn/model.ts';
import { rng } from '../../nn/model-init.ts';

/** Which config key holds the initialiser of each Keras weight, and the Keras default. */
const INIT_KEY: Record<string, [string, string]> = {
  kernel: ['kernel_initializer', 'glorot_uniform'],
  bias: ['bias_initializer', 'zeros'],
  depthwise_kernel: ['depthwise_initializer', 'glorot_uniform'],
  pointwise_kernel: ['pointwise_initializer', 'glorot_uniform'],
  gamma: ['gamma_initializer', 'ones'],
  beta: ['beta_initializer', 'zeros'],
  moving_mean: ['moving_mean_initializer', 'zeros'],
  moving_variance: ['moving_variance_initializer', 'ones'],
};

/** Keras's fan-in and fan-out of a weight shape (keras.initializers' _compute_fans). */
function fans(shape: number[]): [number, number] {
  if (shape.length === 0) return [1, 1];
  if (shape.length === 1) return [shape[0]!, shape[0]!];
  if (shape.length === 2) return [shape[0]!, shape[1]!];
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return [shape[shape.length - 2]! * receptive, shape[shape.length - 1]! * receptive];
}

type Sampler = (n: number, shape: number[], r: () => number) => Float32Array;

function normal(r: () => number): number {
  // Box–Muller; 1 − u keeps the logarithm finite.
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

function varianceScaling(scale: number, mode: string, distribution: string): Sampler {
  return (n, shape, r) => {
    const [fanIn, fanOut] = fans(shape);
    const fan = mode === 'fan_in' ? fanIn : mode === 'fan_out' ? fanOut : (fanIn + fanOut) / 2;
    const s = scale / Math.max(1, fan);
    const out = new Float32Array(n);
    if (distribution === 'uniform') {
      const limit = Math.sqrt(3 * s);
      for (let i = 0; i < n; i++) out[i] = (2 * r() - 1) * limit;
    } else if (distribution === 'untruncated_normal' || distribution === 'normal') {
      const sd = Math.sqrt(s);
      for (let i = 0; i < n; i++) out[i] = sd * normal(r);
    } else {
      // Truncated at two standard deviations; the constant restores the target variance (Keras).
      const sd = Math.sqrt(s) / 0.8796256610342398;
      for (let i = 0; i < n; i++) { let z; do z = normal(r); while (Math.abs(z) > 2); out[i] = sd * z; }
    }
    return out;
  };
}

const NAMED: Record<string, [number, string, string]> = {
  glorotuniform: [1, 'fan_avg', 'uniform'], glorotnormal: [1, 'fan_avg', 'truncated_normal'],
  heuniform: [2, 'fan_in', 'uniform'], henormal: [2, 'fan_in', 'truncated_normal'],
  lecununiform: [1, 'fan_in', 'uniform'], lecunnormal: [1, 'fan_in', 'truncated_normal'],
};

/**
 * A sampler for a Keras initialiser spec (a name or { class_name, config }); null if unknown.
 * @example
 *   const w = initializerSampler('he_normal')!(3 * 3 * 8 * 16, [3, 3, 8, 16], rng(1));
 */
export function initializerSampler(spec: unknown): Sampler | null {
  const name = typeof spec === 'string' ? spec : (spec as { class_name?: unknown } | null)?.class_name;
  const cfg = (typeof spec === 'object' && spec ? (spec as { config?: Record<string, unknown> }).config : undefined) ?? {};
  if (typeof name !== 'string') return null;
  const key = name.toLowerCase().replace(/_/g, '');
  const num = (k: string, d: number) => (typeof cfg[k] === 'number' ? (cfg[k] as number) : d);
  const named = NAMED[key];
  if (named) return varianceScaling(...named);
  switch (key) {
    case 'variancescaling':
      return varianceScaling(num('scale', 1), String(cfg.mode ?? 'fan_in'), String(cfg.distribution ?? 'truncated_normal'));
    case 'zeros': case 'zero': return (n) => new Float32Array(n);
    case 'ones': case 'one': return (n) => new Float32Array(n).fill(1);
    case 'constant': return (n) => new Float32Array(n).fill(num('value', 0));
    case 'randomuniform': {
      const lo = num('minval', -0.05), hi = num('maxval', 0.05);
      return (n, _s, r) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());
    }
    case 'randomnormal': {
      const m = num('mean', 0), sd = num('stddev', 0.05);
      return (n, _s, r) => Float32Array.from({ length: n }, () => m + sd * normal(r));
    }
    case 'truncatednormal': {
      const m = num('mean', 0), sd = num('stddev', 0.05);
      return (n, _s, r) => Float32Array.from({ length: n }, () => { let z; do z = normal(r); while (Math.abs(z) > 2); return m + sd * z; });
    }
    default: return null;
  }
}

/**
 * New values for every weight of one layer, drawn from the layer's configured initialisers
 * (Keras defaults where the config names none; an initialiser camlight does not know, such as
 * Orthogonal, falls back to GlorotUniform and is reported in `warnings`), frozen layers included.
 * Batch-norm moving statistics are left out unless `nonTrainable` is set. Set them with
 * model.setWeights(values, { allowMissing: true }).
 * @example
 *   const { values } = reinitLayerWeights(model, 'predictions', 7); model.setWeights(values, { allowMissing: true });
 */
export function reinitLayerWeights(
  model: Model, layer: string, seed: number, opts: { nonTrainable?: boolean } = {},
): { values: Map<string, { data: Float32Array; shape: number[] }>; warnings: string[] } {
  model.getLayer(layer); // throws with the closest names
  const entries: WeightEntry[] = model.weightList().filter((e) => e.layer.name === layer && (opts.nonTrainable || !e.weight.startsWith('moving_')));
  const r = rng(seed);
  const values = new Map<string, { data: Float32Array; shape: number[] }>();
  const warnings: string[] = [];
  for (const e of entries) {
    const [key, fallback] = INIT_KEY[e.weight] ?? [`${e.weight}_initializer`, 'glorot_uniform'];
    const spec = e.layer.config[key] ?? fallback;
    let sample = initializerSampler(spec);
    if (!sample) {
      warnings.push(`layer '${layer}' weight '${e.weight}': initialiser ${JSON.stringify(spec)} is not supported; used GlorotUniform`);
      sample = initializerSampler('glorot_uniform')!;
    }
    const n = e.shape.reduce((a, b) => a * b, 1);
    values.set(e.name, { data: sample(n, e.shape, r), shape: e.shape });
  }
  return { values, warnings };
}
