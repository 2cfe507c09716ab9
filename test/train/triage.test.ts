// The triage on synthetic histories: each verdict with the numbers that decided it, checked
// against values worked out on the host (a two-level map's density ratio is its level ratio; a
// flat map's energy inside is the region's area), and the thresholds at their boundaries.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { TRIAGE_THRESHOLDS, triage, triageRecords } from '../../src/train/triage.ts';
import { densityRatio, focusOf } from '../../src/train/triage-focus.ts';
import type { OcclusionProbe } from '../../src/train/occlusion.ts';
import type { CamHistory, ImageRecord } from '../../src/train/recorder.ts';
import { rng } from '../helpers.ts';

const s = suite('train/triage');
const N = 8; // maps and regions are 8×8, so no resampling stands between a map and its region
const region = (inside: (y: number, x: number) => boolean) => ({ mask: Uint8Array.from({ length: 64 }, (_, i) => (inside(Math.floor(i / 8), i % 8) ? 1 : 0)), height: 8, width: 8 });
const leftHalf = region((_, x) => x < 4);
/** A small object: the central 2×2 block (area 4/64). */
const small = region((y, x) => y >= 3 && y < 5 && x >= 3 && x < 5);
/** A large object: the central 6×6 block (area 36/64); the border ring is the rest. */
const large = region((y, x) => y >= 1 && y < 7 && x >= 1 && x < 7);
const ring = region((y, x) => !(y >= 1 && y < 7 && x >= 1 && x < 7));

/** A map of level `hi` on the region and `lo` elsewhere. */
function twoLevel(r: { mask: Uint8Array }, hi: number, lo: number): Float32Array {
  return Float32Array.from(r.mask, (m) => (m ? hi : lo));
}

function rec(top: number[], values: Float32Array, trueClass: number): ImageRecord {
  const probs = [0.7, 0.2, 0.1];
  const k = top.indexOf(trueClass);
  return { top3: top.map((index, j) => ({ index, label: `c${index}`, prob: probs[j]! })), trueProb: k >= 0 ? probs[k]! : 0.01, trueRank: k >= 0 ? k + 1 : 5, map: { height: N, width: N, values } };
}
/** Epoch 0 (untrained) then `trained` epochs with the same map, right at the end. */
const history = (map: Float32Array, trained = 3, cls = 2) => [rec([4, 1, 0], twoLevel(leftHalf, 1, 0.2), cls), ...Array.from({ length: trained }, () => rec([cls, 4, 1], map, cls))];
const epochs = (trained = 3) => Array.from({ length: trained + 1 }, (_, e) => e);
const probe = (o: Partial<OcclusionProbe>): OcclusionProbe => ({ pFull: 0.9, pNoObject: 0.05, top1NoObject: false, pNoCue: 0.88, pBlank: 0.04, top1Blank: false, background: [0], ...o });

s('a flat map scores exactly the area (density ratio 1) and is unknown, never ugly', () => {
  for (const r of [small, large, leftHalf]) {
    const f = focusOf([{ height: 8, width: 8, values: new Float32Array(64).fill(0.4) }], r);
    assert.ok(Math.abs(f.energy - f.area) < 1e-12, `energy ${f.energy} vs area ${f.area}`);
    assert.ok(Math.abs(f.ratio! - 1) < 1e-9);
  }
  const t = triageRecords(history(new Float32Array(64).fill(0.4)), 2, small, { epochs: epochs(), cue: ring });
  assert.is(t.verdict, 'unknown', t.reason);
  assert.is(t.rule, 'empty-map');
  assert.is(t.numbers.emptyMap, 'flat');
  assert.match(t.reason, /flat/);
});

s('an all-zero map on a correct image is unknown, not ugly, even with a cue known and a failing probe', () => {
  const t = triageRecords(history(new Float32Array(64)), 2, large, { epochs: epochs(), cue: ring, probe: probe({ pNoCue: 0.01 }) });
  assert.is(t.verdict, 'unknown', t.reason);
  assert.is(t.numbers.emptyMap, 'zero');
  assert.match(t.reason, /all zero/);
});

