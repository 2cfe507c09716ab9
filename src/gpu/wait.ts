// Waiting for the GPU without eating the CPU it runs on. While a Dawn promise (mapAsync,
// onSubmittedWorkDone) is pending, the Node binding polls on the main thread; on lavapipe,
// where the "GPU" is the same two cores, that spin halves throughput (PERF.md, item 8). So a
// wait first sleeps on a timer for most of the expected time, then awaits the promise.
//
// The expected time is cost × (ms per unit of cost), learnt from earlier waits. A wait only
// teaches when the GPU was still busy as the poll began (the poll took a while), since only
// then does "first submit → resolved" measure the GPU's time rather than the host's; batches
// that compiled a pipeline or carried little work teach nothing. A poll that resolves at once
// after a sleep means the sleep may have been too long, so the rate is cut. Overheads only ever
// make an observed rate too high, so estimates use the lowest recent rate, and no sleep
// exceeds twice the longest wait seen.
//
// Where the GPU is the host's own cores (lavapipe), the time spent polling ran the GPU slower
// than a sleep would have: a window that polled throughout (the first, before any rate is
// known) would teach a rate that makes the following waits sleep past the GPU's end by seconds
// (bench/NOTES.md, "Profile"). So polled time counts at `spinThroughput` of its length.
//
// Better still, where the host allows it ('nap' mode, the default on CPU adapters in Node):
// no estimate at all. The thread blocks in Atomics.wait for a nap of at most NAP_MAX_MS, then
// yields one event-loop turn so that the binding's poll (a setImmediate tick) runs once, and
// so on until the promise resolves. The poll then costs ≈ 0.1 % of a core instead of all of
// one, and the wait ends at most one nap after the GPU does. Idle lavapipe, InceptionV3 299²
// batch-1 forward, alternating with 'sleep': 828 ms against 1106 (median of 10 pairs;
// bench/NOTES.md, "Waiting in naps").

const now = (): number => (globalThis.performance ?? Date).now();
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Below this cost (flops or bytes) a batch's duration is mostly overhead: do not learn from it. */
const MIN_LEARN_COST = 5e6;
const RECENT = 8;
/** Factor on the learnt rates after a wait whose poll found the GPU already done. */
const OVERSLEPT_CUT = 0.5;
/** 'nap' mode: the first nap, and the longest (each nap doubles the last): ≤ 1 ms late. */
const NAP_FIRST_MS = 0.05;
const NAP_MAX_MS = 1;

/** How a wait spends the GPU's time: see the file comment. */
export type WaitMode = 'sleep' | 'spin' | 'nap';

const setImmediateFn = (globalThis as { setImmediate?: (f: () => void) => unknown }).setImmediate;

/**
 * Whether 'nap' mode works here: a thread that may block in Atomics.wait (Node, Deno, workers;
 * a browser's main thread may not) and a setImmediate to yield one event-loop turn (Node's
 * check phase, where Dawn's Node binding polls its events).
 */
export function napAvailable(): boolean {
  if (typeof SharedArrayBuffer !== 'function' || typeof setImmediateFn !== 'function') return false;
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}

export class Waiter {
  mode: WaitMode = 'sleep';
  /** Cost (flops or bytes) submitted since the last completed wait. */
  private work = 0;
  /** When the first submission after the last completed wait happened. */
  private since = -1;
  /** The current window compiled a pipeline, so its timing says little about throughput. */
  private tainted = false;
  private rates: number[] = [];
  private longestMs = 0;
  /** Fraction of the estimate to sleep: under 1 so that a good estimate rarely oversleeps. */
  private readonly fraction = 0.85;
  /** Total milliseconds slept ('sleep') or napped ('nap'), for the bench to report. */
  sleptMs = 0;
  /** 'nap' mode: polls made (one per nap). */
  naps = 0;
  private cell: Int32Array | null = null;
  /**
   * Fraction of its speed the GPU keeps while the host polls: 1 on real GPUs; on CPU adapters
   * the poll takes one of the cores lavapipe runs on. PERF.md item 8 measured one InceptionV3
   * forward at 4.2 s polling vs 3.1 s sleeping first: ≈ 0.75.
   */
  spinThroughput = 1;

  addWork(cost: number): void {
    this.work += cost;
  }

  /** Marks the current window as including a pipeline compile. */
  compiled(): void {
    this.tainted = true;
  }

  submitted(): void {
    if (this.since < 0) this.since = now();
  }

  /** Milliseconds per unit of cost that estimates use now (0 until learnt). */
  rate(): number {
    return this.rates.length ? Math.min(...this.rates) : 0;
  }

  async wait<T>(poll: () => Promise<T>): Promise<T> {
    if (this.mode === 'nap') return this.napUntil(poll);
    const start = this.since < 0 ? now() : this.since;
    const work = this.work;
    const rate = this.rate();
    let slept = false;
    if (this.mode === 'sleep' && rate > 0) {
      const remaining = Math.min(this.fraction * rate * work, 2 * this.longestMs) - (now() - start);
      if (remaining > 2) {
        await sleep(remaining);
        this.sleptMs += remaining;
        slept = true;
      }
    }
    const pollStart = now();
    const r = await poll();
    const end = now();
    const elapsed = end - start;
    const busyAtPoll = end - pollStart > 1;
    if (busyAtPoll && !this.tainted && work >= MIN_LEARN_COST) {
      // The polled part, as the time it would have taken without the poll.
      const unpolled = elapsed - (end - pollStart) * (1 - this.spinThroughput);
      this.rates.push(unpolled / work);
      if (this.rates.length > RECENT) this.rates.shift();
      this.longestMs = Math.max(this.longestMs, elapsed);
    } else if (!busyAtPoll && slept) {
      // Finished before we looked: overslept by an unknown amount. Halve the estimates: an
      // oversleep wastes all of its excess, an undersleep only the poll's cost of the rest (and
      // the next busy poll teaches the rate again). Cutting by 0.8 took 7 waits to come down 4×
      // from a stale rate, each wait sleeping 1.25× the next (bench/NOTES.md, "Grad-CAM / forward").
      this.rates = this.rates.map((x) => x * OVERSLEPT_CUT);
    }
    this.work = 0;
    this.since = -1;
    this.tainted = false;
    return r;
  }

  /** 'nap' mode: block for a nap, let the binding poll once, repeat until `poll` settles. */
  private async napUntil<T>(poll: () => Promise<T>): Promise<T> {
    this.work = 0;
    this.since = -1;
    this.tainted = false;
    if (!setImmediateFn) throw new Error("wait mode 'nap' needs setImmediate and Atomics.wait (Node); use 'sleep' here");
    const cell = (this.cell ??= new Int32Array(new SharedArrayBuffer(4)));
    let settled = false;
    const p = poll().finally(() => {
      settled = true;
    });
    // Handled: returned below once settled; until then a rejection is not "unhandled".
    p.catch(() => undefined);
    let nap = NAP_FIRST_MS;
    while (!settled) {
      // Nothing ever notifies the cell: this is a timed, CPU-free block of the thread.
      Atomics.wait(cell, 0, 0, nap);
      this.sleptMs += nap;
      this.naps++;
      nap = Math.min(NAP_MAX_MS, 2 * nap);
      await new Promise<void>((r) => setImmediateFn(r));
    }
    return p;
  }
}
