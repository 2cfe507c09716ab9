// PNG and JPEG decoding against independently written files and an independent reader: every
// PNG colour type and bit depth (plus tRNS, Adam7 and every filter), JPEG within codec
// tolerance, skimage's photographs, and the errors for damaged or foreign files.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { decodeImage, decodeJpeg, decodePng, encodePng, ImageDecodeError, readImage, sniffImageFormat, type RgbaImage } from '../../src/io/image.ts';
import { memoryFiles } from '../../src/io/files.ts';
import { rng } from '../helpers.ts';
import { dataTest, missingSkimage, skimagePhoto } from '../real-data.ts';
import { readPng8, writePng, type TestPng } from './png-writer.ts';

const s = suite('io/image');

const CH: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

// The RGBA8 a correct decoder must give for a TestPng, from the PNG specification's rules.
function expected(p: TestPng): Uint8Array {
  const out = new Uint8Array(p.width * p.height * 4);
  const max = 2 ** p.depth - 1;
  const to8 = (v: number) => Math.round((v * 255) / max);
  for (let y = 0; y < p.height; y++) {
    for (let x = 0; x < p.width; x++) {
      const o = 4 * (y * p.width + x);
      const v = (c: number) => p.at(x, y, c);
      const trns16 = p.trns && p.trns.length >= 2 ? Array.from({ length: p.trns.length / 2 }, (_, i) => (p.trns![2 * i]! << 8) | p.trns![2 * i + 1]!) : [];
      let px: number[];
      if (p.ctype === 0) px = [to8(v(0)), to8(v(0)), to8(v(0)), trns16.length && v(0) === trns16[0] ? 0 : 255];
      else if (p.ctype === 4) px = [to8(v(0)), to8(v(0)), to8(v(0)), to8(v(1))];
      else if (p.ctype === 2) px = [to8(v(0)), to8(v(1)), to8(v(2)), trns16.length && v(0) === trns16[0] && v(1) === trns16[1] && v(2) === trns16[2] ? 0 : 255];
      else if (p.ctype === 6) px = [0, 1, 2, 3].map((c) => to8(v(c)));
      else {
        const j = v(0);
        px = [p.plte![3 * j]!, p.plte![3 * j + 1]!, p.plte![3 * j + 2]!, p.trns && j < p.trns.length ? p.trns[j]! : 255];
      }
      out.set(px, o);
    }
  }
  return out;
}

// Seeded samples; for 16-bit, values near the rounding boundaries of v·255/65535 are included.
function randomPng(ctype: number, depth: number, w = 13, h = 7, seed = 1): TestPng {
  const r = rng(seed * 100 + ctype * 10 + depth);
  const max = 2 ** depth - 1;
  const ch = CH[ctype]!;
  const n = ctype === 3 ? Math.min(max + 1, 37) : max + 1;
  const samples = Array.from({ length: w * h * ch }, (_, i) => (depth === 16 && i % 5 === 0 ? [0, 65535, 128, 32767, 32896, 383, 384][i % 7]! : Math.floor(r() * n)));
  const p: TestPng = { width: w, height: h, ctype, depth, at: (x, y, c) => samples[(y * w + x) * ch + c]! };
  if (ctype === 3) p.plte = Array.from({ length: 3 * n }, () => Math.floor(r() * 256));
  return p;
}

function bytesEqual(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.is(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (got[i] !== want[i]) assert.unreachable(`${what}: byte ${i} (pixel ${i >> 2}, channel ${i & 3}) is ${got[i]}, want ${want[i]}`);
  }
}

function throwsNaming(fn: () => unknown, pattern: RegExp, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, Error, what);
    assert.ok(pattern.test((e as Error).message), `${what}: message "${(e as Error).message}" does not match ${pattern}`);
    return;
  }
  assert.unreachable(`${what}: no error`);
}

const TYPES: [number, number[]][] = [[0, [1, 2, 4, 8, 16]], [2, [8, 16]], [3, [1, 2, 4, 8]], [4, [8, 16]], [6, [8, 16]]];

s('every PNG colour type and bit depth decodes exactly (16-bit rounded to nearest)', () => {
  let cases = 0;
  for (const [ctype, depths] of TYPES) {
    for (const depth of depths) {
      const p = randomPng(ctype, depth);
      const img = decodePng(writePng(p), `t${ctype}-${depth}.png`);
      assert.is(img.width, 13);
      assert.is(img.height, 7);
      assert.is(img.bitDepth, depth);
      assert.is(img.channels, ctype === 3 ? 3 : CH[ctype]);
      bytesEqual(img.data, expected(p), `colour type ${ctype}, depth ${depth}`);
      cases++;
    }
  }
  assert.is(cases, 15);
});