s('good: a small object (area 1/16) with a map focused on it; ratio = the map\'s level ratio', () => {
  const t = triageRecords(history(twoLevel(small, 1, 0.05)), 2, small, { epochs: epochs(), probe: probe({}) });
  assert.is(t.verdict, 'good', t.reason);
  assert.is(t.numbers.objectArea, 4 / 64);
  // Host formula: energy = 4·1 / (4·1 + 60·0.05) = 4/7; density ratio = 1 / 0.05 = 20.
  assert.ok(Math.abs(t.numbers.energyInside! - 4 / 7) < 1e-6, `energy ${t.numbers.energyInside}`);
  assert.ok(Math.abs(t.numbers.objectRatio! - 20) < 1e-4, `ratio ${t.numbers.objectRatio}`);
  assert.is(t.numbers.stability, 1);
  // The old rule (energy inside < 0.5 → ugly) would have called 4/7 fine, but a 3/7 map on a
  // 1/16 object is 11× chance: still good.
  const t2 = triageRecords(history(twoLevel(small, 1, 0.0886)), 2, small, { epochs: epochs() });
  assert.ok(t2.numbers.energyInside! < 0.5);
  assert.is(t2.verdict, 'good', t2.reason);
});

s('ugly: a large object (area 36/64) with the map on the border around it', () => {
  const t = triageRecords(history(twoLevel(ring, 1, 0.02)), 2, large, { epochs: epochs() });
  assert.is(t.verdict, 'ugly', t.reason);
  assert.is(t.rule, 'avoids-object');
  assert.ok(Math.abs(t.numbers.objectRatio! - 0.02) < 1e-6, `ratio ${t.numbers.objectRatio}`);
  // The framed coat: 0.6 of the energy inside a 0.6-area coat looked "good" under the old
  // rule; it is a flat-map score (ratio 1), so unknown from the map alone ...
  const coat = region((y, x) => y >= 1 && y < 7 && x >= 1 && x < 7);
  const even = triageRecords(history(twoLevel(coat, 1, 0.78)), 2, coat, { epochs: epochs() });
  assert.ok(Math.abs(even.numbers.objectRatio! - 1 / 0.78) < 1e-4);
  assert.is(even.verdict, 'unknown', even.reason);
  assert.is(even.rule, 'chance');
  // ... and ugly once the occlusion check shows the model falls without the cue.
  const causal = triageRecords(history(twoLevel(coat, 1, 0.78)), 2, coat, { epochs: epochs(), cue: ring, probe: probe({ pFull: 0.95, pNoCue: 0.01 }) });
  assert.is(causal.verdict, 'ugly', causal.reason);
  assert.is(causal.rule, 'cue-removal');
});

s('a map off the object while the model needs the object is unknown (the map is off, not the model)', () => {
  const off = triageRecords(history(twoLevel(ring, 1, 0.02)), 2, large, { epochs: epochs(), probe: probe({ pFull: 0.9, pNoObject: 0.1 }) });
  assert.is(off.verdict, 'unknown', off.reason);
  assert.is(off.rule, 'map-contradicted');
  assert.match(off.reason, /0\.90 to 0\.10/);
  // Removing the object costs less than half, the cue nothing: the check finds no shortcut and
  // does not confirm the map either; only without any check does the map alone decide (ugly).
  const unconfirmed = triageRecords(history(twoLevel(ring, 1, 0.02)), 2, large, { epochs: epochs(), probe: probe({ pFull: 0.9, pNoObject: 0.46 }) });
  assert.is(unconfirmed.verdict, 'unknown', unconfirmed.reason);
  assert.is(unconfirmed.rule, 'map-unconfirmed');
  assert.is(triageRecords(history(twoLevel(ring, 1, 0.02)), 2, large, { epochs: epochs() }).rule, 'avoids-object');
  // The model needs the object and the map is above chance (ratio 1.5 < GOOD_RATIO): good, for the causal reason.
  const needs = triageRecords(history(twoLevel(leftHalf, 1, 2 / 3)), 2, leftHalf, { epochs: epochs(), cue: ring, probe: probe({}) });
  assert.is(needs.verdict, 'good', needs.reason);
  assert.is(needs.rule, 'needs-object');
  // ... but not when the blank image is called this class too (removal proves nothing).
  assert.is(triageRecords(history(twoLevel(leftHalf, 1, 2 / 3)), 2, leftHalf, { epochs: epochs(), probe: probe({ top1Blank: true }) }).rule, 'chance');
});

