// The text renderer: DejaVu Sans from its npm package through opentype.js, filled by the
// anti-aliased path filler; glyphs land where measured, holes stay open, size scales the ink.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultFont, type TextFont } from '../../src/report/text.ts';
import { canvas, fillPath } from '../../src/report/raster.ts';
import type { RgbaImage } from '../../src/io/image.ts';

const s = suite('report/text');
let font: TextFont;
s.before(async () => { font = await defaultFont(); });

/** Pixels well away from the white background (some channel < 200) in [x0,x1)×[y0,y1), and their bounding box. */
function ink(img: RgbaImage, x0 = 0, y0 = 0, x1 = img.width, y1 = img.height) {
  let n = 0, minX = Infinity, maxX = -Infinity, minY = Infinity, maxY = -Infinity;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) {
    const o = (y * img.width + x) * 4;
    if (Math.min(img.data[o]!, img.data[o + 1]!, img.data[o + 2]!) < 200) { n++; minX = Math.min(minX, x); maxX = Math.max(maxX, x); minY = Math.min(minY, y); maxY = Math.max(maxY, y); }
  }
  return { n, minX, maxX, minY, maxY };
}

s('draws text inside its measured box, above the baseline, in the given colour', () => {
  const img = canvas(200, 40);
  const w = font.draw(img, 'Sneaker 87.3%', 10, 25, 14, [200, 0, 0]);
  assert.ok(Math.abs(w - font.measure('Sneaker 87.3%', 14)) < 1e-9);
  assert.ok(w > 60 && w < 130, `width ${w}`);
  const b = ink(img);
  assert.ok(b.n > 80, `only ${b.n} inked pixels`);
  assert.ok(b.minX >= 10 && b.maxX <= 10 + w + 1, `x ${b.minX}..${b.maxX}`);
  assert.ok(b.maxY <= 25 && b.minY >= 25 - font.ascent(14) - 1, `y ${b.minY}..${b.maxY}`);
  // Some fully covered pixels take the colour exactly; edges are blended (anti-aliasing).
  let full = 0, partial = 0;
  for (let i = 0; i < img.data.length; i += 4) {
    if (img.data[i] === 200 && img.data[i + 1] === 0) full++;
    else if (img.data[i + 1]! < 255) partial++;
  }
  assert.ok(full > 10 && partial > 10, `full ${full}, partial ${partial}`);
});

s('the counter of an "o" stays open (non-zero fill of nested contours) and bigger text has more ink', () => {
  const img = canvas(60, 60);
  font.draw(img, 'o', 10, 45, 40, [0, 0, 0]);
  const b = ink(img);
  const cx = Math.round((b.minX + b.maxX) / 2), cy = Math.round((b.minY + b.maxY) / 2);
  assert.is(img.data[(cy * 60 + cx) * 4], 255, 'the centre of "o" is background');
  assert.ok(img.data[(cy * 60 + b.minX + 1) * 4]! < 100, 'its left stroke is inked');
  const small = canvas(60, 60);
  font.draw(small, 'o', 10, 45, 20, [0, 0, 0]);
  assert.ok(ink(small).n * 2.5 < b.n, `ink at 20 px ${ink(small).n} vs 40 px ${b.n}`);
});

s('alignment: right-aligned text ends at x, centred text straddles it', () => {
  const a = canvas(200, 30), c = canvas(200, 30);
  font.draw(a, 'Coat', 150, 20, 14, [0, 0, 0], 'right');
  font.draw(c, 'Coat', 100, 20, 14, [0, 0, 0], 'center');
  const ba = ink(a), bc = ink(c);
  assert.ok(ba.maxX <= 150 && ba.maxX >= 145, `right edge ${ba.maxX}`);
  assert.ok(bc.minX < 100 && bc.maxX > 100 && Math.abs((bc.minX + bc.maxX) / 2 - 100) < 3, `centre ${bc.minX}..${bc.maxX}`);
});

s('fit shortens with an ellipsis to the width', () => {
  assert.is(font.fit('Bag', 100, 14), 'Bag');
  const f = font.fit('T-shirt/top and more words', 60, 14);
  assert.ok(f.endsWith('…') && font.measure(f, 14) <= 60, f);
});

s('fillPath: a 10×10 square covers exactly 100 pixels; a half-pixel edge blends to half', () => {
  const img = canvas(20, 20);
  fillPath(img, [{ type: 'M', x: 2, y: 3 }, { type: 'L', x: 12, y: 3 }, { type: 'L', x: 12, y: 13 }, { type: 'L', x: 2, y: 13 }, { type: 'Z' }], [0, 0, 0]);
  let n = 0;
  for (let i = 0; i < img.data.length; i += 4) if (img.data[i] === 0) n++;
  assert.is(n, 100);
  assert.is(img.data[(3 * 20 + 1) * 4], 255);
  const h = canvas(10, 10);
  fillPath(h, [{ type: 'M', x: 2.5, y: 2 }, { type: 'L', x: 6, y: 2 }, { type: 'L', x: 6, y: 6 }, { type: 'L', x: 2.5, y: 6 }, { type: 'Z' }], [0, 0, 0]);
  assert.ok(Math.abs(h.data[(3 * 10 + 2) * 4]! - 127.5) <= 1, `edge pixel ${h.data[(3 * 10 + 2) * 4]}`);
});

s.run();
