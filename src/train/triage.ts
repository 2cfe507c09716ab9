// Triage of tracked images, as the seed sorts its animations: good (right, looking at the object),
// bad (wrong), ugly (right for the wrong reason: the red TV frame around Krusty) and unknown (what
// the evidence cannot decide). Two kinds of evidence: the CAM's focus measured against chance
// (triage-focus.ts) and a causal occlusion check that needs no CAM (occlusion.ts).
import { spearman, type Region } from '../cam/metrics/index.ts';
import type { OcclusionProbe } from './occlusion.ts';
import type { CamHistory, ImageRecord } from './recorder.ts';
import { focusOf, mapEmptiness, type Focus } from './triage-focus.ts';

export type Verdict = 'good' | 'bad' | 'ugly' | 'unknown';

/**
 * The thresholds, fixed before the bench (bench/triage.ts) was run and printed by the report.
 * - LAST_EPOCHS 3: the window is the last three recorded epochs AFTER training began (epoch 0,
 *   the untrained model's frame, never counts): long enough for a trend, recent enough to be
 *   what the model ended up doing.
 * - MIN_EPOCHS 2: stability needs two maps; with one trained epoch the verdict is unknown.
 * - FLAT_SPREAD 0.05: a map whose max − min is under 5 % of its max (or whose max is 0) has no
 *   spatial information; the focus of such a map is its area by construction, not a finding.
 * - STABLE_RHO 0.5: mean Spearman ρ between consecutive maps in the window. For two unrelated
 *   7×7 maps ρ ≈ 0 ± 0.14 (1/√48), so 0.5 is ~3.5σ above chance.
 * - GOOD_RATIO 2 / OFF_RATIO 0.5: the map's energy density inside the object over its density
 *   outside (1 = a flat map, whatever the object's size). Good needs twice the density on the
 *   object; ugly needs the map to AVOID the object, half the density of the rest; in between the
 *   map says no more than a flat map would (unknown). A factor 2 either way, symmetric in log.
 * - CUE_RATIO 2: where the cue's region is known, a map at least twice as dense on the cue as
 *   elsewhere AND no denser on the object than chance looks at the cue.
 * - CUE_DROP 0.5: removing the cue costs more than half the true class's probability: the model
 *   "loses most of its probability" without it, the bench's definition of relying on a cue. The
 *   same factor says the model needs the object (removing it costs more than half), which
 *   overrules a map that points elsewhere: off-object Grad-CAM maps of clean models whose
 *   prediction collapses without the object were 27 % of the first (seed 1) bench run's correct
 *   clean images, so a map alone calls an image ugly only when no occlusion check was run; with
 *   one, ugly needs the check's evidence (the map is then reported, not deciding).
 * - KEEP_PROB 0.5: with the object removed the true class is still top-1 with p ≥ 0.5 (and the
 *   blank image, object and cue both removed, is not called that class): what is left is enough.
 * - TURNOVER_HIGH 0.5: mean share of the top-3 replaced between consecutive epochs; over half is
 *   the seed's "rapid turnover" (reported for bad images, not deciding).
 */
export const TRIAGE_THRESHOLDS = {
  LAST_EPOCHS: 3,
  MIN_EPOCHS: 2,
  FLAT_SPREAD: 0.05,
  STABLE_RHO: 0.5,
  GOOD_RATIO: 2,
  OFF_RATIO: 0.5,
  CUE_RATIO: 2,
  CUE_DROP: 0.5,
  KEEP_PROB: 0.5,
  TURNOVER_HIGH: 0.5,
} as const;

export type TriageThresholds = { -readonly [K in keyof typeof TRIAGE_THRESHOLDS]: number };

