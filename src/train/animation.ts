// The recorder's history played back: one animated PNG per tracked image (a frame per recorded
// epoch: CAM overlay, epoch, top-3 bars), and two models side by side, frames aligned by epoch.
import UPNG from 'upng-js';
import type { RgbaImage } from '../io/image.ts';
import { renderFrame, type FrameOptions } from '../report/frame.ts';
import { canvas, paste } from '../report/raster.ts';
import { defaultFont, type TextFont } from '../report/text.ts';
import type { CamHistory } from './recorder.ts';

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
export async function animationFrames(h: CamHistory, i: number, opts: AnimationOptions = {}, title?: string): Promise<RgbaImage[]> {
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
export async function animations(h: CamHistory, opts: AnimationOptions = {}): Promise<Uint8Array[]> {
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
export async function sideBySide(a: CamHistory, b: CamHistory, labels: [string, string], opts: AnimationOptions = {}): Promise<Uint8Array[]> {
  if (a.tracked.length !== b.tracked.length) throw new RangeError(`sideBySide: the histories track ${a.tracked.length} and ${b.tracked.length} images; track the same images in both`);
  a.tracked.forEach((t, i) => {
    if (t.trueClass !== b.tracked[i]!.trueClass) throw new RangeError(`sideBySide: tracked image ${i} has true class ${t.trueClass} in one history and ${b.tracked[i]!.trueClass} in the other`);
  });
  const font = opts.font ?? (await defaultFont());
  const epochs = [...new Set([...a.epochs, ...b.epochs].map((e) => e.epoch))].sort((x, y) => x - y);
  // The index of each history's latest record at or before each epoch (the first record before it starts).
  const at = (h: CamHistory) => epochs.map((ep) => {
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

type Compressed = { ctype: number; depth: number; plte: number[]; gotAlpha: boolean; frames: { rect: { x: number; y: number; width: number; height: number }; blend: number; dispose: number; cimg: Uint8Array }[] };

/**
 * Encodes equal-size RGBA frames as a looping animated PNG (APNG; one frame: a plain PNG).
 * upng-js compresses (lossless, only the changed rectangle of each frame); the chunks are written
 * here because UPNG.encode sizes its output buffer at the raw size + 100 bytes and cuts off
 * frames that compress worse.
 * @example
 *   writeFileSync('a.png', encodeApng(frames, frames.map(() => 500)));
 */
export function encodeApng(frames: RgbaImage[], delaysMs: number[]): Uint8Array {
  if (!frames.length) throw new RangeError('encodeApng: no frames');
  const { width: w, height: h } = frames[0]!;
  frames.forEach((f, k) => {
    if (f.width !== w || f.height !== h || f.data.length !== w * h * 4) throw new RangeError(`encodeApng: frame ${k} is ${f.width}×${f.height} (${f.data.length} bytes), frame 0 is ${w}×${h}; frames must share one size`);
  });
  if (delaysMs.length !== frames.length) throw new RangeError(`encodeApng: ${delaysMs.length} delays for ${frames.length} frames`);
  const bufs = frames.map((f) => {
    const c = new Uint8Array(f.data.length);
    c.set(f.data);
    return c.buffer;
  });
  const enc = (UPNG.encode as unknown as { compressPNG: (b: ArrayBuffer[], w: number, h: number, ps: number, forbidPlte: boolean) => Compressed }).compressPNG(bufs, w, h, 0, false);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([enc.depth, enc.ctype, 0, 0, 0], 8);
  const chunks = [chunk('IHDR', ihdr)];
  const anim = frames.length > 1;
  if (anim) chunks.push(chunk('acTL', u32s(frames.length, 0)));
  if (enc.ctype === 3) {
    const n = enc.plte.length;
    const plte = new Uint8Array(3 * n), trns = new Uint8Array(n);
    enc.plte.forEach((c, i) => {
      plte.set([c & 255, (c >>> 8) & 255, (c >>> 16) & 255], 3 * i);
      trns[i] = (c >>> 24) & 255;
    });
    chunks.push(chunk('PLTE', plte));
    if (enc.gotAlpha) chunks.push(chunk('tRNS', trns));
  }
  let seq = 0;
  enc.frames.forEach((fr, j) => {
    if (anim) {
      const fc = new Uint8Array(26);
      const v = new DataView(fc.buffer);
      v.setUint32(0, seq++);
      v.setUint32(4, fr.rect.width);
      v.setUint32(8, fr.rect.height);
      v.setUint32(12, fr.rect.x);
      v.setUint32(16, fr.rect.y);
      // Delay as a fraction num/den seconds (16 bits each): ms/1000, or in centiseconds past 65 s.
      const ms = Math.max(0, Math.round(delaysMs[j]!));
      if (ms <= 65535) { v.setUint16(20, ms); v.setUint16(22, 1000); } else { v.setUint16(20, Math.min(65535, Math.round(ms / 10))); v.setUint16(22, 100); }
      fc[24] = fr.dispose;
      fc[25] = fr.blend;
      chunks.push(chunk('fcTL', fc));
    }
    if (j === 0) chunks.push(chunk('IDAT', fr.cimg));
    else {
      const data = new Uint8Array(4 + fr.cimg.length);
      new DataView(data.buffer).setUint32(0, seq++);
      data.set(fr.cimg, 4);
      chunks.push(chunk('fdAT', data));
    }
  });
  chunks.push(chunk('IEND', new Uint8Array(0)));
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let o = 8;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

function u32s(...v: number[]): Uint8Array {
  const b = new Uint8Array(4 * v.length);
  const d = new DataView(b.buffer);
  v.forEach((x, i) => d.setUint32(4 * i, x));
  return b;
}

const CRC = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

// length, type, data, CRC-32 of type + data (PNG specification §5.3).
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  let c = 0xffffffff;
  for (let i = 4; i < 8 + data.length; i++) c = CRC[(c ^ out[i]!) & 255]! ^ (c >>> 8);
  dv.setUint32(8 + data.length, (c ^ 0xffffffff) >>> 0);
  return out;
}