s('the issue\'s clean trousers: energy inside 0.30 on an object of area 0.30 is chance, not a shortcut', () => {
  // Object: the left 30 % of cells by count is not exact on 8×8; use 19 cells (0.297) and a flat-ish ramp.
  const obj = region((y, x) => y * 8 + x < 19);
  const map = Float32Array.from({ length: 64 }, (_, i) => 0.5 + 0.5 * ((i * 37) % 64) / 64);
  const t = triageRecords(history(map), 2, obj, { epochs: epochs(), cue: ring, probe: probe({}) });
  assert.ok(Math.abs(t.numbers.objectRatio! - 1) < 0.35, `ratio ${t.numbers.objectRatio}`);
  assert.is.not(t.verdict, 'ugly', t.reason);
});

s('a two-epoch history (epoch 0 + one trained epoch): unknown; the window never holds epoch 0', () => {
  const t = triageRecords(history(twoLevel(small, 1, 0.05), 1), 2, small, { epochs: epochs(1) });
  assert.is(t.verdict, 'unknown', t.reason);
  assert.is(t.rule, 'few-epochs');
  assert.equal(t.numbers.window, [1]);
  assert.is(t.numbers.trainedEpochs, 1);
  // Three records (0, 1, 2): window [1, 2]; epoch 0's different map does not lower the stability.
  const t3 = triageRecords(history(twoLevel(small, 1, 0.05), 2), 2, small, { epochs: epochs(2) });
  assert.equal(t3.numbers.window, [1, 2]);
  assert.is(t3.numbers.stability, 1);
  assert.is(t3.verdict, 'good', t3.reason);
  // Only the untrained frame: nothing to judge.
  assert.is(triageRecords([rec([2, 1, 0], twoLevel(small, 1, 0.05), 2)], 2, small, { epochs: [0] }).rule, 'no-trained-epoch');
  // Without epoch numbers, records count as trained epochs; LAST_EPOCHS bounds the window.
  assert.equal(triageRecords(history(twoLevel(small, 1, 0.05), 5), 2, small, {}).numbers.window, [4, 5, 6]);
});

s('causal: falls without the cue → ugly; stays right without the object → ugly unless the blank image is also that class', () => {
  const map = twoLevel(small, 1, 0.05); // a map that looks good: the probe decides
  const at = (p: Partial<OcclusionProbe>) => triageRecords(history(map), 2, small, { epochs: epochs(), cue: ring, probe: probe(p) });
  assert.is(at({ pFull: 0.8, pNoCue: 0.4 }).rule, 'cue-removal'); // exactly CUE_DROP × pFull
  assert.is(at({ pFull: 0.8, pNoCue: 0.41 }).verdict, 'good');
  const kept = at({ pNoObject: 0.7, top1NoObject: true, pBlank: 0.1, top1Blank: false });
  assert.is(kept.rule, 'object-removal', kept.reason);
  assert.match(kept.reason, /blank/);
  // The model calls an empty image this class anyway: removing the object proves nothing.
  assert.is(at({ pNoObject: 0.7, top1NoObject: true, pBlank: 0.6, top1Blank: true }).verdict, 'good');
  assert.is(at({ pNoObject: 0.49, top1NoObject: true }).verdict, 'good'); // under KEEP_PROB
});

