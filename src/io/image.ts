// Decoding PNG and JPEG files into one RGBA8 image type (what the CAM input preparation and the
// overlays work on), and encoding RGBA8 as PNG. upng-js and jpeg-js do the codec work.
import UPNG, { type Image as PngImage, type ImageTabs } from 'upng-js';
import jpeg from 'jpeg-js';
import pako from 'pako';
import { describePath, type FileSource } from './files.ts';
import { ImageDecodeError } from './image-errors.ts';
import { checkPng, DEFAULT_MAX_PIXELS, inflateBounded, PNG_CHANNELS, type ImageLimits } from './png-check.ts';
import { encodeApng } from './png-encode.ts';

export { ImageDecodeError } from './image-errors.ts';
export { DEFAULT_MAX_PIXELS, type ImageLimits } from './png-check.ts';

/** 8-bit RGBA pixels, row-major, 4 bytes per pixel (like the DOM's ImageData). */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8ClampedArray;
}

/** A decoded file: the RGBA8 pixels plus what the file held. */
export interface DecodedImage extends RgbaImage {
  format: ImageFormat;
  /** Channels stored in the file: 1 grey, 2 grey+alpha, 3 colour, 4 colour+alpha (PNG palettes: 3 or 4, JPEG: 1 or 3). */
  channels: 1 | 2 | 3 | 4;
  /** Bits per sample in the file (PNG: 1, 2, 4, 8 or 16; JPEG: 8). */
  bitDepth: number;
}

export type ImageFormat = 'png' | 'jpeg';

/**
 * The file name extensions of the formats decodeImage reads (lower case, with the dot): what a
 * folder of images is filtered by, in the CLI and in train's image folders alike.
 */
export const IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg'];

/**
 * Whether a file name ends in one of IMAGE_EXTENSIONS, in any case.
 * @example
 *   hasImageExtension('Cat.JPG'); // true
 */
export function hasImageExtension(name: string): boolean {
  const lower = name.toLowerCase();
  return IMAGE_EXTENSIONS.some((e) => lower.endsWith(e) && lower.length > e.length);
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(bytes: Uint8Array, magic: readonly number[], at = 0): boolean {
  return bytes.length >= at + magic.length && magic.every((b, i) => bytes[at + i] === b);
}

/**
 * The format of an image file from its first bytes (not its name), or null when it is neither
 * PNG nor JPEG.
 * @example
 *   sniffImageFormat(bytes); // 'png'
 */
export function sniffImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, PNG_MAGIC)) return 'png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'jpeg';
  return null;
}

/** A guess at what an unsupported file is, for the error message. */
function otherFormat(bytes: Uint8Array): string {
  const ascii = (at: number, s: string) => startsWith(bytes, [...s].map((c) => c.charCodeAt(0)), at);
  if (ascii(0, 'GIF8')) return 'a GIF';
  if (ascii(0, 'BM')) return 'a BMP';
  if (ascii(0, 'RIFF') && ascii(8, 'WEBP')) return 'a WebP';
  if (ascii(0, 'II*\0') || ascii(0, 'MM\0*')) return 'a TIFF';
  if (ascii(4, 'ftyp')) return 'an HEIF/AVIF';
  if (bytes.length === 0) return 'empty';
  return 'of an unknown format';
}

/**
 * Decodes a PNG or JPEG (told apart by their magic bytes) to RGBA8. `name` (a file name or URL)
 * goes into the error messages.
 * @example
 *   const img = decodeImage(readFileSync('cat.jpg'), 'cat.jpg'); // { width, height, data, ... }
 */
export function decodeImage(bytes: Uint8Array, name = 'image', limits: ImageLimits = {}): DecodedImage {
  const format = sniffImageFormat(bytes);
  if (format === 'png') return decodePng(bytes, name, limits);
  if (format === 'jpeg') return decodeJpeg(bytes, name, limits);
  throw new ImageDecodeError(`${name}: not a PNG or JPEG file (the file is ${otherFormat(bytes)}); convert it to PNG or JPEG`);
}

/**
 * Reads and decodes an image through a FileSource (errors name the file as the source sees it).
 * @example
 *   const img = await readImage(nodeFiles('photos'), 'chelsea.png');
 */
export async function readImage(source: FileSource, path: string, limits: ImageLimits = {}): Promise<DecodedImage> {
  return decodeImage(await source.read(path), describePath(source, path), limits);
}

// upng-js inflates with pako.inflate, which grows without bound on a deflate bomb; decodePng
// points it at a bounded inflate sized from the checked header for the duration of one call.
type UpngInternals = { decode: { _inflate: (d: Uint8Array) => Uint8Array } };
let inflateLimit = { bytes: 0, name: '', active: false };
// Other callers of UPNG.decode (APNG frames read back in tests) keep upng-js's own inflate.
(UPNG as unknown as UpngInternals).decode._inflate = (d) => (inflateLimit.active ? inflateBounded(d, inflateLimit.bytes, inflateLimit.name) : pako.inflate(d));

