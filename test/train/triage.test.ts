// The triage on synthetic histories: each verdict with the numbers that decided it, and the
// thresholds at their boundaries (energy inside 0.5, consecutive-map ρ 0.5).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TRIAGE_THRESHOLDS, triage, triageRecords } from '../../src/train/triage.ts';
import type { CamHistory, ImageRecord } from '../../src/train/recorder.ts';
import { rng } from '../helpers.ts';

const s = suite('train/triage');
const N = 8; // maps are 8×8; the object is the left half (columns 0–3)
const leftHalf = { mask: Uint8Array.from({ length: 64 }, (_, i) => (i % 8 < 4 ? 1 : 0)), height: 8, width: 8 };

/** A map with `inside` of its mass in the left half, shaped by a fixed ramp (so consecutive copies correlate perfectly). */
function split(inside: number, jitter = 0, seed = 1): Float32Array {
  const r = rng(seed);
  const v = new Float32Array(64);
  for (let i = 0; i < 64; i++) {
    const x = i % 8, y = Math.floor(i / 8);
    const w = 1 + 0.1 * y + 0.05 * x + jitter * r();
    v[i] = w * (x < 4 ? inside : 1 - inside);
  }
  // Exact share: rescale each half to its mass.
  let a = 0, b = 0;
  for (let i = 0; i < 64; i++) (i % 8 < 4 ? (a += v[i]!) : (b += v[i]!));
  for (let i = 0; i < 64; i++) v[i] = i % 8 < 4 ? (a ? (v[i]! * inside) / a : 0) : (b ? (v[i]! * (1 - inside)) / b : 0);
  const m = Math.max(...v);
  return v.map((x) => x / m);
}

function rec(top: number[], values: Float32Array, trueClass: number): ImageRecord {
  const probs = [0.7, 0.2, 0.1];
  const k = top.indexOf(trueClass);
  return { top3: top.map((index, j) => ({ index, label: `c${index}`, prob: probs[j]! })), trueProb: k >= 0 ? probs[k]! : 0.01, trueRank: k >= 0 ? k + 1 : 5, map: { height: N, width: N, values } };
}

s('good: right at the end, the same map each epoch, 80 % of its energy on the object', () => {
  const r = [0, 1, 2, 3].map((e) => rec(e < 1 ? [4, 2, 1] : [2, 4, 1], split(0.8), 2));
  const t = triageRecords(r, 2, leftHalf);
  assert.is(t.verdict, 'good', t.reason);
  assert.ok(Math.abs(t.numbers.energyInside! - 0.8) < 1e-6, `energy ${t.numbers.energyInside}`);
  assert.ok(Math.abs(t.numbers.stability! - 1) < 1e-9);
  assert.is(t.numbers.peakShift, 0);
  assert.is(t.numbers.correct, true);
  assert.is(t.numbers.trueTop1Share, 1);
  assert.is(t.numbers.predictionStable, true);
  // One change in the first transition (4 and 2 swap places, same set): turnover 0.
  assert.is(t.numbers.turnover, 0);
  assert.equal(t.thresholds, { ...TRIAGE_THRESHOLDS });
  assert.match(t.reason, /stable/);
});

s('ugly: right and stable, but 20 % of the energy on the object', () => {
  const r = [0, 1, 2].map(() => rec([5, 0, 1], split(0.2), 5));
  const t = triageRecords(r, 5, leftHalf);
  assert.is(t.verdict, 'ugly', t.reason);
  assert.ok(Math.abs(t.numbers.energyInside! - 0.2) < 1e-6);
  assert.is(t.numbers.objectArea, 0.5);
  assert.match(t.reason, /shortcut/);
});

