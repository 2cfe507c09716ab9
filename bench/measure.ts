// How every suite times and checks a kernel: a time budget per measurement (a slow system gets
// fewer samples, never a different check), the median of the samples, every sample kept so that
// `bench compare` can estimate the noise, and an allclose check that must pass before anything
// is timed (STYLE.md habit 10).
import { rng } from '../src/nn/model-init.ts';

export interface TimingPlan {
  /** Wall-clock time to spend on timed samples of one measurement, in ms (--budget). */
  budgetMs: number;
  /** At most this many samples, however fast the kernel. */
  maxSamples: number;
  /** Launches per sample are chosen so that a sample lasts about this long (amortises read-back). */
  sampleMs: number;
  maxLaunches: number;
}

/** Per-measurement plan for a budget of `budgetS` seconds (samples of ~1/8 of the budget, ≤ 300 ms). */
export function planFor(budgetS: number): TimingPlan {
  const budgetMs = budgetS * 1000;
  return { budgetMs, maxSamples: 20, sampleMs: Math.min(300, budgetMs / 8), maxLaunches: 64 };
}

export interface Timing {
  /** Median milliseconds per launch (or per call, for whole models). */
  ms: number;
  /** Fastest sample, ms per launch. */
  minMs: number;
  samples: number;
  launchesPerSample: number;
  /** Every sample, ms per launch, in the order taken (for `bench compare`'s noise estimate). */
  samplesMs: number[];
  /** The budget this measurement had and the time its timed samples took, ms. */
  budgetMs: number;
  spentMs: number;
}

/** The clock timings read (a parameter of the timers, so tests can drive them with a virtual one). */
const clockNow = () => performance.now();

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * Times `run(R)`, which must enqueue R launches back to back and resolve once the last one's
 * output is on the host. The caller warms up (compiles, checks the output) before calling this.
 * A pilot launch sizes R (a sample lasts ~plan.sampleMs); samples are taken while the budget
 * lasts, at least one: a launch longer than the whole budget gives a single sample (the pilot).
 * @example
 *   const t = await timeLaunches(async (r) => { ...launch r times...; await y.data(); }, planFor(2));
 */
export async function timeLaunches(run: (launches: number) => Promise<void>, plan: TimingPlan, now: () => number = clockNow): Promise<Timing> {
  const start = now();
  await run(1);
  const pilot = Math.max(now() - start, 0.01);
  const launches = Math.max(1, Math.min(plan.maxLaunches, Math.round(plan.sampleMs / pilot)));
  const per: number[] = [];
  // A pilot of one launch is a sample like any other when samples are single launches.
  if (launches === 1) per.push(pilot);
  const wanted = Math.max(1, Math.min(plan.maxSamples, Math.floor(plan.budgetMs / (launches * pilot))));
  while (per.length < wanted && (per.length === 0 || now() - start + launches * pilot <= plan.budgetMs)) {
    const t0 = now();
    await run(launches);
    per.push((now() - t0) / launches);
  }
  return { ms: median(per), minMs: Math.min(...per), samples: per.length, launchesPerSample: launches, samplesMs: per, budgetMs: plan.budgetMs, spentMs: now() - start };
}

/**
 * Times calls of `once` (each resolves when its result is on the host) within `budgetMs`: at
 * least one call, at most `maxSamples`. For whole models, where one call is one sample.
 * @example
 *   const t = await timeCalls(() => forward(), 20_000);
 */
export async function timeCalls(once: () => Promise<unknown>, budgetMs: number, maxSamples = 9, now: () => number = clockNow): Promise<Timing> {
  const start = now();
  const per: number[] = [];
  do {
    const t0 = now();
    await once();
    per.push(now() - t0);
  } while (per.length < maxSamples && now() - start + median(per) <= budgetMs);
  return { ms: median(per), minMs: Math.min(...per), samples: per.length, launchesPerSample: 1, samplesMs: per, budgetMs, spentMs: now() - start };
}

/**
 * Times two calls alternately (a, b, a, b, …) while `budgetMs` lasts (at least `minPairs`, at most
 * `maxPairs`), so that both see the same machine: timed one after the other, a ratio of two
 * medians taken seconds or minutes apart mixes in whatever else the machine did meanwhile.
 * `ratio` is the median of the per-pair ratios a/b.
 * @example
 *   const t = await timePaired(() => camOnce(), () => forwardOnce(), 16_000);   // t.ratio: cam/forward
 */
export async function timePaired(a: () => Promise<unknown>, b: () => Promise<unknown>, budgetMs: number, maxPairs = 9, now: () => number = clockNow, minPairs = 1): Promise<{ a: Timing; b: Timing; ratio: number; ratios: number[] }> {
  const start = now();
  const ta: number[] = [], tb: number[] = [];
  do {
    let t0 = now();
    await a();
    ta.push(now() - t0);
    t0 = now();
    await b();
    tb.push(now() - t0);
  } while (ta.length < minPairs || (ta.length < maxPairs && now() - start + median(ta) + median(tb) <= budgetMs));
  const spent = now() - start;
  const timing = (per: number[]): Timing => ({ ms: median(per), minMs: Math.min(...per), samples: per.length, launchesPerSample: 1, samplesMs: per, budgetMs: budgetMs / 2, spentMs: spent / 2 });
  const ratios = ta.map((x, i) => x / tb[i]!);
  return { a: timing(ta), b: timing(tb), ratio: median(ratios), ratios };
}

/** What a results record keeps of a Timing (samples rounded to 4 significant digits). */
export function timingRecord(t: Timing): { samplesMs: number[]; launchesPerSample: number; budgetS: number; spentS: number } {
  const r = (x: number) => Number(x.toPrecision(4));
  return { samplesMs: t.samplesMs.map(r), launchesPerSample: t.launchesPerSample, budgetS: t.budgetMs / 1000, spentS: r(t.spentMs / 1000) };
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
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * r();
  return out;
}