/** The numbers behind a verdict. */
export interface TriageNumbers {
  /** Recorded epochs, and those after training began (the window is taken from these). */
  epochs: number;
  trainedEpochs: number;
  /** Epoch numbers of the window. */
  window: number[];
  /** Top-1 is the true class at the last epoch. */
  correct: boolean;
  finalTop1: number;
  /** The true class's probability at the last epoch (null: past the classes read back). */
  trueProb: number | null;
  /** Share of the window in which the true class was top-1. */
  trueTop1Share: number;
  predictionStable: boolean;
  /** Mean share of the top-3 replaced between consecutive epochs, over the whole history. */
  turnover: number;
  /** Mean Spearman ρ of consecutive maps in the window (null with fewer than 2). */
  stability: number | null;
  /** Mean distance the map's peak moves between consecutive epochs in the window, in map cells. */
  peakShift: number | null;
  /** A map of the window that is all zero or flat (null: none). */
  emptyMap: 'zero' | 'flat' | null;
  /** Mean energy inside the object over the window, the object's area, their density ratio. */
  energyInside: number | null;
  objectArea: number | null;
  objectRatio: number | null;
  /** The same on the cue's region, when known. */
  cueEnergy: number | null;
  cueArea: number | null;
  cueRatio: number | null;
  /** The occlusion check at the last epoch (occlusion.ts), when run. */
  pFull: number | null;
  pNoObject: number | null;
  pNoCue: number | null;
  pBlank: number | null;
}

/** Which rule decided (in the order triageRecords applies them). */
export type TriageRule = 'no-trained-epoch' | 'wrong' | 'empty-map' | 'few-epochs' | 'cue-removal' | 'object-removal' | 'unstable' | 'map-contradicted' | 'map-unconfirmed' | 'avoids-object' | 'on-cue' | 'no-region' | 'on-object' | 'needs-object' | 'chance';

export interface TriageResult {
  verdict: Verdict;
  rule: TriageRule;
  /** One sentence saying which numbers decided. */
  reason: string;
  numbers: TriageNumbers;
  thresholds: TriageThresholds;
}

export interface TriageOptions {
  /** The cue's region (a planted shortcut, or one the user suspects), in the input's frame. */
  cue?: Region | null;
  /** The occlusion check of the final model (occlusion.ts). */
  probe?: OcclusionProbe | null;
  /** Epoch number of each record; 0 is the untrained model. Default: all records are trained epochs. */
  epochs?: number[];
  thresholds?: Partial<TriageThresholds>;
}

function peak(m: ImageRecord['map']): [number, number] {
  let best = 0;
  for (let i = 1; i < m.values.length; i++) if (m.values[i]! > m.values[best]!) best = i;
  return [Math.floor(best / m.width), best % m.width];
}

