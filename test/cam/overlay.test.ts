// Colour maps against their published sources (matplotlib's tables and segment data, Google's
// Turbo table) and the overlays: blend and intensity styles, up-sampling, regions, PNG output.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { COLORMAPS, colormapLut, infernoRgb, jetRgb, lutIndex, turboRgb, viridisRgb } from '../../src/cam/colormaps.ts';
import { heatmapRgba, overlay, overlayPng, upsampleMap } from '../../src/cam/overlay.ts';
import { decodeImage, decodePng, type RgbaImage } from '../../src/io/image.ts';
import { assertClose, randn, ref, rng, tf } from '../helpers.ts';
import { dataTest, missingSkimage, skimagePhoto } from '../real-data.ts';

const s = suite('cam/overlay');

const lutAt = (name: (typeof COLORMAPS)[number], i: number) => [...colormapLut(name).subarray(3 * i, 3 * i + 3)];
const to8 = (rgb: number[]) => rgb.map((v) => Math.round(255 * v));

s('jet: matplotlib segment data at 0, 0.5, 1 and a breakpoint', () => {
  assertClose(jetRgb(0), [0, 0, 0.5], { atol: 1e-12, what: 'jet(0)' });
  assertClose(jetRgb(0.5), [0.15 / 0.31, 1, 1 - 0.16 / 0.31], { atol: 1e-12, what: 'jet(0.5)' });
  assertClose(jetRgb(1), [0.5, 0, 0], { atol: 1e-12, what: 'jet(1)' });
  assertClose(jetRgb(0.11), [0, 0, 1], { atol: 1e-12, what: 'jet(0.11)' });
  assert.equal(lutAt('jet', 0), [0, 0, 128]);
  assert.equal(lutAt('jet', 255), [128, 0, 0]);
});

s('turbo: the published table at its control points and between them', () => {
  // Entries of Mikhailov's 256-entry table (gist ee72ba41…): 0, 4 and 12 (between control
  // points), 60, 128, 132, 252 and 255.
  const table: [number, number[]][] = [
    [0, [0.18995, 0.07176, 0.23217]], [4, [0.2086, 0.11802, 0.34607]], [12, [0.23915, 0.20833, 0.54686]],
    [60, [0.18625, 0.69775, 0.95498]], [128, [0.64362, 0.98999, 0.23356]], [132, [0.68494, 0.97941, 0.21602]],
    [252, [0.51989, 0.02756, 0.0078]], [255, [0.4796, 0.01583, 0.01055]],
  ];
  for (const [i, rgb] of table) {
    assertClose(turboRgb(i / 255), rgb, { atol: 0.006, rtol: 0, what: `turbo entry ${i}` });
    assertClose(lutAt('turbo', i), to8(rgb), { atol: 2, rtol: 0, what: `turbo LUT ${i}` });
  }
});

s('viridis and inferno: matplotlib\'s values at 0, 0.5, 1 and monotonic luminance', () => {
  // matplotlib _cm_listed.py entries 0, 128 (what a 256-colour map gives for 0.5) and 255.
  const mpl: Record<'viridis' | 'inferno', number[][]> = {
    viridis: [[0.267004, 0.004874, 0.329415], [0.127568, 0.566949, 0.550556], [0.993248, 0.906157, 0.143936]],
    inferno: [[0.001462, 0.000466, 0.013866], [0.735683, 0.215906, 0.330245], [0.988362, 0.998364, 0.644924]],
  };
  const f = { viridis: viridisRgb, inferno: infernoRgb };
  for (const name of ['viridis', 'inferno'] as const) {
    mpl[name].forEach((rgb, k) => {
      const i = [0, 128, 255][k]!;
      // The polynomial fits are off by up to 0.033 at the ends (inferno's blue at 0) and 0.013 mid-way.
      const tol = i === 128 ? 0.015 : 0.035;
      assertClose(f[name](i / 255), rgb, { atol: tol, rtol: 0, what: `${name}(${i}/255) vs matplotlib` });
      assertClose(lutAt(name, i), to8(rgb), { atol: Math.ceil(255 * tol), rtol: 0, what: `${name} LUT ${i}` });
    });
    let prev = -1;
    for (let i = 0; i < 256; i++) {
      const [r, g, b] = lutAt(name, i) as [number, number, number];
      const y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
      assert.ok(y >= prev - 0.5, `${name}: luminance falls at entry ${i} (${prev.toFixed(2)} → ${y.toFixed(2)})`);
      prev = y;
    }
  }
  // (No check of the fit's own coefficients: they would be the implementation's constants copied
  // back; matplotlib's table above is the independent reference.)
});

s('LUT indexing rounds, clamps and maps NaN to 0; unknown colormaps name the choices', () => {
  assert.equal([0, 0.5, 1, -3, 7, NaN, 1 / 255, 0.499 / 255].map(lutIndex), [0, 128, 255, 0, 255, 0, 1, 0]);
  assert.throws(() => colormapLut('hot' as 'jet'), /unknown colormap 'hot'; use one of jet, turbo, viridis, inferno/);
  assert.throws(() => overlay(solid(2, 2, 9), { height: 1, width: 1, values: [1] }, { colormap: 'parula' as 'jet' }), /unknown colormap "parula"/);
});

function solid(w: number, h: number, seed: number): RgbaImage {
  const r = rng(seed);
  return { width: w, height: h, data: new Uint8ClampedArray(w * h * 4).map((_, i) => (i % 4 === 3 ? 200 : Math.floor(r() * 256))) };
}

