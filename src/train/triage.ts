// Triage of tracked images from their CAM history, as the seed sorts its animations: good (right,
// steady focus on the object), bad (the true class never wins), ugly (right, but looking outside
// the object: a shortcut), unknown (the prediction holds while the map wanders).
import { energyPointingGame, regionMask, spearman, type Region } from '../cam/metrics/index.ts';
import type { CamHistory, ImageRecord } from './recorder.ts';

export type Verdict = 'good' | 'bad' | 'ugly' | 'unknown';

/**
 * The thresholds, named so the report can print them.
 * - LAST_EPOCHS 3: "the end of training" is the last three recorded epochs, long enough for a
 *   trend, short enough that the untrained first epochs do not count.
 * - STABLE_RHO 0.5: mean Spearman ρ between consecutive maps in that window. For two unrelated
 *   7×7 maps ρ ≈ 0 ± 0.14 (1/√48), so 0.5 is ~3.5σ above chance while maps whose hot region
 *   stays put score 0.7–1.
 * - ENERGY_INSIDE 0.5: the energy pointing game (Score-CAM §4.2): under half the map's mass
 *   inside the object means it looks mostly elsewhere (the red TV frame around Krusty).
 * - TURNOVER_HIGH 0.5: mean share of the top-3 replaced between consecutive epochs; over half
 *   the classes changing each epoch is the seed's "rapid turnover" (reported, not deciding).
 */
export const TRIAGE_THRESHOLDS = {
  LAST_EPOCHS: 3,
  STABLE_RHO: 0.5,
  ENERGY_INSIDE: 0.5,
  TURNOVER_HIGH: 0.5,
} as const;

export type TriageThresholds = { -readonly [K in keyof typeof TRIAGE_THRESHOLDS]: number };

/** The numbers behind a verdict. */
export interface TriageNumbers {
  /** Recorded epochs. */
  epochs: number;
  /** Top-1 is the true class at the last epoch. */
  correct: boolean;
  /** The class predicted at the last epoch. */
  finalTop1: number;
  /** The true class's probability at the last epoch (null: past the classes read back). */
  trueProb: number | null;
  /** Share of the last-epoch window in which the true class was top-1. */
  trueTop1Share: number;
  /** The prediction (top-1) is the same throughout the window. */
  predictionStable: boolean;
  /** Mean share of the top-3 replaced between consecutive epochs, over the whole history. */
  turnover: number;
  /** Mean Spearman ρ of consecutive maps in the window (null with fewer than 2 epochs). */
  stability: number | null;
  /** Mean distance the map's peak moves between consecutive epochs in the window, in map cells. */
  peakShift: number | null;
  /** Mean energy pointing game in the window (null when no object region is known). */
  energyInside: number | null;
  /** Share of the image the object covers (what a flat map would score as energyInside), or null. */
  objectArea: number | null;
}

export interface TriageResult {
  verdict: Verdict;
  /** One sentence saying which numbers decided. */
  reason: string;
  numbers: TriageNumbers;
  thresholds: TriageThresholds;
}

function peak(m: ImageRecord['map']): [number, number] {
  let best = 0;
  for (let i = 1; i < m.values.length; i++) if (m.values[i]! > m.values[best]!) best = i;
  return [Math.floor(best / m.width), best % m.width];
}

// ρ of two maps; constant maps (all zero) have no ranking: 1 when both are equal, else 0.
function rho(a: Float32Array, b: Float32Array): number {
  const r = spearman(a, b);
  if (Number.isFinite(r)) return r;
  return a.every((v, i) => v === b[i]) ? 1 : 0;
}

const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;

/**
 * Classifies one image from its records (oldest first), its true class and its object region.
 * Rules in order: not top-1 at the end → bad; energy inside the object < ENERGY_INSIDE → ugly;
 * maps unstable (ρ < STABLE_RHO) or unknown (one epoch) → unknown; else good.
 * @example
 *   const t = triageRecords(records, 7, { mask, height: 28, width: 28 });
 *   t.verdict;   // 'good'
 */