// ρ of two maps; constant maps have no ranking: 1 when both are equal, else 0.
function rho(a: Float32Array, b: Float32Array): number {
  const r = spearman(a, b);
  if (Number.isFinite(r)) return r;
  return a.every((v, i) => v === b[i]) ? 1 : 0;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const f = (x: number | null) => (x === null ? '–' : x === Infinity ? '∞' : x.toFixed(2));

/**
 * Classifies one image from its records (oldest first), its true class and its object region.
 * Rules in order: no trained epoch → unknown; wrong at the end → bad; an empty or flat map, or
 * one trained epoch → unknown; the occlusion check shows a shortcut (falls without the cue, or
 * stays right without the object) → ugly; maps unstable → unknown; the map avoids the object or
 * sits on the cue → unknown when an occlusion check was run and found no shortcut (the map is
 * off, not the model), else ugly; the map prefers the object
 * (density ratio ≥ GOOD_RATIO), or the model needs the object and the map is at least at chance on
 * it → good; else unknown (no more on the object than a flat map).
 * @example
 *   const t = triageRecords(records, 7, { mask, height: 28, width: 28 }, { epochs: [0, 1, 2, 3], cue, probe });
 *   t.verdict;   // 'ugly'
 */
export function triageRecords(records: ImageRecord[], trueClass: number, region: Region | null, o: TriageOptions = {}): TriageResult {
  const T: TriageThresholds = { ...TRIAGE_THRESHOLDS, ...o.thresholds };
  if (!records.length) throw new RangeError('triage: no recorded epoch');
  const epochNo = o.epochs ?? records.map((_, i) => i + 1);
  if (epochNo.length !== records.length) throw new RangeError(`triage: ${epochNo.length} epoch numbers for ${records.length} records`);
  const trained = records.map((r, i) => ({ r, e: epochNo[i]! })).filter((x) => x.e > 0);
  const win = trained.slice(-Math.max(1, Math.floor(T.LAST_EPOCHS)));
  const last = records.at(-1)!;
  const finalTop1 = last.top3[0]?.index ?? -1;
  const correct = finalTop1 === trueClass;
  const changes: number[] = [];
  for (let e = 1; e < records.length; e++) {
    const before = new Set(records[e - 1]!.top3.map((t) => t.index));
    const now = records[e]!.top3;
    changes.push(now.filter((t) => !before.has(t.index)).length / Math.max(1, now.length));
  }
  const turnover = changes.length ? mean(changes) : 0;
  const wr = win.map((x) => x.r);
  let stability: number | null = null, peakShift: number | null = null;
  if (wr.length >= 2) {
    const rs: number[] = [], ds: number[] = [];
    for (let e = 1; e < wr.length; e++) {
      const a = wr[e - 1]!.map, b = wr[e]!.map;
      if (a.height !== b.height || a.width !== b.width) throw new RangeError(`triage: maps change size between epochs (${a.height}×${a.width}, ${b.height}×${b.width})`);
      rs.push(rho(a.values, b.values));
      const [ya, xa] = peak(a), [yb, xb] = peak(b);
      ds.push(Math.hypot(ya - yb, xa - xb));
    }
    stability = mean(rs);
    peakShift = mean(ds);
  }
  const emptyMap = wr.map((r) => mapEmptiness(r.map.values, T.FLAT_SPREAD)).find((x) => x) ?? null;
  const obj: Focus | null = region && wr.length ? focusOf(wr.map((r) => r.map), region) : null;
  const cue: Focus | null = o.cue && wr.length ? focusOf(wr.map((r) => r.map), o.cue) : null;
  const p = o.probe ?? null;
  const numbers: TriageNumbers = {
    epochs: records.length, trainedEpochs: trained.length, window: win.map((x) => x.e), correct, finalTop1, trueProb: last.trueProb,
    trueTop1Share: wr.length ? wr.filter((r) => r.top3[0]?.index === trueClass).length / wr.length : 0,
    predictionStable: wr.every((r) => r.top3[0]?.index === finalTop1), turnover, stability, peakShift, emptyMap,
    energyInside: obj?.energy ?? null, objectArea: obj?.area ?? null, objectRatio: obj?.ratio ?? null,
    cueEnergy: cue?.energy ?? null, cueArea: cue?.area ?? null, cueRatio: cue?.ratio ?? null,
    pFull: p?.pFull ?? null, pNoObject: p?.pNoObject ?? null, pNoCue: p?.pNoCue ?? null, pBlank: p?.pBlank ?? null,
  };
  const done = (verdict: Verdict, rule: TriageRule, reason: string): TriageResult => ({ verdict, rule, reason, numbers, thresholds: T });

  if (!trained.length) return done('unknown', 'no-trained-epoch', 'no epoch after training began was recorded (only the untrained model)');
  if (!correct) {
    return done('bad', 'wrong', `the true class is not top-1 at the end (top-1 in ${f(numbers.trueTop1Share)} of the last ${wr.length} trained epochs; top-3 turnover ${f(turnover)}${turnover >= T.TURNOVER_HIGH ? ', high' : ''})`);
  }
  if (emptyMap) return done('unknown', 'empty-map', `right, but a map of the window is ${emptyMap === 'zero' ? 'all zero' : 'flat'}: it shows nothing to judge the focus by`);
  if (wr.length < T.MIN_EPOCHS) return done('unknown', 'few-epochs', `right, but ${wr.length} trained epoch${wr.length === 1 ? '' : 's'} cannot show whether the focus is stable`);
  // The causal check first: it tests the model, not the map.
  if (p && p.pNoCue !== null && p.pNoCue <= T.CUE_DROP * p.pFull) {
    return done('ugly', 'cue-removal', `right, but removing the cue drops p(true) from ${f(p.pFull)} to ${f(p.pNoCue)} (≤ ${T.CUE_DROP}×): the model relies on the cue`);
  }
  if (p && p.pNoObject !== null && p.top1NoObject && p.pNoObject >= T.KEEP_PROB && !p.top1Blank) {
    return done('ugly', 'object-removal', `right, and still right without the object (p(true) ${f(p.pNoObject)} ≥ ${T.KEEP_PROB}) while the blank image is not (p ${f(p.pBlank)}): something else carries the decision`);
  }
  if (stability! < T.STABLE_RHO) {
    return done('unknown', 'unstable', `the prediction ${numbers.predictionStable ? 'holds' : 'ends right'} but the map wanders (consecutive ρ ${f(stability)} < ${T.STABLE_RHO})`);
  }
  // Does the model need the object? Removing it costs more than half of p(true), and an empty
  // image is not called this class anyway (else removal proves nothing).
  const needsObject = !!p && p.pNoObject !== null && p.pNoObject <= T.CUE_DROP * p.pFull && !p.top1Blank;
  const needed = needsObject ? `removing the object drops p(true) from ${f(p!.pFull)} to ${f(p!.pNoObject)}` : '';
  const avoids = !!obj && obj.ratio !== null && obj.ratio <= T.OFF_RATIO;
  const onCue = !!obj && !!cue && cue.ratio !== null && cue.ratio >= T.CUE_RATIO && obj.ratio !== null && obj.ratio <= 1;
  if ((avoids || onCue) && needsObject) {
    // The map points away from the object while the model demonstrably uses it: the map, not
    // the model, is off (the seed's "unknown: limitations of the CAM plot").
    return done('unknown', 'map-contradicted', `the map ${avoids ? `avoids the object (density ratio ${f(obj!.ratio)} ≤ ${T.OFF_RATIO})` : `sits on the cue (ratio ${f(cue!.ratio)})`}, but ${needed}: the map does not show what the model uses`);
  }
  if ((avoids || onCue) && p) {
    // With an occlusion check at hand, the map alone does not make a shortcut: the check found none.
    return done('unknown', 'map-unconfirmed', `the map ${avoids ? `avoids the object (density ratio ${f(obj!.ratio)} ≤ ${T.OFF_RATIO})` : `sits on the cue (ratio ${f(cue!.ratio)})`}, but the occlusion check finds no shortcut (p(true) ${f(p.pFull)}; without the object ${f(p.pNoObject)}${p.pNoCue !== null ? `, without the cue ${f(p.pNoCue)}` : ''})`);
  }
  if (avoids) {
    return done('ugly', 'avoids-object', `right, but the map avoids the object: ${f(obj!.energy)} of its energy on ${f(obj!.area)} of the image, density ratio ${f(obj!.ratio)} ≤ ${T.OFF_RATIO} (a flat map scores 1); no occlusion check was run`);
  }
  if (onCue) {
    return done('ugly', 'on-cue', `right, but the map sits on the cue: ${f(cue!.energy)} of its energy on ${f(cue!.area)} of the image (density ratio ${f(cue!.ratio)} ≥ ${T.CUE_RATIO}), none extra on the object (ratio ${f(obj!.ratio)})`);
  }
  if (!obj || obj.ratio === null) return done('unknown', 'no-region', `right with a stable map (ρ ${f(stability)}), but no object region to check its focus against`);
  if (obj.ratio >= T.GOOD_RATIO) {
    return done('good', 'on-object', `right, with a stable map (ρ ${f(stability)}) on the object: ${f(obj.energy)} of its energy on ${f(obj.area)} of the image, density ratio ${f(obj.ratio)} ≥ ${T.GOOD_RATIO}${needsObject ? `; ${needed}` : ''}`);
  }
  if (needsObject && obj.ratio >= 1) {
    return done('good', 'needs-object', `right because of the object: ${needed}${cue ? ', the cue does not matter' : ''}, and the stable map (ρ ${f(stability)}) is at least as dense on it as elsewhere (ratio ${f(obj.ratio)} ≥ 1)`);
  }
  return done('unknown', 'chance', `right, but the map is no more on the object than chance allows: ${f(obj.energy)} of its energy on ${f(obj.area)} of the image (ratio ${f(obj.ratio)}, between ${T.OFF_RATIO} and ${T.GOOD_RATIO})${needsObject ? `, though ${needed}` : ''}`);
}

/**
 * The triage of every tracked image of a history (cue regions from the recorder's tracked images;
 * occlusion probes of the final model, one per tracked image, when given).
 * @example
 *   const probes = await occlusionProbes(model, pixels, shape, classes, regions, cues);
 *   const verdicts = triage(recorder.history, { probes });
 */
export function triage(h: CamHistory, o: { probes?: (OcclusionProbe | null)[]; thresholds?: Partial<TriageThresholds> } = {}): TriageResult[] {
  const epochs = h.epochs.map((e) => e.epoch);
  return h.tracked.map((t, i) => triageRecords(h.epochs.map((e) => e.images[i]!), t.trueClass, t.region, {
    cue: t.cue ?? null, probe: o.probes?.[i] ?? null, epochs, thresholds: o.thresholds,
  }));
}