s('heatmapRgba colours each value through the LUT', () => {
  const map = { height: 2, width: 3, values: Float32Array.of(0, 0.25, 0.5, 0.75, 1, 2) };
  const img = heatmapRgba(map, 'viridis');
  assert.is(img.width, 3);
  assert.is(img.height, 2);
  for (let i = 0; i < 6; i++) {
    assert.equal([...img.data.subarray(4 * i, 4 * i + 4)], [...lutAt('viridis', lutIndex(map.values[i]!)), 255], `pixel ${i}`);
  }
  assert.throws(() => heatmapRgba({ height: 2, width: 2, values: [1, 2, 3] }), /3 values are not 2×2/);
});

s('upsampleMap matches tf.image.resizeBilinear (half-pixel)', () => {
  const values = randn(35, 3, 0, 1);
  const want = ref(tf.image.resizeBilinear(tf.tensor3d(values, [5, 7, 1]), [31, 45], false, true));
  assertClose(upsampleMap({ height: 5, width: 7, values }, 31, 45).values, want, { atol: 1e-5, what: 'upsample' });
});

s('blend: opacity 0 leaves the photo, opacity 1 gives the heat map, 0.5 mixes; alpha kept', () => {
  const img = solid(9, 6, 4);
  const zero = { height: 3, width: 3, values: new Float32Array(9) };
  assert.equal([...overlay(img, zero, { opacity: 0 }).data], [...img.data], 'opacity 0, zero map');
  const map = { height: 6, width: 9, values: randn(54, 5, 0, 1) };
  const full = overlay(img, map, { opacity: 1, colormap: 'turbo' });
  const heat = heatmapRgba(map, 'turbo');
  const half = overlay(img, map, { colormap: 'turbo' });
  for (let i = 0; i < 54; i++) {
    for (let c = 0; c < 3; c++) {
      assert.is(full.data[4 * i + c], heat.data[4 * i + c], `opacity 1, pixel ${i}`);
      const want = 0.5 * img.data[4 * i + c]! + 0.5 * heat.data[4 * i + c]!;
      assert.ok(Math.abs(half.data[4 * i + c]! - want) <= 0.5, `opacity 0.5, pixel ${i}: ${half.data[4 * i + c]} vs ${want}`);
    }
    assert.is(half.data[4 * i + 3], 200, 'alpha');
  }
});

s('intensity: a zero map darkens to floor·pixel, a one map leaves the photo, in between is linear', () => {
  const img = solid(8, 5, 6);
  const at = (v: number) => ({ height: 2, width: 2, values: new Float32Array(4).fill(v) });
  const dark = overlay(img, at(0), { style: 'intensity', floor: 0.1 });
  const black = overlay(img, at(0), { style: 'intensity', floor: 0 });
  const same = overlay(img, at(1), { style: 'intensity', floor: 0.1 });
  const mid = overlay(img, at(0.5), { style: 'intensity', floor: 0.2 });
  for (let i = 0; i < img.data.length; i++) {
    if (i % 4 === 3) {
      assert.is(dark.data[i], 200);
      continue;
    }
    const p = img.data[i]!;
    assert.ok(Math.abs(dark.data[i]! - 0.1 * p) <= 0.5, `floor 0.1 at ${i}`);
    assert.is(black.data[i], 0);
    assert.is(same.data[i], p);
    assert.ok(Math.abs(mid.data[i]! - 0.6 * p) <= 0.5, `map 0.5, floor 0.2 at ${i}`);
  }
});

s('sizes, regions and bad options', () => {
  const img = solid(20, 10, 8);
  const map = { height: 7, width: 7, values: new Float32Array(49).fill(1) };
  const out = overlay(img, map, { style: 'intensity', floor: 0, region: { top: 0, left: 5, height: 10, width: 10 } });
  assert.equal([out.width, out.height, out.data.length], [20, 10, 800]);
  for (let x = 0; x < 20; x++) {
    const inside = x >= 5 && x < 15;
    assert.is(out.data[4 * (3 * 20 + x)], inside ? img.data[4 * (3 * 20 + x)] : 0, `column ${x} ${inside ? 'inside' : 'outside'} the region`);
  }
  assert.throws(() => overlay(img, map, { opacity: 1.5 }), /opacity must be in \[0, 1\], got 1.5/);
  assert.throws(() => overlay(img, map, { style: 'glow' as 'blend' }), /style must be 'blend' or 'intensity'/);
  assert.throws(() => overlay(img, map, { region: { top: 5, left: 0, height: 10, width: 10 } }), /region .* is not inside the 20×10 image/);
  const png = decodePng(overlayPng(img, map));
  assert.equal([png.width, png.height], [20, 10]);
  assert.equal([...png.data], [...overlay(img, map).data], 'overlayPng decodes to overlay()');
});

dataTest(s, 'chelsea.png with a synthetic map: the hot spot lands where the map peaks', missingSkimage, () => {
  const img = decodeImage(readFileSync(skimagePhoto('chelsea.png')), 'chelsea.png');
  const values = new Float32Array(49);
  for (let y = 0; y < 7; y++) for (let x = 0; x < 7; x++) values[y * 7 + x] = Math.exp(-((y - 2) ** 2 + (x - 4) ** 2) / 2);
  const out = decodePng(overlayPng(img, { height: 7, width: 7, values }, { colormap: 'jet', opacity: 0.6 }));
  assert.equal([out.width, out.height], [451, 300]);
  // Map cell (2, 4) covers rows 86–128 and columns 258–322 of the photo: red there, blue in a corner.
  const px = (x: number, y: number) => [...out.data.subarray(4 * (y * 451 + x), 4 * (y * 451 + x) + 3)] as [number, number, number];
  const [r1, , b1] = px(290, 107);
  const [r2, , b2] = px(10, 290);
  assert.ok(r1 > b1 + 60, `peak pixel should be red: ${px(290, 107)}`);
  assert.ok(b2 > r2 + 40, `corner pixel should be blue: ${px(10, 290)}`);
});

s.run();
