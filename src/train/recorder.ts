// The CAM recorder: a training hook that, after every epoch, explains a few tracked images in one
// batched cam() call and keeps each image's map and top classes, the raw material of the
// animations, the triage and history.json.
import { cam } from '../cam/index.ts';
import type { CamLayerInfo, CamMethodName } from '../cam/types.ts';
import type { Region } from '../cam/metrics/index.ts';
import type { RgbaImage } from '../io/image.ts';
import type { Model } from '../nn/model.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** A class and its softmax probability. */
export interface TopEntry {
  index: number;
  label: string;
  prob: number;
}

/** One tracked image at one epoch. */
export interface ImageRecord {
  /** The three most probable classes, best first. */
  top3: TopEntry[];
  /** The true class's probability; null when it is not among the `topk` classes read back. */
  trueProb: number | null;
  /** The true class's rank (1 = top-1); null when it is past the `topk` classes read back. */
  trueRank: number | null;
  /** The CAM at the layer's resolution, in [0, 1]. */
  map: { height: number; width: number; values: Float32Array };
}

/** Every tracked image after one epoch. */
export interface CamEpochRecord {
  epoch: number;
  images: ImageRecord[];
  /** Wall time of the recording (the cam() call and its read-back), ms. */
  ms: number;
}

/** A tracked image: its class and what is known of its object. */
export interface TrackedImage {
  name: string;
  trueClass: number;
  trueLabel: string;
  /** The object's region in the input's frame (for the triage), or null. */
  region: Region | null;
  /** The suspected cue's region (a planted shortcut, or one the user names), or null. */
  cue?: Region | null;
}

/** The recorder's whole history (display images included; toJSON leaves them out). */
export interface CamHistory {
  method: CamMethodName;
  layer: CamLayerInfo | null;
  classNames: string[];
  tracked: TrackedImage[];
  epochs: CamEpochRecord[];
  /** The pictures the animations draw (not serialised). */
  display: RgbaImage[];
}

export interface CamRecorderOptions {
  /** What the animations show, one per tracked image (in the input's frame: the map is stretched over it). */
  images: RgbaImage[];
  /** The same images preprocessed for the model: (N,H,W,C). */
  inputs: Tensor;
  trueClasses: number[];
  classNames: string[];
  /** Default 'gradcam'. */
  method?: CamMethodName;
  /** Default 'auto' (see cam/autoLayer). */
  layer?: 'auto' | string | number | string[];
  /** The object of each image: a 0/1 mask at the display image's size, a Region, or null. */
  masks?: (Uint8Array | Region | null)[];
  /** Where a suspected cue lies in each image (same forms as masks), for the triage's cue focus. */
  cues?: (Uint8Array | Region | null)[];
  /** Explain the true class (default, as the seed's animations) or the model's top-1. */
  target?: 'true' | 'top1';
  /** Record every N epochs (onEpochEnd; the last epoch is the caller's to record). Default 1. */
  every?: number;
  /** How many classes to read back per image for trueProb/trueRank (default: all, at most 100). */
  topk?: number;
  /** File names or ids of the tracked images (default image-0, image-1, …). */
  names?: string[];
}

/** What the trainer's onEpochEnd hook passes. */
export interface EpochEndInfo {
  epoch: number;
  model: Model;
}

/**
 * Records the CAM and the top classes of N tracked images after each epoch.
 * @example
 *   const rec = new CamRecorder({ images, inputs, trueClasses, classNames, method: 'gradcam' });
 *   await rec.record(model, 0);                       // the untrained model, as the seed's first frame
 *   await train(model, data, { onEpochEnd: rec.onEpochEnd });
 *   writeFileSync('history.json', JSON.stringify(rec.toJSON()));
 */
export class CamRecorder {
  readonly history: CamHistory;
  private readonly inputs: Tensor;
  private readonly target: 'true' | 'top1';
  private readonly every: number;
  private readonly topk: number | undefined;
  private readonly layer: 'auto' | string | number | string[];

  constructor(o: CamRecorderOptions) {
    const n = o.images.length;
    if (o.inputs.rank !== 4 || o.inputs.shape[0] !== n) {
      throw new RangeError(`CamRecorder: inputs (${o.inputs.shape.join(', ')}) must be (N,H,W,C) with N = ${n} images`);
    }
    if (o.trueClasses.length !== n) throw new RangeError(`CamRecorder: ${o.trueClasses.length} true classes for ${n} images`);
    if (o.masks && o.masks.length !== n) throw new RangeError(`CamRecorder: ${o.masks.length} masks for ${n} images`);
    if (o.cues && o.cues.length !== n) throw new RangeError(`CamRecorder: ${o.cues.length} cue regions for ${n} images`);
    o.trueClasses.forEach((c, i) => {
      if (!(Number.isInteger(c) && c >= 0 && c < o.classNames.length)) throw new RangeError(`CamRecorder: image ${i}'s true class ${c} is not one of the ${o.classNames.length} classes`);
    });
    const every = o.every ?? 1;
    if (!(Number.isInteger(every) && every >= 1)) throw new RangeError(`CamRecorder: every (${every}) must be a positive integer`);
    this.inputs = o.inputs;
    this.target = o.target ?? 'true';
    this.every = every;
    this.topk = o.topk;
    this.layer = o.layer ?? 'auto';
    const asRegion = (m: Uint8Array | Region | null | undefined, i: number, what: string): Region | null => {
      const img = o.images[i]!;
      if (!(m instanceof Uint8Array)) return m ?? null;
      if (m.length !== img.width * img.height) throw new RangeError(`CamRecorder: ${what} ${i} holds ${m.length} values, its ${img.width}×${img.height} image needs ${img.width * img.height}`);
      return { mask: m, height: img.height, width: img.width };
    };
    const tracked = o.images.map((_, i): TrackedImage => {
      const c = o.trueClasses[i]!;
      return { name: o.names?.[i] ?? `image-${i}`, trueClass: c, trueLabel: o.classNames[c]!, region: asRegion(o.masks?.[i], i, 'mask'), cue: asRegion(o.cues?.[i], i, 'cue region') };
    });
    this.history = { method: o.method ?? 'gradcam', layer: null, classNames: o.classNames, tracked, epochs: [], display: o.images };
  }

