// Frames and animated PNGs: the bars follow the probabilities, the true class is marked, text is
// drawn, and the APNG decodes with upng-js to every frame, pixel for pixel, at the right size.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import UPNG from 'upng-js';
import { BAR_COLOR, TRUE_BAR_COLOR, barLayout, barRowHeight } from '../../src/report/chart.ts';
import { frameLayout, renderFrame, type FrameContent } from '../../src/report/frame.ts';
import { defaultFont, type TextFont } from '../../src/report/text.ts';
import { animationFrames, animations, encodeApng, sideBySide } from '../../src/report/animation.ts';
import type { CamHistory, ImageRecord } from '../../src/train/recorder.ts';
import type { RgbaImage } from '../../src/io/image.ts';
import { rng } from '../helpers.ts';

const s = suite('report/animation');
let font: TextFont;
s.before(async () => { font = await defaultFont(); });

const NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

function noiseImage(h: number, w: number, seed: number): RgbaImage {
  const r = rng(seed);
  const data = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < data.length; i += 4) { const v = Math.floor(255 * r()); data.set([v, v, (v * 7) & 255, 255], i); }
  return { width: w, height: h, data };
}

function content(p: number[], trueClass: number, image = noiseImage(28, 28, 1)): FrameContent {
  const top = p.map((prob, k) => ({ index: k, label: NAMES[k]!, prob }));
  const rank = top.findIndex((t) => t.index === trueClass);
  return { image, map: { height: 7, width: 7, values: new Float32Array(49).map((_, i) => (i % 7) / 6) }, epoch: 3, lastEpoch: 9, title: 'img-0', top, trueClass, trueLabel: NAMES[trueClass]!, trueProb: rank >= 0 ? p[rank]! : 0.01, trueRank: rank >= 0 ? rank + 1 : 7 };
}

const same = (img: RgbaImage, o: number, c: readonly number[]) => img.data[o] === c[0] && img.data[o + 1] === c[1] && img.data[o + 2] === c[2];

/** How many bar-coloured pixels lie on the bar track along the middle of bar row k. */
function barLength(img: RgbaImage, k: number, colour: readonly number[]): number {
  const L = frameLayout(28, 28);
  const y = L.barsTop + k * barRowHeight(L.size) + Math.round(barRowHeight(L.size) / 2);
  const lay = barLayout(0, img.width, L.size, font);
  let n = 0;
  for (let x = lay.barX; x < lay.barEnd; x++) if (same(img, (y * img.width + x) * 4, colour)) n++;
  return n;
}

s('a 28×28 image gives 224-px-wide frames (8×), bars as long as their probabilities, the true bar green', () => {
  const f = renderFrame(content([0.9, 0.07, 0.03], 0), font);
  const L = frameLayout(28, 28);
  assert.is(f.width, 224);
  assert.is(f.height, L.height);
  const track = barLayout(0, 224, L.size, font);
  const full = track.barEnd - track.barX;
  const b0 = barLength(f, 0, TRUE_BAR_COLOR), b1 = barLength(f, 1, BAR_COLOR), b2 = barLength(f, 2, BAR_COLOR);
  assert.ok(Math.abs(b0 - 0.9 * full) <= 2, `90 % bar ${b0} of ${full}`);
  assert.ok(Math.abs(b1 - 0.07 * full) <= 2, `7 % bar ${b1}`);
  assert.ok(b0 > b1 && b1 > b2, `${b0} > ${b1} > ${b2}`);
  assert.is(barLength(f, 0, BAR_COLOR), 0, 'the true class bar is not in the ordinary colour');
  // A 10 % true class in second place: its bar is green and shorter than the 85 % one.
  const g = renderFrame(content([0.85, 0.1, 0.05], 1), font);
  assert.ok(barLength(g, 1, TRUE_BAR_COLOR) < barLength(g, 0, BAR_COLOR));
  assert.is(barLength(g, 0, TRUE_BAR_COLOR), 0);
});

s('text is drawn: ink in the header, in the label column and in the percentage column', () => {
  const f = renderFrame(content([0.6, 0.3, 0.1], 2), font);
  const L = frameLayout(28, 28);
  const lay = barLayout(0, 224, L.size, font);
  const inked = (x0: number, y0: number, x1: number, y1: number) => {
    let n = 0;
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) { const o = (y * f.width + x) * 4; if (Math.min(f.data[o]!, f.data[o + 1]!, f.data[o + 2]!) < 160) n++; }
    return n;
  };
  assert.ok(inked(0, 0, 112, L.header) > 30, 'epoch text');
  const row = barRowHeight(L.size);
  for (let k = 0; k < 3; k++) {
    assert.ok(inked(lay.labelX, L.barsTop + k * row, lay.barX - 2, L.barsTop + (k + 1) * row) > 15, `label ${k}`);
    assert.ok(inked(lay.barEnd + 2, L.barsTop + k * row, 224, L.barsTop + (k + 1) * row) > 15, `percentage ${k}`);
  }
  // Different text, different pixels: "epoch 3/9" vs "epoch 4/9".
  const g = renderFrame({ ...content([0.6, 0.3, 0.1], 2), epoch: 4 }, font);
  let diff = 0;
  for (let i = 0; i < L.header * 224 * 4; i++) if (f.data[i] !== g.data[i]) diff++;
  assert.ok(diff > 10, `header differs in ${diff} bytes`);
});