s('16-bit samples round to the nearest 8-bit value, not the high byte', () => {
  // v·255/65535 = v/257: 255 → 0.992 → 1 (high byte 0), 383 → 1.490 → 1, 386 → 1.502 → 2 (high byte 1),
  // 65408 → 254.5058 → 255 (high byte 255), 0x80ff → 128.49 → 128, 0x7f80 → 127.0 → 127
  const vals = [255, 383, 386, 65535, 0, 0x7f80, 65408, 0x80ff];
  const p: TestPng = { width: vals.length, height: 1, ctype: 0, depth: 16, at: (x) => vals[x]! };
  const img = decodePng(writePng(p));
  assert.equal([...img.data].filter((_, i) => i % 4 === 0), [1, 1, 2, 255, 0, 127, 255, 128]);
});

s('tRNS transparency for grey, RGB and palette images', () => {
  const grey: TestPng = { ...randomPng(0, 2, 9, 5, 3), trns: [0, 2] };
  const rgb16: TestPng = { width: 3, height: 2, ctype: 2, depth: 16, at: (x, y, c) => (x === 1 && y === 1 ? [1000, 2000, 3000][c]! : x * 20000 + c), trns: [0x03, 0xe8, 0x07, 0xd0, 0x0b, 0xb8] };
  const pal: TestPng = { ...randomPng(3, 4, 11, 4, 5), trns: [0, 128, 255] };
  for (const [name, p] of [['grey 2-bit', grey], ['RGB 16-bit', rgb16], ['palette 4-bit', pal]] as const) {
    const img = decodePng(writePng(p), name);
    const want = expected(p);
    assert.ok([...want].some((v, i) => i % 4 === 3 && v !== 255), `${name}: the case has transparent pixels`);
    bytesEqual(img.data, want, name);
  }
});

s('Adam7-interlaced PNGs decode like plain ones; 1-bit interlaced is a clear error', () => {
  for (const [ctype, depth] of [[2, 8], [0, 2], [0, 4], [6, 16], [3, 4], [4, 8]] as const) {
    const p = { ...randomPng(ctype, depth, 13, 11, 7), interlace: true };
    bytesEqual(decodePng(writePng(p)).data, expected(p), `interlaced type ${ctype} depth ${depth}`);
  }
  throwsNaming(() => decodePng(writePng({ ...randomPng(0, 1, 13, 11), interlace: true }), 'bits.png'), /bits\.png.*interlaced 1-bit/, '1-bit interlaced');
});

s('encodePng round-trips RGBA, opaque RGB and few-colour (palette) images losslessly', () => {
  const r = rng(11);
  // Random pixels do not compress (upng-js's own encode() truncates such files); 40×30 has > 256 colours.
  const w = 40, h = 30, n = w * h * 4;
  const rgba = new Uint8ClampedArray(n).map(() => Math.floor(r() * 256));
  const opaque = rgba.map((v, i) => (i % 4 === 3 ? 255 : v));
  const fewColours = new Uint8ClampedArray(n).map((_, i) => (i % 4 === 3 ? 255 : [0, 90, 255][Math.floor(i / 4) % 3]!));
  const ctypes = new Set<number>();
  for (const [name, data] of [['rgba', rgba], ['opaque', opaque], ['few colours', fewColours]] as const) {
    const png = encodePng(data, w, h);
    ctypes.add(png[25]!);
    const img = decodeImage(png, name);
    assert.is(img.format, 'png');
    bytesEqual(img.data, data, `round trip ${name}`);
    bytesEqual(decodeImage(encodePng({ width: w, height: h, data })).data, data, `round trip ${name} (RgbaImage form)`);
  }
  assert.ok(ctypes.size >= 2, `UPNG chose colour types ${[...ctypes]}: the cases should cover more than one`);
  assert.equal([...ctypes].sort(), [2, 3, 6], 'colour types chosen by the encoder');
  throwsNaming(() => encodePng(rgba, 40, 29), /4800 bytes.*40×29/, 'size mismatch');
});

// A smooth, JPEG-friendly test picture with an edge, at a size that is not a multiple of 8 or 16.
function testPicture(w: number, h: number): RgbaImage {
  const data = new Uint8ClampedArray(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = 4 * (y * w + x);
      data[o] = (255 * x) / (w - 1);
      data[o + 1] = (255 * y) / (h - 1);
      data[o + 2] = x > w / 2 ? 200 : 40;
      data[o + 3] = 255;
    }
  }
  return { width: w, height: h, data };
}