  /**
   * Explains every tracked image with the current weights (one batched cam() call: a forward and
   * a backward to the CAM layer) and appends the epoch's record.
   * @example
   *   const rec = await recorder.record(model, 3);   // rec.images[0].top3[0].label
   */
  async record(model: Model, epoch: number): Promise<CamEpochRecord> {
    const t0 = performance.now();
    const h = this.history;
    const classes = h.classNames.length;
    const kk = Math.min(classes, this.topk ?? 100);
    const r = await cam(model, this.inputs, {
      method: h.method,
      layer: this.layer,
      target: this.target === 'true' ? h.tracked.map((t) => t.trueClass) : 'top1',
      labels: h.classNames,
      topk: Math.max(Math.min(3, classes), kk),
      upsample: false,
    });
    h.layer = r.layer;
    const images = r.images.map((im, i): ImageRecord => {
      const want = h.tracked[i]!.trueClass;
      const rank = im.topk.findIndex((t) => t.index === want);
      return {
        top3: im.topk.slice(0, 3).map((t) => ({ index: t.index, label: h.classNames[t.index] ?? String(t.index), prob: t.prob })),
        trueProb: rank >= 0 ? im.topk[rank]!.prob : null,
        trueRank: rank >= 0 ? rank + 1 : null,
        map: im.map,
      };
    });
    const rec = { epoch, images, ms: performance.now() - t0 };
    h.epochs.push(rec);
    return rec;
  }

  /**
   * The trainer's hook (bound: pass it as is): records after every `every`-th epoch.
   * @example
   *   await train(model, data, { onEpochEnd: recorder.onEpochEnd });
   */
  readonly onEpochEnd = async (info: EpochEndInfo): Promise<void> => {
    if (info.epoch % this.every === 0) await this.record(info.model, info.epoch);
  };

  /**
   * The history as plain JSON data (history.json's `cam` part; see historyToJSON).
   * @example
   *   JSON.stringify(recorder.toJSON());
   */
  toJSON(): HistoryJson {
    return historyToJSON(this.history);
  }
}

/** history.json's CAM part: per tracked image, per epoch, its top-3, true-class probability and map. */
export interface HistoryJson {
  method: CamMethodName;
  layer: CamLayerInfo | null;
  classNames: string[];
  images: {
    name: string;
    trueClass: number;
    trueLabel: string;
    epochs: { epoch: number; top3: TopEntry[]; trueProb: number | null; trueRank: number | null; map: { height: number; width: number; values: number[] } }[];
    /** Added by the triage (triage.ts). */
    triage?: unknown;
  }[];
  /** Recording time per epoch, ms. */
  recordMs: number[];
}

/**
 * The history as JSON data, grouped by image (maps as number arrays; display images and
 * regions left out).
 * @example
 *   const json = historyToJSON(recorder.history);
 */
export function historyToJSON(h: CamHistory): HistoryJson {
  return {
    method: h.method,
    layer: h.layer,
    classNames: h.classNames,
    images: h.tracked.map((t, i) => ({
      name: t.name,
      trueClass: t.trueClass,
      trueLabel: t.trueLabel,
      epochs: h.epochs.map((e) => {
        const r = e.images[i]!;
        return { epoch: e.epoch, top3: r.top3, trueProb: r.trueProb, trueRank: r.trueRank, map: { height: r.map.height, width: r.map.width, values: Array.from(r.map.values) } };
      }),
    })),
    recordMs: h.epochs.map((e) => e.ms),
  };
}

/**
 * A history back from its JSON (display images must be given again for animations; regions too,
 * for the triage).
 * @example
 *   const h = historyFromJSON(JSON.parse(text).cam, images);
 */
export function historyFromJSON(j: HistoryJson, display: RgbaImage[] = [], regions: (Region | null)[] = []): CamHistory {
  const n = j.images[0]?.epochs.length ?? 0;
  const epochs: CamEpochRecord[] = Array.from({ length: n }, (_, e) => ({
    epoch: j.images[0]!.epochs[e]!.epoch,
    ms: j.recordMs[e] ?? 0,
    images: j.images.map((im) => {
      const r = im.epochs[e]!;
      return { top3: r.top3, trueProb: r.trueProb, trueRank: r.trueRank, map: { height: r.map.height, width: r.map.width, values: Float32Array.from(r.map.values) } };
    }),
  }));
  return {
    method: j.method,
    layer: j.layer,
    classNames: j.classNames,
    tracked: j.images.map((im, i) => ({ name: im.name, trueClass: im.trueClass, trueLabel: im.trueLabel, region: regions[i] ?? null })),
    epochs,
    display,
  };
}
