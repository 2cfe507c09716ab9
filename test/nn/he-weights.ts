// Seeded weights that make a model's output depend on its input, for tests that compare whole
// networks (zoo.test.ts, cam/fullsize.test.ts): a constant output must not pass them.
import type { Model } from '../../src/nn/model.ts';
import { randn, rng } from '../helpers.ts';

/** n seeded normal values N(0, σ²) (Box–Muller on Mulberry32). */
function normal(n: number, seed: number, sigma: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = sigma * Math.sqrt(-2 * Math.log(u() + 1e-12)) * Math.cos(2 * Math.PI * u());
  return out;
}

/**
 * Input-dependent weights, by weight name: kernels N(0, 2/fan_in) (He et al. 2015; the last
 * Dense N(0, 1/fan_in) so the softmax does not saturate), biases and β N(0, 0.1²), γ U(0.6, 1.4),
 * moving means N(0, 0.1²), moving variances (and Normalization's variances) U(0.5, 1.5).
 */
export function heWeights(m: Model, seed: number): Map<string, { data: Float32Array; shape: number[] }> {
  const out = new Map<string, { data: Float32Array; shape: number[] }>();
  const last = m.layers[m.layers.length - 1]!.name;
  m.weightList().forEach((w, i) => {
    const shape = [...w.shape] as number[];
    const n = shape.reduce((a, b) => a * b, 1);
    const name = w.name;
    let data: Float32Array;
    // A depthwise kernel (KH, KW, C, M) sees only its KH·KW window of one channel: that is its fan-in.
    const fanIn = /depthwise_kernel$/.test(name) ? shape[0]! * shape[1]! : n / shape[shape.length - 1]!;
    if (/kernel$/.test(name)) data = normal(n, seed + i, Math.sqrt((name.startsWith(`${last}/`) ? 1 : 2) / fanIn));
    else if (/gamma$/.test(name)) data = randn(n, seed + i, 0.6, 1.4);
    else if (/(moving_)?variance$/.test(name)) data = randn(n, seed + i, 0.5, 1.5);
    else data = normal(n, seed + i, 0.1); // bias, beta, moving_mean
    out.set(name, { data, shape });
  });
  return out;
}
