// The soak bench's flatness check (bench/soak.ts flat()): a noisy flat series passes, a steady
// leak fails, one garbage-collection spike in the last quarter does not decide (medians).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { flat } from '../../bench/soak.ts';

const s = suite('bench/soak');

s('flat(): noisy but flat RSS passes; the quarters are medians of the second and last quarters', () => {
  // 40 samples around 310 MiB, ±20 MiB of deterministic noise.
  const series = Array.from({ length: 40 }, (_, i) => 310 + 20 * Math.sin(i * 2.3));
  const f = flat(series);
  assert.ok(f.ok, JSON.stringify(f));
  const sorted = series.slice(10, 20).sort((a, b) => a - b);
  assert.ok(Math.abs(f.early - (sorted[4]! + sorted[5]!) / 2) < 1e-9, 'early = median of samples 10–19');
});

s('flat(): a steady leak fails (control); the sensitivity is 10 % + 2 MiB between the quarters', () => {
  // 4 MiB per sample over 40 samples: quarter medians 358 and 438 MiB (+22 %).
  const g = flat(Array.from({ length: 40 }, (_, i) => 300 + 4 * i));
  assert.not.ok(g.ok, JSON.stringify(g));
  // The GPU pool: a 2 MiB buffer kept per sample from 5 MiB is caught.
  assert.not.ok(flat(Array.from({ length: 20 }, (_, i) => 5 + 2 * i)).ok);
  // 1 MiB per sample: medians 314.5 and 334.5 MiB (+6.4 %, under 314.5 × 1.1 + 2): below what the check resolves.
  assert.ok(flat(Array.from({ length: 40 }, (_, i) => 300 + i)).ok);
});

s('flat(): one spike (a GC pause) in the last quarter does not fail the run', () => {
  const series = Array.from({ length: 40 }, () => 300);
  series[38] = 450;
  assert.ok(flat(series).ok);
});

s.run();
