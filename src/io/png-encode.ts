// Writes PNG and animated PNG (APNG) files. upng-js compresses (lossless; for animations only the
// rectangle each frame changes); the chunks are written here because UPNG.encode sizes its output
// buffer at the raw size + 100 bytes and silently cuts off images that compress worse (noise,
// small images).
import UPNG from 'upng-js';
import type { RgbaImage } from './image.ts';
import { crc32 } from './png-check.ts';

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

type Compressed = {
  ctype: number; depth: number; plte: number[]; gotAlpha: boolean;
  frames: { rect: { x: number; y: number; width: number; height: number }; blend: number; dispose: number; cimg: Uint8Array }[];
};
type CompressPng = (bufs: ArrayBuffer[], w: number, h: number, ps: number, forbidPlte: boolean) => Compressed;

/**
 * Encodes frames of one size as an APNG (a plain PNG when there is one frame), each shown for
 * its delay in milliseconds.
 * @example
 *   writeFileSync('a.png', encodeApng(frames, frames.map(() => 500)));
 */
export function encodeApng(frames: RgbaImage[], delaysMs: number[]): Uint8Array {
  if (!frames.length) throw new RangeError('encodeApng: no frames');
  const { width: w, height: h } = frames[0]!;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) {
    throw new RangeError(`encodePng: width and height must be positive integers (got ${w}×${h})`);
  }
  frames.forEach((f, k) => {
    if (f.width !== w || f.height !== h || f.data.length !== w * h * 4) {
      throw new RangeError(`encodeApng: frame ${k} is ${f.width}×${f.height} (${f.data.length} bytes), frame 0 is ${w}×${h}; frames must share one size`);
    }
  });
  if (delaysMs.length !== frames.length) throw new RangeError(`encodeApng: ${delaysMs.length} delays for ${frames.length} frames`);
  const bufs = frames.map((f) => {
    const c = new Uint8Array(f.data.length);
    c.set(f.data);
    return c.buffer;
  });
  const enc = (UPNG.encode as unknown as { compressPNG: CompressPng }).compressPNG(bufs, w, h, 0, false);
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([enc.depth, enc.ctype, 0, 0, 0], 8);
  const chunks = [chunk('IHDR', ihdr)];
  const anim = frames.length > 1;
  if (anim) chunks.push(chunk('acTL', u32s(frames.length, 0)));
  if (enc.ctype === 3) {
    // Palette entries are packed as 0xAABBGGRR.
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
      if (ms <= 65535) {
        v.setUint16(20, ms);
        v.setUint16(22, 1000);
      } else {
        v.setUint16(20, Math.min(65535, Math.round(ms / 10)));
        v.setUint16(22, 100);
      }
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
  const out = new Uint8Array(PNG_MAGIC.length + chunks.reduce((s, c) => s + c.length, 0));
  out.set(PNG_MAGIC);
  let o = PNG_MAGIC.length;
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

// length, type, data, CRC-32 of type + data (PNG specification, section 5.3).
function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
  return out;
}