s('bad: the true class never wins; top-3 turnover is measured', () => {
  const tops = [[1, 2, 3], [4, 5, 6], [4, 7, 8], [4, 7, 3]];
  const r = tops.map((top, e) => rec(top, twoLevel(leftHalf, 1, 0.1 * e), 0));
  const t = triageRecords(r, 0, leftHalf, { epochs: [0, 1, 2, 3] });
  assert.is(t.verdict, 'bad', t.reason);
  assert.is(t.numbers.trueTop1Share, 0);
  // New classes in consecutive top-3 sets: 3, then 2, then 1 of 3.
  assert.ok(Math.abs(t.numbers.turnover - 2 / 3) < 1e-12, `turnover ${t.numbers.turnover}`);
  assert.match(t.reason, /high/);
});

s('unknown: the prediction holds while the map wanders (unrelated random maps)', () => {
  const r = [0, 1, 2, 3].map((e) => {
    const g = rng(100 + e);
    return rec([3, 1, 2], new Float32Array(64).map(() => g()), 3);
  });
  const t = triageRecords(r, 3, leftHalf, { epochs: [0, 1, 2, 3] });
  assert.is(t.verdict, 'unknown', t.reason);
  assert.is(t.rule, 'unstable');
  assert.ok(t.numbers.stability! < TRIAGE_THRESHOLDS.STABLE_RHO, `ρ ${t.numbers.stability}`);
  // Without a region a stable map is unknown too, and says why.
  const noRegion = triageRecords(history(twoLevel(small, 1, 0.05)), 2, null, { epochs: epochs() });
  assert.is(noRegion.rule, 'no-region');
});

s('thresholds at their boundaries: density ratio just over 2 is good, just under 0.5 ugly; the cue rule needs no extra on the object', () => {
  // Two-level maps: the ratio equals hi/lo exactly.
  const at = (hi: number, lo: number, o = {}) => triageRecords(history(twoLevel(leftHalf, hi, lo)), 2, leftHalf, { epochs: epochs(), ...o });
  assert.ok(Math.abs(densityRatio(2 / 3, 0.5)! - 2) < 1e-12);
  assert.is(at(1, 0.499).verdict, 'good');
  assert.is(at(1, 0.51).verdict, 'unknown');
  assert.is(at(0.499, 1).verdict, 'ugly');
  assert.is(at(0.51, 1).verdict, 'unknown');
  // The cue: half the right half (16 cells); a map three times denser there, object at chance.
  const cue = region((y, x) => x >= 4 && y < 4);
  const map = Float32Array.from({ length: 64 }, (_, i) => (cue.mask[i] ? 1 : 1 / 3));
  const onCue = triageRecords(history(map), 2, region((_, x) => x < 4), { epochs: epochs(), cue });
  assert.ok(onCue.numbers.cueRatio! >= TRIAGE_THRESHOLDS.CUE_RATIO, `cue ratio ${onCue.numbers.cueRatio}`);
  assert.is(onCue.rule, 'on-cue', onCue.reason);
  const thresholds = { CUE_RATIO: onCue.numbers.cueRatio! + 1e-6 };
  assert.is(triageRecords(history(map), 2, region((_, x) => x < 4), { epochs: epochs(), cue, thresholds }).verdict, 'unknown');
});

s('triage(history): epochs from the history, cue regions from the tracked images, one probe per image', () => {
  const h: CamHistory = {
    method: 'gradcam', layer: null, classNames: ['a', 'b'], display: [],
    tracked: [{ name: 'x', trueClass: 0, trueLabel: 'a', region: small, cue: ring }, { name: 'y', trueClass: 1, trueLabel: 'b', region: small }, { name: 'z', trueClass: 0, trueLabel: 'a', region: small, cue: ring }],
    epochs: [0, 1, 2].map((e) => ({ epoch: e, ms: 0, images: [0, 1, 0].map((c) => rec([0, 1], twoLevel(small, 1, 0.05), c)) })),
  };
  const t = triage(h, { probes: [probe({}), null, probe({ pNoCue: 0.1 })] });
  assert.equal(t.map((x) => x.verdict), ['good', 'bad', 'ugly']);
  assert.equal(t[0]!.numbers.window, [1, 2]);
  assert.ok(t[0]!.numbers.cueRatio !== null);
  assert.is(t[1]!.numbers.cueRatio, null);
});

s.run();