/**
 * Decodes a PNG of any colour type and bit depth to RGBA8. 16-bit samples are rounded to the
 * nearest 8-bit value (v·255/65535), 1/2/4-bit grey is scaled to the full range, palettes and
 * tRNS transparency are applied; APNGs give their default image.
 * @example
 *   const { width, height, data } = decodePng(bytes, 'mask.png');
 */
export function decodePng(bytes: Uint8Array, name = 'image.png', limits: ImageLimits = {}): DecodedImage {
  if (!startsWith(bytes, PNG_MAGIC)) throw new ImageDecodeError(`${name}: not a PNG file (no PNG signature)`);
  if (bytes.length < 33) throw new ImageDecodeError(`${name}: corrupt PNG (the file ends inside its header)`);
  // Structure, CRCs, header fields and the pixel cap first; the decoder sees only checked chunks.
  const checked = checkPng(bytes, name, limits);
  const interlaced = checked.header.interlace === 1;
  let png: PngImage;
  inflateLimit = { bytes: checked.dataSize, name, active: true };
  try {
    // new Uint8Array(view) inside UPNG copies exactly the view's bytes.
    png = UPNG.decode(checked.bytes as unknown as ArrayBuffer);
  } catch (e) {
    if (e instanceof ImageDecodeError) throw e;
    throw new ImageDecodeError(`${name}: corrupt PNG (the image data could not be decoded${e instanceof RangeError ? ': it is shorter than the header implies' : ''})`);
  } finally {
    inflateLimit = { bytes: 0, name: '', active: false };
  }
  const { width: w, height: h, ctype, depth } = checked.header;
  const ch = PNG_CHANNELS[ctype]!;
  if (interlaced && depth === 1) {
    // upng-js 2.1 places 1-bit samples of interlaced images at the wrong bit (col&3 for col&7).
    throw new ImageDecodeError(`${name}: interlaced 1-bit PNGs are not supported; save it without interlacing`);
  }
  const raw = png.data ? new Uint8Array(png.data) : null;
  const bpl = Math.ceil((w * ch * depth) / 8);
  if (!raw || raw.length < h * bpl) {
    throw new ImageDecodeError(`${name}: corrupt PNG (the image data is missing or truncated)`);
  }
  if (ctype === 3 && !png.tabs.PLTE) throw new ImageDecodeError(`${name}: corrupt PNG (a palette image without a PLTE chunk)`);
  const data = pngToRgba(raw, w, h, ctype, depth, bpl, png.tabs, name);
  const channels = (ctype === 3 ? (png.tabs.tRNS ? 4 : 3) : ctype === 0 && png.tabs.tRNS !== undefined ? 2 : ch === 1 ? 1 : ch) as 1 | 2 | 3 | 4;
  return { width: w, height: h, data, format: 'png', channels, bitDepth: depth };
}

// Unfiltered, de-interlaced PNG rows (bpl bytes each) → RGBA8.
function pngToRgba(raw: Uint8Array, w: number, h: number, ctype: number, depth: number, bpl: number, tabs: ImageTabs, name: string): Uint8ClampedArray {
  const ch = PNG_CHANNELS[ctype]!;
  const out = new Uint8ClampedArray(w * h * 4);
  const maxv = (1 << depth) - 1;
  // The sample s of the row starting at byte r, as stored (0 .. 2^depth − 1).
  const sample =
    depth === 8
      ? (r: number, s: number) => raw[r + s]!
      : depth === 16
        ? (r: number, s: number) => (raw[r + 2 * s]! << 8) | raw[r + 2 * s + 1]!
        : (r: number, s: number) => {
            const bit = s * depth;
            return (raw[r + (bit >> 3)]! >> (8 - depth - (bit & 7))) & maxv;
          };
  // Stored sample → 8 bits, rounding to nearest (exact for 1/2/4/8 bits: 255 is a multiple).
  const to8 = depth === 16 ? (v: number) => ((v * 255 + 32767) / 65535) | 0 : (v: number) => (v * 255) / maxv;
  const plte = tabs.PLTE ?? [];
  const trns = tabs.tRNS;
  for (let y = 0; y < h; y++) {
    const r = y * bpl;
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 4;
      const s = x * ch;
      if (ctype === 3) {
        const j = sample(r, s);
        if (3 * j + 2 >= plte.length) throw new ImageDecodeError(`${name}: corrupt PNG (palette index ${j} is past the palette's ${plte.length / 3} entries)`);
        out[o] = plte[3 * j]!;
        out[o + 1] = plte[3 * j + 1]!;
        out[o + 2] = plte[3 * j + 2]!;
        out[o + 3] = Array.isArray(trns) && j < trns.length ? trns[j]! : 255;
      } else if (ctype === 0 || ctype === 4) {
        const g = sample(r, s);
        out[o] = out[o + 1] = out[o + 2] = to8(g);
        out[o + 3] = ctype === 4 ? to8(sample(r, s + 1)) : g === trns ? 0 : 255;
      } else {
        const rv = sample(r, s), gv = sample(r, s + 1), bv = sample(r, s + 2);
        out[o] = to8(rv);
        out[o + 1] = to8(gv);
        out[o + 2] = to8(bv);
        if (ctype === 6) out[o + 3] = to8(sample(r, s + 3));
        else out[o + 3] = Array.isArray(trns) && rv === trns[0] && gv === trns[1] && bv === trns[2] ? 0 : 255;
      }
    }
  }
  return out;
}