s('bad: the true class never wins; top-3 turnover is measured', () => {
  const tops = [[1, 2, 3], [4, 5, 6], [4, 7, 8], [4, 7, 3]];
  const r = tops.map((top, e) => rec(top, split(0.5, 1, e), 0));
  const t = triageRecords(r, 0, leftHalf);
  assert.is(t.verdict, 'bad', t.reason);
  assert.is(t.numbers.correct, false);
  assert.is(t.numbers.trueTop1Share, 0);
  // New classes in consecutive top-3 sets: 3, then 2, then 1 of 3.
  assert.ok(Math.abs(t.numbers.turnover - 2 / 3) < 1e-12, `turnover ${t.numbers.turnover}`);
  assert.ok(t.numbers.turnover >= TRIAGE_THRESHOLDS.TURNOVER_HIGH);
  assert.match(t.reason, /high/);
});

s('unknown: the prediction holds while the map wanders (unrelated random maps)', () => {
  const r = [0, 1, 2, 3].map((e) => {
    const g = rng(100 + e);
    return rec([3, 1, 2], new Float32Array(64).map(() => g()), 3);
  });
  const t = triageRecords(r, 3, null);
  assert.is(t.verdict, 'unknown', t.reason);
  assert.is(t.numbers.predictionStable, true);
  assert.ok(t.numbers.stability! < 0.5, `ρ ${t.numbers.stability}`);
  assert.is(t.numbers.energyInside, null);
  // Without a region a stable map is good (and says so).
  const stable = triageRecords([0, 1, 2].map(() => rec([3, 1, 2], split(0.1), 3)), 3, null);
  assert.is(stable.verdict, 'good');
  assert.match(stable.reason, /no object region/);
  // A single epoch cannot show stability.
  assert.is(triageRecords([rec([3, 1, 2], split(0.9), 3)], 3, leftHalf).verdict, 'unknown');
});

s('thresholds at their boundaries: energy exactly 0.5 is not ugly, just under is; ρ at the threshold is stable', () => {
  const at = (map: Float32Array) => triageRecords([0, 1, 2].map(() => rec([1, 0, 2], map, 1)), 1, leftHalf);
  const even = at(new Float32Array(64).fill(1)); // exactly half the mass inside; constant maps count as stable
  assert.is(even.numbers.energyInside, 0.5);
  assert.is(even.verdict, 'good', even.reason);
  assert.is(at(split(0.499)).verdict, 'ugly');
  // Two maps whose ρ is known: choose a threshold equal to it, and just above it.
  const a = split(0.8), b = split(0.8, 3, 9);
  const r = [rec([1, 0, 2], a, 1), rec([1, 0, 2], b, 1)];
  const rho = triageRecords(r, 1, leftHalf).numbers.stability!;
  assert.ok(rho > 0 && rho < 1, `ρ ${rho}`);
  assert.is(triageRecords(r, 1, leftHalf, { STABLE_RHO: rho }).verdict, 'good');
  assert.is(triageRecords(r, 1, leftHalf, { STABLE_RHO: rho + 1e-9 }).verdict, 'unknown');
  // The window: an early wrong epoch outside the last three does not count.
  const late = [rec([0, 1, 2], a, 1), rec([1, 0, 2], a, 1), rec([1, 0, 2], a, 1), rec([1, 0, 2], a, 1)];
  assert.is(triageRecords(late, 1, leftHalf).numbers.trueTop1Share, 1);
  assert.is(triageRecords(late, 1, leftHalf, { LAST_EPOCHS: 4 }).numbers.trueTop1Share, 0.75);
});

s('triage(history) per tracked image, with regions', () => {
  const h: CamHistory = {
    method: 'gradcam', layer: null, classNames: ['a', 'b'], display: [],
    tracked: [{ name: 'x', trueClass: 0, trueLabel: 'a', region: leftHalf }, { name: 'y', trueClass: 1, trueLabel: 'b', region: leftHalf }],
    epochs: [0, 1, 2].map((e) => ({ epoch: e, ms: 0, images: [rec([0, 1], split(0.9), 0), rec([0, 1], split(0.9), 1)] })),
  };
  assert.equal(triage(h).map((t) => t.verdict), ['good', 'bad']);
});

s.run();
