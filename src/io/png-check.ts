// Checks a PNG's structure before anything is decoded (PNG spec, 2nd ed., 2003, §5.3 chunks,
// §11.2.2 IHDR): chunk lengths inside the file, CRCs of critical chunks, IHDR fields and the
// image size against a pixel cap. Returns the few chunks the decoder needs and the exact size
// the image data inflates to, so decoding never runs past what the header promised.
import pako from 'pako';
import { ImageDecodeError } from './image-errors.ts';

/** The default cap on decoded image size: 100 megapixels (about 400 MB of RGBA8). */
export const DEFAULT_MAX_PIXELS = 100_000_000;

/** Limits applied while decoding an image; every one is checked from the header first. */
export interface ImageLimits {
  /** Largest width·height accepted (default DEFAULT_MAX_PIXELS). */
  maxPixels?: number;
}

export interface PngHeader {
  width: number;
  height: number;
  depth: number;
  ctype: number;
  interlace: number;
}

// Samples per pixel for each PNG colour type (0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA).
export const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const PNG_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };
// What the decoder is handed: the critical chunks plus tRNS. APNG frames and other ancillary
// chunks are dropped (camlight reads the default image only).
const KEEP = new Set(['IHDR', 'PLTE', 'tRNS', 'IDAT', 'IEND']);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (ISO 3309, as PNG uses it) of bytes[from, to). */
export function crc32(bytes: Uint8Array, from = 0, to = bytes.length): number {
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const u32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;

/** Bytes of unfiltered image data (a filter byte per row) the IDAT stream must inflate to. */
export function pngDataSize(h: PngHeader): number {
  const ch = PNG_CHANNELS[h.ctype]!;
  const rows = (w: number, n: number) => (w > 0 && n > 0 ? n * (1 + Math.ceil((w * ch * h.depth) / 8)) : 0);
  if (h.interlace === 0) return rows(h.width, h.height);
  // Adam7: seven passes, each a sub-image starting at (sx, sy) with steps (dx, dy).
  const passes = [[0, 0, 8, 8], [4, 0, 8, 8], [0, 4, 4, 8], [2, 0, 4, 4], [0, 2, 2, 4], [1, 0, 2, 2], [0, 1, 1, 2]];
  let n = 0;
  for (const [sx, sy, dx, dy] of passes) n += rows(Math.ceil((h.width - sx!) / dx!), Math.ceil((h.height - sy!) / dy!));
  return n;
}

/**
 * Validates a PNG's chunks and header and returns the header, the chunks the decoder needs (as
 * one PNG byte stream) and the inflated data size. Throws ImageDecodeError naming `name`.
 * @example
 *   const { header, bytes } = checkPng(fileBytes, 'cat.png', { maxPixels: 50e6 });
 */
export function checkPng(bytes: Uint8Array, name: string, limits: ImageLimits = {}): { header: PngHeader; bytes: Uint8Array; dataSize: number } {
  const bad = (why: string) => new ImageDecodeError(`${name}: corrupt PNG (${why})`);
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const kept: Uint8Array[] = [bytes.subarray(0, 8)];
  let header: PngHeader | null = null;
  let off = 8, idat = false, plte = false, ended = false;
  while (off < bytes.length) {
    if (off + 12 > bytes.length) throw bad(`the file ends inside a chunk header at byte ${off}; it is truncated`);
    const len = u32(bytes, off);
    const type = String.fromCharCode(bytes[off + 4]!, bytes[off + 5]!, bytes[off + 6]!, bytes[off + 7]!);
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad(`chunk at byte ${off} has an invalid type`);
    if (len > 0x7fffffff || off + 12 + len > bytes.length) throw bad(`chunk ${type} at byte ${off} claims ${len} bytes, past the end of the file; it is truncated`);
    const critical = type.charCodeAt(0) < 97;
    if (critical && crc32(bytes, off + 4, off + 8 + len) !== u32(bytes, off + 8 + len)) throw bad(`the CRC of chunk ${type} at byte ${off} does not match its data`);
    if (!header && type !== 'IHDR') throw bad('the first chunk is not IHDR');
    if (type === 'IHDR') {
      if (header) throw bad('more than one IHDR chunk');
      if (len !== 13) throw bad(`IHDR holds ${len} bytes, not 13`);
      header = readIhdr(bytes, off + 8, bad);
      const px = header.width * header.height;
      if (px > maxPixels) {
        throw new ImageDecodeError(`${name}: the image is ${header.width}×${header.height} (${(px / 1e6).toFixed(1)} megapixels), over the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels; resize it, or raise the limit (--max-pixels)`);
      }
    } else if (type === 'PLTE') {
      if (idat || plte) throw bad('a PLTE chunk after the image data or twice');
      if (len === 0 || len % 3 !== 0 || len > 768) throw bad(`PLTE holds ${len} bytes; a palette is 1 to 256 RGB entries`);
      plte = true;
    } else if (type === 'IDAT') idat = true;
    else if (type === 'IEND') ended = true;
    else if (critical) throw bad(`unknown critical chunk ${type}`);
    if (KEEP.has(type)) kept.push(bytes.subarray(off, off + 12 + len));
    off += 12 + len;
    if (ended) break;
  }
  if (!header) throw bad('no IHDR chunk');
  if (!idat) throw bad('no image data (IDAT chunk)');
  if (!ended) throw bad('no IEND chunk; the file is truncated');
  if (header.ctype === 3 && !plte) throw bad('a palette image without a PLTE chunk');
  const total = kept.reduce((a, k) => a + k.length, 0);
  const out = new Uint8Array(total);
  let o = 0;
  for (const k of kept) {
    out.set(k, o);
    o += k.length;
  }
  return { header, bytes: out, dataSize: pngDataSize(header) };
}

function readIhdr(b: Uint8Array, at: number, bad: (why: string) => Error): PngHeader {
  const width = u32(b, at), height = u32(b, at + 4);
  const [depth, ctype, compress, filter, interlace] = [b[at + 8]!, b[at + 9]!, b[at + 10]!, b[at + 11]!, b[at + 12]!];
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) throw bad(`size ${width}×${height}; each side must be 1 to 2^31−1`);
  if (PNG_CHANNELS[ctype] === undefined || !PNG_DEPTHS[ctype]!.includes(depth)) throw bad(`colour type ${ctype} with bit depth ${depth} is not valid PNG`);
  if (compress !== 0) throw bad(`compression method ${compress}; PNG defines only 0 (deflate)`);
  if (filter !== 0) throw bad(`filter method ${filter}; PNG defines only 0`);
  if (interlace > 1) throw bad(`interlace method ${interlace}; PNG defines 0 (none) and 1 (Adam7)`);
  return { width, height, depth, ctype, interlace };
}

/**
 * Inflates a zlib stream, refusing to produce more than `limit` bytes (a deflate bomb stops
 * at the limit instead of filling memory). Returns exactly what was inflated.
 * @example
 *   const raw = inflateBounded(idat, pngDataSize(header), 'cat.png');
 */
export function inflateBounded(data: Uint8Array, limit: number, name: string): Uint8Array {
  const chunks: Uint8Array[] = [];
  let n = 0;
  const inf = new pako.Inflate({ chunkSize: 1 << 16 });
  inf.onData = (c: Uint8Array) => {
    n += c.length;
    if (n > limit) throw new ImageDecodeError(`${name}: corrupt PNG (the image data inflates to more than the ${limit} bytes its header implies)`);
    chunks.push(c);
  };
  inf.onEnd = () => {};
  inf.push(data, true);
  if (inf.err) throw new ImageDecodeError(`${name}: corrupt PNG (the compressed image data is damaged: ${inf.msg || 'zlib error'})`);
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}
