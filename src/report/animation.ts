// The recorder's history played back: one animated PNG per tracked image (a frame per recorded
// epoch: CAM overlay, epoch, top-3 bars), and two models side by side, frames aligned by epoch.
import type { RgbaImage } from '../io/image.ts';
import { encodeApng } from '../io/png-encode.ts';
import { renderFrame, type FrameOptions } from './frame.ts';
import { canvas, paste } from './raster.ts';
import { defaultFont, type TextFont } from './text.ts';
import type { HistoryView } from './views.ts';

export interface AnimationOptions extends FrameOptions {
  /** Milliseconds per frame (default 600). */
  delayMs?: number;
  /** Milliseconds the last frame stays before the loop restarts (default 2000). */
  lastDelayMs?: number;
  /** Default: DejaVu Sans (defaultFont()). */
  font?: TextFont;
}

/**
 * The frames of tracked image `i`, one per recorded epoch.
 * @example
 *   const frames = await animationFrames(recorder.history, 0);   // RgbaImage[]
 */
export async function animationFrames(h: HistoryView, i: number, opts: AnimationOptions = {}, title?: string): Promise<RgbaImage[]> {
  const t = h.tracked[i];
  const image = h.display[i];
  if (!t || !image) throw new RangeError(`animation: no tracked image ${i} (the history tracks ${h.tracked.length}, with ${h.display.length} display images)`);
  if (!h.epochs.length) throw new RangeError('animation: the history has no recorded epoch; call recorder.record() first');
  const font = opts.font ?? (await defaultFont());
  const last = h.epochs.at(-1)!.epoch;
  return h.epochs.map((e) => {
    const r = e.images[i]!;
    return renderFrame({ image, map: r.map, epoch: e.epoch, lastEpoch: last, title: title ?? t.name, top: r.top3, trueClass: t.trueClass, trueLabel: t.trueLabel, trueProb: r.trueProb, trueRank: r.trueRank }, font, opts);
  });
}

/**
 * One APNG per tracked image (index order), looping forever.
 * @example
 *   const pngs = await animations(recorder.history);
 *   pngs.forEach((p, i) => writeFileSync(`animations/${i}.png`, p));
 */
export async function animations(h: HistoryView, opts: AnimationOptions = {}): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for (let i = 0; i < h.tracked.length; i++) out.push(encodeApng(await animationFrames(h, i, opts), delays(h.epochs.length, opts)));
  return out;
}

function delays(n: number, o: AnimationOptions): number[] {
  return Array.from({ length: n }, (_, k) => (k === n - 1 ? (o.lastDelayMs ?? 2000) : (o.delayMs ?? 600)));
}

/**
 * Two models' histories of the same tracked images side by side, one APNG per image: frames at
 * the union of their recorded epochs; a model with no record at an epoch shows its latest
 * earlier one (its own epoch number stays in its header).
 * @example
 *   const pngs = await sideBySide(inception.history, vgg.history, ['Inception', 'VGG-19']);
 */
export async function sideBySide(a: HistoryView, b: HistoryView, labels: [string, string], opts: AnimationOptions = {}): Promise<Uint8Array[]> {
  if (a.tracked.length !== b.tracked.length) throw new RangeError(`sideBySide: the histories track ${a.tracked.length} and ${b.tracked.length} images; track the same images in both`);
  a.tracked.forEach((t, i) => {
    if (t.trueClass !== b.tracked[i]!.trueClass) throw new RangeError(`sideBySide: tracked image ${i} has true class ${t.trueClass} in one history and ${b.tracked[i]!.trueClass} in the other`);
  });
  const font = opts.font ?? (await defaultFont());
  const epochs = [...new Set([...a.epochs, ...b.epochs].map((e) => e.epoch))].sort((x, y) => x - y);
  // The index of each history's latest record at or before each epoch (the first record before it starts).
  const at = (h: HistoryView) => epochs.map((ep) => {
    let k = 0;
    h.epochs.forEach((e, j) => { if (e.epoch <= ep) k = j; });
    return k;
  });
  const ia = at(a), ib = at(b);
  const out: Uint8Array[] = [];
  const gap = 8;
  for (let i = 0; i < a.tracked.length; i++) {
    const fa = await animationFrames(a, i, { ...opts, font }, labels[0]);
    const fb = await animationFrames(b, i, { ...opts, font }, labels[1]);
    const w = fa[0]!.width + gap + fb[0]!.width, h = Math.max(fa[0]!.height, fb[0]!.height);
    const frames = epochs.map((_, k) => {
      const f = canvas(w, h, [255, 255, 255]);
      paste(f, fa[ia[k]!]!, 0, 0);
      paste(f, fb[ib[k]!]!, fa[0]!.width + gap, 0);
      return f;
    });
    out.push(encodeApng(frames, delays(frames.length, opts)));
  }
  return out;
}


/** APNG writing lives with the other image encoders (src/io/png-encode.ts). */
export { encodeApng };
