// The progress line every suite prints after each measurement: how far it is, how long it has
// run and about how long is left, so that a 10-minute suite never looks hung.

const clock = (ms: number) => {
  const s = Math.max(0, Math.round(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

export class Progress {
  private done = 0;
  private doneWeight = 0;

  /**
   * @param weights one entry per planned measurement: its expected share of the time (e.g. 1
   *   each, or the budget plus a known slow check); the remaining time is the elapsed time scaled
   *   by the weight still to go.
   * @param t0 when the suite started (performance.now()), so that set-up before the first
   *   measurement counts as elapsed time
   * @example
   *   const p = new Progress([1, 1, 3]); p.step('camlight conv2d 56²: 23 GFLOP/s');
   */
  constructor(
    private readonly weights: number[],
    private readonly print: (line: string) => void = console.log,
    private readonly t0 = performance.now(),
  ) {}

  get total(): number {
    return this.weights.length;
  }

  /** Elapsed ms since the progress started. */
  elapsedMs(): number {
    return performance.now() - this.t0;
  }

  /** Estimated ms left: elapsed × weight to go / weight done (null before the first step). */
  remainingMs(): number | null {
    if (!this.doneWeight) return null;
    const left = this.weights.slice(this.done).reduce((a, w) => a + w, 0);
    return (this.elapsedMs() * left) / this.doneWeight;
  }

  /** Marks the next measurement done and prints `[k/N 1:23 elapsed, ~4:56 left] text`. */
  step(text: string): void {
    this.doneWeight += this.weights[this.done] ?? 0;
    this.done = Math.min(this.done + 1, this.weights.length);
    const left = this.remainingMs();
    this.print(`[${this.done}/${this.total} ${clock(this.elapsedMs())} elapsed, ~${left == null ? '?' : clock(left)} left] ${text}`);
  }
}