/**
 * Decodes a JPEG (baseline or progressive; grey, colour, CMYK/Adobe) to RGBA8 with jpeg-js.
 * Damaged or truncated files are an error (not a partly grey image). EXIF orientation is not
 * applied, as in Keras's load_img.
 * @example
 *   const img = decodeJpeg(bytes, 'cat.jpg');
 */
export function decodeJpeg(bytes: Uint8Array, name = 'image.jpg', limits: ImageLimits = {}): DecodedImage {
  if (!startsWith(bytes, [0xff, 0xd8, 0xff])) throw new ImageDecodeError(`${name}: not a JPEG file (no JPEG start marker)`);
  const maxPixels = limits.maxPixels ?? DEFAULT_MAX_PIXELS;
  const frame = jpegFrame(bytes);
  if (!frame) throw new ImageDecodeError(`${name}: corrupt JPEG (no frame header (SOF) before the image data); it is truncated or not a JPEG`);
  if (frame.width === 0 || frame.height === 0) throw new ImageDecodeError(`${name}: corrupt JPEG (frame size ${frame.width}×${frame.height})`);
  if (frame.width * frame.height > maxPixels) {
    throw new ImageDecodeError(`${name}: the image is ${frame.width}×${frame.height} (${((frame.width * frame.height) / 1e6).toFixed(1)} megapixels), over the limit of ${(maxPixels / 1e6).toFixed(1)} megapixels; resize it, or raise the limit (--max-pixels)`);
  }
  let img: { width: number; height: number; data: Uint8Array };
  const components = frame.components;
  try {
    // jpeg-js's own caps as a second line: pixels, and memory at 3 bytes of work per sample.
    img = jpeg.decode(bytes, {
      useTArray: true, formatAsRGBA: true, tolerantDecoding: false,
      maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.max(64, Math.ceil((maxPixels * 12) / 2 ** 20)),
    });
  } catch (e) {
    throw new ImageDecodeError(`${name}: corrupt or unsupported JPEG (${jpegReason(e)})`);
  }
  if (!(img.width > 0 && img.height > 0) || img.data.length !== img.width * img.height * 4) {
    throw new ImageDecodeError(`${name}: corrupt JPEG (decoded size ${img.width}×${img.height})`);
  }
  const data = new Uint8ClampedArray(img.data.buffer, img.data.byteOffset, img.data.length);
  return { width: img.width, height: img.height, data, format: 'jpeg', channels: components === 1 ? 1 : 3, bitDepth: 8 };
}

// The JPEG's frame header (SOFn): size and component count, or null when the markers before
// the first scan hold none (ITU T.81, 1992, §B.2.2).
function jpegFrame(bytes: Uint8Array): { width: number; height: number; components: number } | null {
  let i = 2;
  while (i + 9 < bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const m = bytes[i + 1]!;
    if (m === 0xff) {
      i++;
      continue;
    }
    if (m === 0xda || m === 0xd9) return null;
    const len = (bytes[i + 2]! << 8) | bytes[i + 3]!;
    if (m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc) {
      return { height: (bytes[i + 5]! << 8) | bytes[i + 6]!, width: (bytes[i + 7]! << 8) | bytes[i + 8]!, components: bytes[i + 9]! };
    }
    if (len < 2) return null;
    i += 2 + len;
  }
  return null;
}

// jpeg-js's own messages are written for users ("marker was not found", "limit exceeded");
// a JavaScript error from inside it (a TypeError on a damaged table) is not, so it is named.
function jpegReason(e: unknown): string {
  if (e instanceof TypeError || e instanceof RangeError || !(e instanceof Error)) return 'its tables or scan data are damaged';
  return e.message;
}

/**
 * Encodes RGBA8 pixels (an RgbaImage, or the bytes with their size) as a lossless PNG.
 * @example
 *   writeFileSync('overlay.png', encodePng(img));
 *   encodePng(new Uint8Array(4 * 2 * 2).fill(255), 2, 2); // a white 2×2 PNG
 */
export function encodePng(rgba: RgbaImage | Uint8Array | Uint8ClampedArray, width?: number, height?: number): Uint8Array {
  const img = 'data' in rgba ? rgba : { data: rgba, width: width ?? -1, height: height ?? -1 };
  const { data, width: w, height: h } = img;
  if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0)) {
    throw new RangeError(`encodePng: width and height must be positive integers (got ${w}×${h})`);
  }
  if (data.length !== w * h * 4) {
    throw new RangeError(`encodePng: ${data.length} bytes given for ${w}×${h} RGBA pixels, which take ${w * h * 4}`);
  }
  const px = data instanceof Uint8ClampedArray ? data : new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  return encodeApng([{ data: px, width: w, height: h }], [0]);
}
