// How every suite times and checks a kernel: adaptive repeats around a median (lavapipe is
// slow and noisy, so the count follows the kernel's speed), and an allclose check that must
// pass before anything is timed (STYLE.md habit 10).

export interface TimingPlan {
  /** Wall-clock time to spend on timed samples of one kernel, in ms. */
  budgetMs: number;
  minSamples: number;
  maxSamples: number;
  /** Launches per sample are chosen so that a sample lasts about this long (amortises read-back). */
  sampleMs: number;
  maxLaunches: number;
}

export const FULL_PLAN: TimingPlan = { budgetMs: 3000, minSamples: 5, maxSamples: 20, sampleMs: 300, maxLaunches: 64 };
export const QUICK_PLAN: TimingPlan = { budgetMs: 600, minSamples: 3, maxSamples: 5, sampleMs: 150, maxLaunches: 16 };

export interface Timing {
  /** Median milliseconds per launch. */
  ms: number;
  /** Fastest sample, ms per launch. */
  minMs: number;
  samples: number;
  launchesPerSample: number;
}

const now = () => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Times `run(R)`, which must enqueue R launches back to back and resolve once the last one's
 * output is on the host. The caller warms up (compiles, checks the output) before calling this.
 * @example
 *   const t = await timeLaunches(async (r) => { ...launch r times...; await y.data(); }, FULL_PLAN);
 */
export async function timeLaunches(run: (launches: number) => Promise<void>, plan: TimingPlan): Promise<Timing> {
  let t0 = now();
  await run(1);
  const pilot = Math.max(now() - t0, 0.01);
  const launches = Math.max(1, Math.min(plan.maxLaunches, Math.round(plan.sampleMs / pilot)));
  const samples = Math.max(plan.minSamples, Math.min(plan.maxSamples, Math.round(plan.budgetMs / (launches * pilot))));
  const per: number[] = [];
  for (let i = 0; i < samples; i++) {
    t0 = now();
    await run(launches);
    per.push((now() - t0) / launches);
  }
  return { ms: median(per), minMs: Math.min(...per), samples, launchesPerSample: launches };
}

export interface Tolerance {
  rtol: number;
  /** Absolute tolerance as a fraction of the reference's largest magnitude. */
  atolOfMax: number;
}

/** fp32 sums of up to ~5k products in different orders differ by far less than this. */
export const FP32_TOLERANCE: Tolerance = { rtol: 1e-3, atolOfMax: 1e-4 };

export const describeTolerance = (t: Tolerance) => `|got - ref| <= ${t.rtol}·|ref| + ${t.atolOfMax}·max|ref|`;

/**
 * Compares `got` with `want` element-wise under `tol`; returns null when close, else a message
 * naming the worst element. NaN or a length mismatch always fails.
 */
export function mismatch(got: ArrayLike<number>, want: ArrayLike<number>, tol: Tolerance = FP32_TOLERANCE): string | null {
  if (got.length !== want.length) return `length ${got.length}, reference ${want.length}`;
  let maxRef = 0;
  for (let i = 0; i < want.length; i++) maxRef = Math.max(maxRef, Math.abs(want[i]!));
  const atol = tol.atolOfMax * maxRef;
  let worst = -1, worstExcess = 0, bad = 0, maxAbs = 0;
  for (let i = 0; i < got.length; i++) {
    const g = got[i]!, w = want[i]!;
    const d = Math.abs(g - w);
    if (!Number.isFinite(g) || d > atol + tol.rtol * Math.abs(w)) {
      bad++;
      const excess = Number.isFinite(d) ? d - (atol + tol.rtol * Math.abs(w)) : Infinity;
      if (worst < 0 || excess > worstExcess) {
        worst = i;
        worstExcess = excess;
      }
    }
    if (Number.isFinite(d)) maxAbs = Math.max(maxAbs, d);
  }
  if (worst < 0) return null;
  return `${bad} of ${got.length} elements differ; worst at [${worst}]: got ${got[worst]}, reference ${want[worst]} (max |diff| ${maxAbs.toExponential(2)}, max |ref| ${maxRef.toExponential(2)})`;
}

/** Mulberry32: seeded inputs, so every run and every system sees the same data. */
export function uniform(n: number, seed: number, lo: number, hi: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = lo + (hi - lo) * (((t ^ (t >>> 14)) >>> 0) / 4294967296);
  }
  return out;
}
