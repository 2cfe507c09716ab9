// The waiter's learnt rate: polled time counts at spinThroughput of its length (on CPU adapters
// the poll slows the GPU it waits for), so a window that polled throughout does not make the
// next wait oversleep; on real GPUs (spinThroughput 1) the rate is the plain elapsed / work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { napAvailable, Waiter } from '../../src/gpu/wait.ts';

const s = suite('gpu/wait');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const WORK = 1e8;

/** One window: `work` submitted now, a poll that stays busy for `ms`. */
async function window(w: Waiter, ms: number): Promise<void> {
  w.addWork(WORK);
  w.submitted();
  await w.wait(() => (ms > 0 ? sleep(ms) : Promise.resolve()));
}

for (const spin of [1, 0.75, 0.5]) {
  s(`a window polled throughout teaches (elapsed − polled·(1 − ${spin})) / work`, async () => {
    const w = new Waiter();
    w.spinThroughput = spin;
    assert.is(w.rate(), 0);
    await window(w, 200);
    // 200 ms polled ≈ 200·spin ms unpolled; timers may fire a few ms late.
    const ms = w.rate() * WORK;
    assert.ok(ms >= 200 * spin - 2 && ms <= 200 * spin + 40, `learnt ${ms.toFixed(1)} ms for 200 ms polled at ${spin}`);
    // The next wait sleeps 0.85 of that estimate before polling.
    const before = w.sleptMs;
    await window(w, 400);
    const slept = w.sleptMs - before;
    assert.ok(Math.abs(slept - 0.85 * ms) < 15, `slept ${slept.toFixed(1)} ms, estimate ${ms.toFixed(1)} ms`);
  });
}

s('a stale, too long estimate halves with every wait that finds the GPU already done', async () => {
  const w = new Waiter();
  await window(w, 200); // learns ≈ 200 ms for WORK
  const learnt = w.rate();
  // The GPU now finishes at once: each wait sleeps its estimate, the poll resolves immediately.
  const sleeps: number[] = [];
  for (let i = 0; i < 3; i++) {
    const before = w.sleptMs;
    await window(w, 0);
    sleeps.push(w.sleptMs - before);
  }
  assert.ok(Math.abs(w.rate() - learnt / 8) < 1e-12, `rate ${w.rate()} after 3 oversleeps, learnt ${learnt}`);
  for (let i = 1; i < 3; i++) assert.ok(Math.abs(sleeps[i]! - sleeps[i - 1]! / 2) < 6, `sleeps ${sleeps.map((x) => x.toFixed(1)).join(', ')} ms`);
});

s('spin mode never sleeps, whatever it learnt', async () => {
  const w = new Waiter();
  w.mode = 'spin';
  await window(w, 50);
  await window(w, 50);
  assert.is(w.sleptMs, 0);
  assert.ok(w.rate() > 0);
});

s("nap mode ends within a nap of the poll settling, polls once per nap and learns nothing", async () => {
  assert.ok(napAvailable(), 'Node has Atomics.wait on the main thread and setImmediate');
  const w = new Waiter();
  w.mode = 'nap';
  for (const ms of [0, 30, 120]) {
    w.addWork(WORK);
    w.submitted();
    const naps = w.naps;
    const t0 = performance.now();
    await w.wait(() => sleep(ms));
    const took = performance.now() - t0;
    // A timer fires ≥ ms late by a few ms; one nap (≤ 1 ms) more at most, plus the turn.
    assert.ok(took >= ms - 1 && took <= ms + 8, `poll settled after ${ms} ms, wait took ${took.toFixed(1)} ms`);
    // One poll per nap: at least one nap, at most one per 0.05 ms doubling up to 1 ms, i.e.
    // ≈ ms + 5 for a wait of ms; far fewer than a spin's turns.
    const n = w.naps - naps;
    assert.ok(n >= 1 && n <= ms + 8, `${n} naps for a ${ms} ms wait`);
  }
  assert.is(w.rate(), 0, 'no rate learnt in nap mode');
});

s('nap mode passes a rejected poll on', async () => {
  const w = new Waiter();
  w.mode = 'nap';
  try {
    await w.wait(() => sleep(5).then(() => Promise.reject(new Error('device lost'))));
    assert.unreachable('the rejection must reach the caller');
  } catch (e) {
    assert.is((e as Error).message, 'device lost');
  }
});

s.run();
