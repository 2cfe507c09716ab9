// Test-only PNG tools, independent of upng-js: a writer for any colour type, bit depth, filter
// and Adam7 interlacing (to feed the decoder every case), and a minimal 8-bit reader (to check
// the decoder on real photographs). Both follow the PNG specification (ISO/IEC 15948) directly.
import { crc32, deflateSync, inflateSync } from 'node:zlib';

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** One PNG chunk: length, type, data, CRC-32 of type + data (PNG specification, 5.3). */
export function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

// Packs and filters the rows of one (sub)image; the filter type cycles 0..4 with the row.
function scanlines(w: number, h: number, ch: number, depth: number, at: (x: number, y: number, c: number) => number): Uint8Array {
  const bpl = Math.ceil((w * ch * depth) / 8);
  const bpp = Math.max(1, (ch * depth) / 8);
  const out = new Uint8Array(h * (bpl + 1));
  let prior = new Uint8Array(bpl);
  for (let y = 0; y < h; y++) {
    const raw = new Uint8Array(bpl);
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < ch; c++) {
        const v = at(x, y, c), s = x * ch + c;
        if (depth === 16) {
          raw[2 * s] = v >> 8;
          raw[2 * s + 1] = v & 255;
        } else if (depth === 8) raw[s] = v;
        else raw[(s * depth) >> 3]! |= v << (8 - depth - ((s * depth) & 7));
      }
    }
    const ft = y % 5, o = y * (bpl + 1);
    out[o] = ft;
    for (let i = 0; i < bpl; i++) {
      const a = i >= bpp ? raw[i - bpp]! : 0, b = prior[i]!, c = i >= bpp ? prior[i - bpp]! : 0;
      const pred = ft === 0 ? 0 : ft === 1 ? a : ft === 2 ? b : ft === 3 ? (a + b) >> 1 : paeth(a, b, c);
      out[o + 1 + i] = (raw[i]! - pred) & 255;
    }
    prior = raw;
  }
  return out;
}

const ADAM7 = [
  [0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2],
] as const; // [x0, y0, dx, dy]

export interface TestPng {
  width: number;
  height: number;
  ctype: number;
  depth: number;
  /** The stored sample (0 .. 2^depth − 1) of channel c at (x, y). */
  at: (x: number, y: number, c: number) => number;
  plte?: number[];
  trns?: number[];
  interlace?: boolean;
}

/** A PNG file with exactly the given samples. */
export function writePng(p: TestPng): Uint8Array {
  const ch = CHANNELS[p.ctype]!;
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, p.width);
  dv.setUint32(4, p.height);
  ihdr.set([p.depth, p.ctype, 0, 0, p.interlace ? 1 : 0], 8);
  let idat: Uint8Array;
  if (!p.interlace) idat = scanlines(p.width, p.height, ch, p.depth, p.at);
  else {
    const parts: Uint8Array[] = [];
    for (const [x0, y0, dx, dy] of ADAM7) {
      const sw = Math.ceil((p.width - x0) / dx), sh = Math.ceil((p.height - y0) / dy);
      if (sw <= 0 || sh <= 0) continue;
      parts.push(scanlines(sw, sh, ch, p.depth, (x, y, c) => p.at(x0 + x * dx, y0 + y * dy, c)));
    }
    idat = new Uint8Array(parts.reduce((s, q) => s + q.length, 0));
    let o = 0;
    for (const q of parts) idat.set(q, (o += q.length) - q.length);
  }
  const chunks = [chunk('IHDR', ihdr)];
  if (p.plte) chunks.push(chunk('PLTE', Uint8Array.from(p.plte)));
  if (p.trns) chunks.push(chunk('tRNS', Uint8Array.from(p.trns)));
  const z = deflateSync(idat);
  chunks.push(chunk('IDAT', new Uint8Array(z.buffer, z.byteOffset, z.byteLength)), chunk('IEND', new Uint8Array(0)));
  const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  const out = new Uint8Array(8 + chunks.reduce((s, c) => s + c.length, 0));
  out.set(sig);
  let o = 8;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * A minimal reader for 8-bit, non-interlaced PNGs of colour type 0, 2, 3 or 6 (what skimage's
 * photographs use), giving RGBA8 — the independent reference for decodePng on real files.
 */
export function readPng8(bytes: Uint8Array): { width: number; height: number; data: Uint8Array } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let off = 8, w = 0, h = 0, ctype = -1;
  let plte: Uint8Array = new Uint8Array(0), trns: Uint8Array = new Uint8Array(0);
  const idat: Uint8Array[] = [];
  while (off < bytes.length) {
    const len = dv.getUint32(off);
    const type = String.fromCharCode(...bytes.subarray(off + 4, off + 8));
    const body = bytes.subarray(off + 8, off + 8 + len);
    if (type === 'IHDR') {
      w = dv.getUint32(off + 8);
      h = dv.getUint32(off + 12);
      ctype = body[9]!;
      if (body[8] !== 8 || body[12] !== 0) throw new Error('readPng8: only 8-bit non-interlaced');
    } else if (type === 'PLTE') plte = body;
    else if (type === 'tRNS') trns = body;
    else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    off += 12 + len;
  }
  const ch = CHANNELS[ctype]!;
  const z = Buffer.concat(idat);
  const f = inflateSync(z);
  const bpl = w * ch;
  const rows = new Uint8Array(h * bpl);
  for (let y = 0; y < h; y++) {
    const ft = f[y * (bpl + 1)]!;
    for (let i = 0; i < bpl; i++) {
      const a = i >= ch ? rows[y * bpl + i - ch]! : 0;
      const b = y > 0 ? rows[(y - 1) * bpl + i]! : 0;
      const c = y > 0 && i >= ch ? rows[(y - 1) * bpl + i - ch]! : 0;
      const pred = ft === 0 ? 0 : ft === 1 ? a : ft === 2 ? b : ft === 3 ? (a + b) >> 1 : paeth(a, b, c);
      rows[y * bpl + i] = (f[y * (bpl + 1) + 1 + i]! + pred) & 255;
    }
  }
  const data = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const s = rows.subarray(i * ch, i * ch + ch);
    const rgba =
      ctype === 0 ? [s[0]!, s[0]!, s[0]!, 255]
        : ctype === 2 ? [s[0]!, s[1]!, s[2]!, 255]
          : ctype === 6 ? [...s]
            : [plte[3 * s[0]!]!, plte[3 * s[0]! + 1]!, plte[3 * s[0]! + 2]!, s[0]! < trns.length ? trns[s[0]!]! : 255];
    data.set(rgba, 4 * i);
  }
  return { width: w, height: h, data };
}