function history(epochs: number, images: number, seed: number, step = 1): CamHistory {
  const r = rng(seed);
  const rec = (): ImageRecord => {
    const p = [r(), r(), r()].sort((a, b) => b - a);
    const sum = p[0]! + p[1]! + p[2]! + 0.1;
    return { top3: p.map((v, k) => ({ index: k * 3, label: NAMES[k * 3]!, prob: v / sum })), trueProb: p[0]! / sum, trueRank: 1, map: { height: 7, width: 7, values: new Float32Array(49).map(() => r()) } };
  };
  return {
    method: 'gradcam', layer: null, classNames: NAMES,
    tracked: Array.from({ length: images }, (_, i) => ({ name: `im${i}`, trueClass: 0, trueLabel: NAMES[0]!, region: null })),
    display: Array.from({ length: images }, (_, i) => noiseImage(28, 28, 10 + i)),
    epochs: Array.from({ length: epochs }, (_, e) => ({ epoch: e * step, ms: 1, images: Array.from({ length: images }, rec) })),
  };
}

function decodeAll(png: Uint8Array): { width: number; height: number; frames: Uint8Array[]; delays: number[] } {
  const d = UPNG.decode(png.buffer.slice(png.byteOffset, png.byteOffset + png.byteLength) as ArrayBuffer);
  return { width: d.width, height: d.height, frames: UPNG.toRGBA8(d).map((b) => new Uint8Array(b)), delays: d.frames.map((f) => f.delay) };
}

s('APNG: one per tracked image, decodes with upng-js to every frame, pixel for pixel, with the delays', async () => {
  const h = history(6, 2, 3);
  const pngs = await animations(h, { delayMs: 400, lastDelayMs: 1500 });
  assert.is(pngs.length, 2);
  for (let i = 0; i < 2; i++) {
    const want = await animationFrames(h, i);
    const got = decodeAll(pngs[i]!);
    assert.is(got.width, 224);
    assert.is(got.height, want[0]!.height);
    assert.is(got.frames.length, 6);
    got.frames.forEach((f, k) => assert.ok(f.length === want[k]!.data.length && f.every((v, j) => v === want[k]!.data[j]), `image ${i} frame ${k} differs`));
    assert.equal(got.delays, [400, 400, 400, 400, 400, 1500]);
  }
});

s('encodeApng: RGBA noise frames that compress worse than raw stay whole (UPNG.encode 2.1 breaks on them); one frame is a PNG', () => {
  const frames = [0, 1, 2].map((k): RgbaImage => {
    const r = rng(50 + k);
    return { width: 13, height: 9, data: new Uint8ClampedArray(13 * 9 * 4).map(() => Math.floor(256 * r())) };
  });
  const got = decodeAll(encodeApng(frames, [10, 20, 30]));
  assert.is(got.frames.length, 3);
  got.frames.forEach((f, k) => assert.ok(f.every((v, j) => v === frames[k]!.data[j]), `frame ${k}`));
  // The reason for writing the chunks here: UPNG.encode's buffer (raw size + 100 bytes) is too small.
  let naive = true;
  try {
    const p = UPNG.encode(frames.map((f) => Uint8Array.from(f.data).buffer), 13, 9, 0, [10, 20, 30]);
    naive = UPNG.toRGBA8(UPNG.decode(p)).every((b, k) => new Uint8Array(b).every((v, j) => v === frames[k]!.data[j]));
  } catch {
    naive = false;
  }
  assert.is(naive, false, 'UPNG.encode round-trips these frames now; encodeApng could use it');
  const one = decodeAll(encodeApng(frames.slice(0, 1), [10]));
  assert.is(one.frames.length, 1);
  assert.ok(one.frames[0]!.every((v, j) => v === frames[0]!.data[j]));
  assert.throws(() => encodeApng([frames[0]!, noiseImage(9, 12, 1)], [1, 1]), /share one size/);
});

s('sideBySide: frames at the union of both models\' epochs, each half the latest record of its model', async () => {
  const a = history(4, 1, 5, 1); // epochs 0,1,2,3
  const b = history(2, 1, 6, 2); // epochs 0,2
  const [png] = await sideBySide(a, b, ['Inception', 'VGG-19']);
  const got = decodeAll(png!);
  const fa = await animationFrames(a, 0, {}, 'Inception');
  const fb = await animationFrames(b, 0, {}, 'VGG-19');
  assert.is(got.frames.length, 4);
  assert.is(got.width, 224 * 2 + 8);
  const half = (f: Uint8Array, x0: number, ref: RgbaImage) => {
    for (let y = 0; y < ref.height; y++) for (let x = 0; x < ref.width * 4; x++) if (f[(y * got.width + x0) * 4 + x] !== ref.data[y * ref.width * 4 + x]) return false;
    return true;
  };
  const bAt = [0, 0, 1, 1];
  got.frames.forEach((f, k) => {
    assert.ok(half(f, 0, fa[k]!), `frame ${k}: left is model A's epoch ${k}`);
    assert.ok(half(f, 232, fb[bAt[k]!]!), `frame ${k}: right is model B's record ${bAt[k]}`);
  });
  let err = '';
  try { await sideBySide(a, history(2, 2, 7), ['x', 'y']); } catch (e) { err = String(e); }
  assert.match(err, /track 1 and 2 images/);
});

s.run();
