// What the report reads of a training run, as report's own types: the triage of an image (the
// table) and the recorder's history (the animations). Structural views, so train's TriageResult
// and CamHistory pass as they are while report imports nothing from train (report sits above it
// in the layers but draws what any source of these fields gives it).
import type { HeatMap } from '../cam/overlay.ts';
import type { RgbaImage } from '../io/image.ts';

/** One image's triage as the report table shows it (train/triage.ts TriageResult fits it). */
export interface TriageView {
  verdict: 'good' | 'bad' | 'ugly' | 'unknown';
  /** One sentence saying which numbers decided. */
  reason: string;
  numbers: {
    /** Epoch numbers of the stability window. */
    window: number[];
    trueProb: number | null;
    turnover: number;
    stability: number | null;
    /** Energy inside the object over the window, the object's area, their density ratio; the same for the cue. */
    energyInside: number | null;
    objectArea: number | null;
    objectRatio: number | null;
    cueEnergy: number | null;
    cueArea: number | null;
    cueRatio: number | null;
    /** The occlusion check: p(true) as given, object removed, cue removed, both removed. */
    pFull: number | null;
    pNoObject: number | null;
    pNoCue: number | null;
    pBlank: number | null;
  };
  /** The thresholds, printed under the table as name = value. */
  thresholds: { readonly [name: string]: number };
}

/** The recorder's history as the animations draw it (train/recorder.ts CamHistory fits it). */
export interface HistoryView {
  /** One per tracked image: the header's title and the true class the bars highlight. */
  tracked: readonly { name: string; trueClass: number; trueLabel: string }[];
  /** The pictures under the maps, one per tracked image. */
  display: readonly RgbaImage[];
  /** One per recorded epoch, oldest first; `images` in tracked order. */
  epochs: readonly {
    epoch: number;
    images: readonly {
      map: HeatMap;
      top3: { index: number; label: string; prob: number }[];
      trueProb: number | null;
      trueRank: number | null;
    }[];
  }[];
}
