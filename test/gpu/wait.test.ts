// The waiter's learnt rate: polled time counts at spinThroughput of its length (on CPU adapters
// the poll slows the GPU it waits for), so a window that polled throughout does not make the
// next wait oversleep; on real GPUs (spinThroughput 1) the rate is the plain elapsed / work.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Waiter } from '../../src/gpu/wait.ts';

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

s.run();
