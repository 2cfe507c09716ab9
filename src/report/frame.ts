// One animation frame: a header with the epoch (and a title), the image up-scaled with its CAM
// laid over it, and the top-3 probability bars beneath, the true class marked.
import { overlay, type HeatMap, type OverlayOptions } from '../cam/overlay.ts';
import type { RgbaImage } from '../io/image.ts';
import { barRowHeight, drawBars, type BarItem } from './chart.ts';
import { canvas, fillRect, resizeImage, type Rgb } from './raster.ts';
import type { TextFont } from './text.ts';

/** What one frame shows. */
export interface FrameContent {
  /** The picture (any size; it is up-scaled by `scale`). */
  image: RgbaImage;
  /** The CAM (any resolution, values in [0, 1]); null draws the bare image. */
  map: HeatMap | null;
  epoch: number;
  /** Shown as "epoch 3/10" when given. */
  lastEpoch?: number;
  /** Right of the epoch, e.g. the model's name or the image's. */
  title?: string;
  /** The three best classes, best first. */
  top: { index: number; label: string; prob: number }[];
  trueClass: number;
  trueLabel: string;
  /** The true class's probability and rank when known (shown on the last line). */
  trueProb: number | null;
  trueRank: number | null;
}

export interface FrameOptions {
  /** Integer up-scaling of the image (default: at least 2×, and at least 224 px on the long side). */
  scale?: number;
  /** Default: 'nearest' for images under 64 px (crisp pixels), else 'bilinear'. */
  resample?: 'nearest' | 'bilinear';
  /** How the CAM is drawn (overlay()'s options; default a 'jet' blend at opacity 0.45). */
  overlay?: OverlayOptions;
  /** Text size in px (default: frame width / 16, between 11 and 20). */
  textSize?: number;
  background?: Rgb;
}

/**
 * The default integer scale: at least 2× (the legibility bar) and enough to reach 224 px.
 * @example
 *   defaultScale(28, 28);   // 8
 */
export function defaultScale(height: number, width: number): number {
  return Math.max(2, Math.ceil(224 / Math.max(height, width)));
}

/** Where a frame's parts lie (all frames of one image share it). */
export interface FrameLayout {
  width: number;
  height: number;
  scale: number;
  size: number;
  header: number;
  imageTop: number;
  barsTop: number;
  footerBaseline: number;
}

/**
 * The layout of frames for an image of height × width.
 * @example
 *   frameLayout(28, 28).width;   // 224
 */
export function frameLayout(height: number, width: number, opts: FrameOptions = {}): FrameLayout {
  const scale = opts.scale ?? defaultScale(height, width);
  if (!(Number.isInteger(scale) && scale >= 1)) throw new RangeError(`frame: scale ${scale} must be a positive integer`);
  const W = width * scale, H = height * scale;
  const size = opts.textSize ?? Math.min(20, Math.max(11, Math.round(W / 16)));
  const header = Math.round(size * 1.8);
  const row = barRowHeight(size);
  const pad = Math.round(size * 0.4);
  const barsTop = header + H + pad;
  const footerBaseline = barsTop + 3 * row + Math.round(size * 1.2);
  return { width: W, height: footerBaseline + Math.round(size * 0.7), scale, size, header, imageTop: header, barsTop, footerBaseline };
}

/**
 * Draws one frame: "epoch E/N" and the title on top, the up-scaled image with its CAM, the top-3
 * bars (the true class's bar green with a ▶ marker) and a line with the true class's probability.
 * @example
 *   const img = renderFrame({ image, map, epoch: 3, lastEpoch: 10, top, trueClass: 7, trueLabel: 'Sneaker', trueProb: 0.9, trueRank: 1 }, font);
 */
export function renderFrame(c: FrameContent, font: TextFont, opts: FrameOptions = {}): RgbaImage {
  const L = frameLayout(c.image.height, c.image.width, opts);
  const bg = opts.background ?? [255, 255, 255];
  const out = canvas(L.width, L.height, bg);
  const text: Rgb = [20, 20, 20];
  const resample = opts.resample ?? (Math.max(c.image.width, c.image.height) < 64 ? 'nearest' : 'bilinear');
  const big = resizeImage(c.image, L.width, c.image.height * L.scale, resample);
  const shown = c.map ? overlay(big, c.map, { colormap: 'jet', opacity: 0.45, ...opts.overlay }) : big;
  for (let y = 0; y < shown.height; y++) out.data.set(shown.data.subarray(y * L.width * 4, (y + 1) * L.width * 4), ((L.imageTop + y) * L.width) * 4);
  const base = Math.round((L.header + font.ascent(L.size) - font.descent(L.size)) / 2);
  const pad = Math.round(L.size * 0.4);
  const epochText = c.lastEpoch !== undefined ? `epoch ${c.epoch}/${c.lastEpoch}` : `epoch ${c.epoch}`;
  const ew = font.draw(out, epochText, pad, base, L.size, text);
  if (c.title) font.draw(out, font.fit(c.title, L.width - ew - 3 * pad, L.size), L.width - pad, base, L.size, [90, 90, 90], 'right');
  const items: BarItem[] = c.top.slice(0, 3).map((t) => ({ label: t.label, prob: t.prob, isTrue: t.index === c.trueClass }));
  drawBars(out, 0, L.barsTop, L.width, items, font, { size: L.size });
  fillRect(out, pad, L.footerBaseline - Math.round(L.size * 1.05), L.width - 2 * pad, 1, [200, 200, 200]);
  const p = c.trueProb === null ? '?' : `${(100 * c.trueProb).toFixed(1)}%`;
  const rank = c.trueRank === null ? '' : ` (#${c.trueRank})`;
  const line = font.fit(`true: ${c.trueLabel} ${p}${rank}`, L.width - 2 * pad, L.size);
  font.draw(out, line, pad, L.footerBaseline, L.size, c.trueRank === 1 ? [30, 150, 60] : [190, 40, 40]);
  return out;
}
