// Waiting for the GPU without eating the CPU it runs on. While a Dawn promise (mapAsync,
// onSubmittedWorkDone) is pending, the Node binding polls on the main thread; on lavapipe,
// where the "GPU" is the same two cores, that spin halves throughput (PERF.md, item 8). So a
// wait first sleeps on a timer for most of the expected time, calibrated from how long past
// work took per unit of submitted cost, and only then awaits the promise.

const now = (): number => (globalThis.performance ?? Date).now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export class Waiter {
  mode: 'sleep' | 'spin' = 'sleep';
  /** Cost (flops or bytes) submitted since the last completed wait. */
  private work = 0;
  /** When the first submission after the last completed wait happened. */
  private since = -1;
  /** Calibrated milliseconds per unit of cost; 0 until first measured. */
  private msPerUnit = 0;
  /** Fraction of the estimate to sleep: under 1 so that a good estimate rarely oversleeps. */
  private readonly fraction = 0.8;

  addWork(cost: number): void {
    this.work += cost;
  }

  submitted(): void {
    if (this.since < 0) this.since = now();
  }

  /** Milliseconds the current wait will sleep before polling (for the bench to report). */
  estimateMs(): number {
    return this.msPerUnit * this.work;
  }

  async wait<T>(poll: () => Promise<T>): Promise<T> {
    const start = this.since < 0 ? now() : this.since;
    const work = this.work;
    if (this.mode === 'sleep' && this.msPerUnit > 0) {
      const remaining = this.fraction * this.msPerUnit * work - (now() - start);
      if (remaining > 2) await sleep(remaining);
    }
    const r = await poll();
    const elapsed = now() - start;
    // Learn only from waits large enough to measure, as an exponential moving average.
    if (work > 0 && elapsed > 5) {
      const rate = elapsed / work;
      this.msPerUnit = this.msPerUnit ? 0.5 * this.msPerUnit + 0.5 * rate : rate;
    }
    this.work = 0;
    this.since = -1;
    return r;
  }
}
