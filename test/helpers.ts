// Shared test fixtures: one GPU runtime for the whole run, TensorFlow.js on its CPU backend as
// the independent reference, seeded random data and a closeness check that reports the worst
// element (index, got, want) when it fails.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createRequire } from 'node:module';
// tfjs-core registers its gradients in a separate module (CommonJS, like the `main` that
// Node resolves for tfjs-core itself, so both share one engine).
createRequire(import.meta.url)('@tensorflow/tfjs-core/dist/register_all_gradients');
import * as assert from 'uvu/assert';
import { init } from '../src/tensor/runtime-global.ts';
import type { Runtime } from '../src/gpu/runtime.ts';
import { rng } from '../src/nn/model-init.ts';

export { tf };

let ready: Promise<Runtime> | null = null;
/** The shared runtime, with tfjs set to its CPU backend. */
export function gpu(): Promise<Runtime> {
  ready ??= (async () => {
    await tf.setBackend('cpu');
    return init();
  })();
  return ready;
}

/** Mulberry32 (src/nn/model-init.ts): a small seeded generator so every run sees the same "random" inputs. */
export { rng };

/** n uniform values in [lo, hi) from a seeded generator. */
export function randn(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}

export interface CloseReport {
  maxAbs: number;
  maxRel: number;
  worst: number;
}

/**
 * Asserts |got - want| <= atol + rtol * |want| element-wise (NumPy's allclose rule), and that
 * the lengths agree and nothing is NaN. Returns the error figures for the test to log.
 */
export function assertClose(
  got: ArrayLike<number>,
  want: ArrayLike<number>,
  { rtol = 1e-4, atol = 1e-5, what = 'values' }: { rtol?: number; atol?: number; what?: string } = {},
): CloseReport {
  assert.is(got.length, want.length, `${what}: length ${got.length} vs reference ${want.length}`);
  let maxAbs = 0, maxRel = 0, worst = -1, worstExcess = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    const d = Math.abs(g - w);
    if (Number.isNaN(g) !== Number.isNaN(w)) {
      assert.unreachable(`${what}: NaN mismatch at ${i}: got ${g}, want ${w}`);
    }
    if (Number.isNaN(d)) continue;
    maxAbs = Math.max(maxAbs, d);
    maxRel = Math.max(maxRel, d / Math.max(Math.abs(w), 1e-30));
    const excess = d - (atol + rtol * Math.abs(w));
    if (excess > worstExcess) {
      worstExcess = excess;
      worst = i;
    }
  }
  if (worst >= 0) {
    assert.unreachable(
      `${what}: element ${worst} is ${got[worst]}, reference ${want[worst]} (|diff| ${Math.abs(got[worst]! - want[worst]!)} > ` +
        `atol ${atol} + rtol ${rtol}·|ref|); max abs error ${maxAbs}`,
    );
  }
  return { maxAbs, maxRel, worst };
}

/** The reference's data as a Float32Array, disposing the tfjs tensor. */
export function ref(t: tf.Tensor): Float32Array {
  const d = t.dataSync() as Float32Array;
  t.dispose();
  return d;
}

/**
 * Central finite differences of a scalar function of one host array, in float64 on the host
 * when `f` is host math, or through the GPU when it dispatches kernels (then use a step around
 * 1e-2 and a tolerance around 1e-2: float32 forward passes limit what differences can show).
 */
export async function finiteDiff(
  f: (x: Float32Array) => Promise<number>,
  x: Float32Array,
  eps = 1e-2,
): Promise<Float32Array> {
  const g = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const xp = x.slice(); xp[i] = x[i]! + eps;
    const xm = x.slice(); xm[i] = x[i]! - eps;
    g[i] = ((await f(xp)) - (await f(xm))) / (2 * eps);
  }
  return g;
}