s('a JPEG from jpeg-js\'s encoder decodes within JPEG tolerance (quality 95)', () => {
  const pic = testPicture(37, 23);
  const bytes = new Uint8Array(jpeg.encode({ width: 37, height: 23, data: pic.data }, 95).data);
  assert.is(sniffImageFormat(bytes), 'jpeg');
  const img = decodeImage(bytes, 'pic.jpg');
  assert.is(img.format, 'jpeg');
  assert.is(img.channels, 3);
  assert.is(img.width, 37);
  assert.is(img.height, 23);
  let sum = 0, max = 0;
  for (let i = 0; i < pic.data.length; i++) {
    if (i % 4 === 3) {
      assert.is(img.data[i], 255);
      continue;
    }
    const d = Math.abs(img.data[i]! - pic.data[i]!);
    sum += d;
    max = Math.max(max, d);
  }
  const mean = sum / (pic.data.length * 0.75);
  assert.ok(mean < 2.5, `mean |error| ${mean.toFixed(2)} >= 2.5`);
  assert.ok(max < 40, `max |error| ${max} >= 40`);
});

s('damaged and foreign files are errors that name the file and the format', () => {
  const png = writePng(randomPng(2, 8, 30, 20));
  throwsNaming(() => decodeImage(png.subarray(0, 60), 'cut.png'), /cut\.png: corrupt PNG/, 'truncated PNG');
  const garbled = png.slice();
  const idat = [...garbled.keys()].find((i) => String.fromCharCode(...garbled.subarray(i, i + 4)) === 'IDAT')!;
  for (let i = idat + 4; i < idat + 40; i++) garbled[i] = 0x5a;
  throwsNaming(() => decodeImage(garbled, 'garbled.png'), /garbled\.png: corrupt PNG/, 'garbled IDAT');
  throwsNaming(() => decodeImage(new TextEncoder().encode('GIF89a....'), 'anim.gif'), /anim\.gif: not a PNG or JPEG file \(the file is a GIF\)/, 'GIF');
  throwsNaming(() => decodeImage(new TextEncoder().encode('hello world'), 'notes.txt'), /notes\.txt: not a PNG or JPEG.*unknown format/, 'text');
  throwsNaming(() => decodeImage(new Uint8Array(0), 'empty.png'), /empty\.png: .*empty/, 'empty');
  const jpg = new Uint8Array(jpeg.encode({ width: 37, height: 23, data: testPicture(37, 23).data }, 90).data);
  throwsNaming(() => decodeJpeg(jpg.subarray(0, jpg.length >> 1), 'half.jpg'), /half\.jpg: corrupt/, 'truncated JPEG');
  try {
    decodeImage(new Uint8Array([1, 2, 3]), 'x');
  } catch (e) {
    assert.instance(e, ImageDecodeError);
  }
});

s('readImage names the file as its source describes it', async () => {
  const files = memoryFiles({ 'a/b.png': new TextEncoder().encode('nope') });
  try {
    await readImage(files, 'a/b.png');
    assert.unreachable('no error');
  } catch (e) {
    assert.match((e as Error).message, /^memory:a\/b\.png: not a PNG or JPEG/);
  }
  const ok = memoryFiles({ 'ok.png': encodePng(new Uint8Array(16).fill(7), 2, 2) });
  assert.is((await readImage(ok, 'ok.png')).width, 2);
});

// skimage's photographs: their known sizes, and every pixel against the independent reader.
const PHOTOS: [string, number, number, 1 | 3 | 4][] = [
  ['chelsea.png', 451, 300, 3], ['astronaut.png', 512, 512, 3], ['camera.png', 512, 512, 1], ['coffee.png', 600, 400, 3],
  ['palette_color.png', 10, 10, 3], ['logo.png', 500, 500, 4],
];

dataTest(s, 'skimage photographs decode to their sizes and match an independent PNG reader', missingSkimage, () => {
  for (const [name, w, h, ch] of PHOTOS) {
    const bytes = new Uint8Array(readFileSync(skimagePhoto(name)));
    const img = decodeImage(bytes, name);
    assert.is(img.width, w, `${name} width`);
    assert.is(img.height, h, `${name} height`);
    assert.is(img.channels, ch, `${name} channels`);
    bytesEqual(img.data, readPng8(bytes).data, name);
  }
  const chelsea = decodeImage(readFileSync(skimagePhoto('chelsea.png')));
  assert.equal([...chelsea.data.subarray(0, 3)], [143, 120, 104], 'chelsea[0, 0] (skimage: data.chelsea()[0, 0])');
  const rocket = decodeImage(readFileSync(skimagePhoto('rocket.jpg')), 'rocket.jpg');
  assert.equal([rocket.width, rocket.height, rocket.channels], [640, 427, 3], 'rocket.jpg size');
  throwsNaming(() => decodeImage(readFileSync(skimagePhoto('truncated.jpg')), 'truncated.jpg'), /truncated\.jpg: corrupt/, "skimage's truncated.jpg");
});

s.run();