export function triageRecords(records: ImageRecord[], trueClass: number, region: Region | null, thresholds: Partial<TriageThresholds> = {}): TriageResult {
  const T: TriageThresholds = { ...TRIAGE_THRESHOLDS, ...thresholds };
  if (!records.length) throw new RangeError('triage: no recorded epoch');
  const win = records.slice(-Math.max(1, Math.floor(T.LAST_EPOCHS)));
  const last = records.at(-1)!;
  const finalTop1 = last.top3[0]?.index ?? -1;
  const correct = finalTop1 === trueClass;
  const trueTop1Share = win.filter((r) => r.top3[0]?.index === trueClass).length / win.length;
  const predictionStable = win.every((r) => r.top3[0]?.index === finalTop1);
  const changes: number[] = [];
  for (let e = 1; e < records.length; e++) {
    const before = new Set(records[e - 1]!.top3.map((t) => t.index));
    const now = records[e]!.top3;
    changes.push(now.filter((t) => !before.has(t.index)).length / Math.max(1, now.length));
  }
  const turnover = changes.length ? mean(changes) : 0;
  let stability: number | null = null, peakShift: number | null = null;
  if (win.length >= 2) {
    const rs: number[] = [], ds: number[] = [];
    for (let e = 1; e < win.length; e++) {
      const a = win[e - 1]!.map, b = win[e]!.map;
      if (a.height !== b.height || a.width !== b.width) throw new RangeError(`triage: maps change size between epochs (${a.height}×${a.width}, ${b.height}×${b.width})`);
      rs.push(rho(a.values, b.values));
      const [ya, xa] = peak(a), [yb, xb] = peak(b);
      ds.push(Math.hypot(ya - yb, xa - xb));
    }
    stability = mean(rs);
    peakShift = mean(ds);
  }
  const energyInside = region ? mean(win.map((r) => energyPointingGame(r.map, region))) : null;
  const objectArea = region ? regionMask(region).reduce((s, v) => s + v, 0) / (region.height * region.width) : null;
  const numbers: TriageNumbers = { epochs: records.length, correct, finalTop1, trueProb: last.trueProb, trueTop1Share, predictionStable, turnover, stability, peakShift, energyInside, objectArea };
  const f = (x: number) => x.toFixed(2);
  let verdict: Verdict, reason: string;
  if (!correct) {
    verdict = 'bad';
    reason = `the true class is not top-1 at the end (top-1 in ${f(trueTop1Share)} of the last ${win.length} epochs; top-3 turnover ${f(turnover)}${turnover >= T.TURNOVER_HIGH ? ', high' : ''})`;
  } else if (energyInside !== null && energyInside < T.ENERGY_INSIDE) {
    verdict = 'ugly';
    reason = `right, but only ${f(energyInside)} of the CAM's energy lies inside the object (< ${T.ENERGY_INSIDE}; the object covers ${f(objectArea!)} of the image): a shortcut`;
  } else if (stability === null) {
    verdict = 'unknown';
    reason = 'right, but one recorded epoch cannot show whether the focus is stable';
  } else if (stability < T.STABLE_RHO) {
    verdict = 'unknown';
    reason = `the prediction ${predictionStable ? 'holds' : 'ends right'} but the map wanders (consecutive ρ ${f(stability)} < ${T.STABLE_RHO})`;
  } else {
    verdict = 'good';
    reason = `right with a stable focus (ρ ${f(stability)} ≥ ${T.STABLE_RHO})${energyInside === null ? '; no object region to check the focus against' : ` on the object (energy inside ${f(energyInside)} ≥ ${T.ENERGY_INSIDE})`}`;
  }
  return { verdict, reason, numbers, thresholds: T };
}

/**
 * The triage of every tracked image of a history.
 * @example
 *   const verdicts = triage(recorder.history);   // [{ verdict: 'good', reason, numbers, thresholds }, …]
 */
export function triage(h: CamHistory, thresholds: Partial<TriageThresholds> = {}): TriageResult[] {
  return h.tracked.map((t, i) => triageRecords(h.epochs.map((e) => e.images[i]!), t.trueClass, t.region, thresholds));
}

