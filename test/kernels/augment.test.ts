// GPU augmentation against a host formula: flips and translations exact, brightness/contrast
// and cutout to float rounding; per-image parameters drawn deterministically from a seed.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { AUG, AUG_PARAMS, augment } from '../../src/kernels/augment.ts';
import { augmentBatch, augmentParams } from '../../src/train/augment.ts';
import { rng } from '../../src/train/data.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn } from '../helpers.ts';

const s = suite('kernels/augment');
s.before(async () => { await gpu(); });

/** The documented formula, in float64 on the host. */
function host(x: Float32Array, [n, h, w, c]: number[], p: Float32Array, contrast: boolean, clamp?: [number, number]): Float64Array {
  const y = new Float64Array(x.length);
  for (let b = 0; b < n!; b++) {
    const r = p.subarray(b * AUG_PARAMS);
    const mean = new Float64Array(c!);
    for (let i = 0; i < h! * w!; i++) for (let k = 0; k < c!; k++) mean[k] = mean[k]! + x[(b * h! * w! + i) * c! + k]! / (h! * w!);
    for (let yy = 0; yy < h!; yy++) for (let xx = 0; xx < w!; xx++) for (let k = 0; k < c!; k++) {
      let sx = r[AUG.flipH]! > 0.5 ? w! - 1 - xx : xx;
      let sy = r[AUG.flipV]! > 0.5 ? h! - 1 - yy : yy;
      sx -= Math.round(r[AUG.dx]!);
      sy -= Math.round(r[AUG.dy]!);
      let v = sx >= 0 && sx < w! && sy >= 0 && sy < h! ? x[((b * h! + sy) * w! + sx) * c! + k]! : 0;
      if (contrast) v = (v - mean[k]!) * r[AUG.contrast]! + mean[k]!;
      v += r[AUG.brightness]!;
      if (clamp) v = Math.min(clamp[1], Math.max(clamp[0], v));
      const [ct, cl, ch, cw] = [r[AUG.cutTop]!, r[AUG.cutLeft]!, r[AUG.cutH]!, r[AUG.cutW]!];
      if (yy >= ct && yy < ct + ch && xx >= cl && xx < cl + cw) v = 0;
      y[((b * h! + yy) * w! + xx) * c! + k] = v;
    }
  }
  return y;
}

const shapes = [[3, 7, 5, 3], [2, 28, 28, 1], [1, 1, 1, 5], [4, 6, 9, 2]];

s('flips and translations (zero fill) are exact', async () => {
  for (const [i, shape] of shapes.entries()) {
    const [n, h, w] = shape as [number, number, number, number];
    const x = randn(shape.reduce((a, b) => a * b, 1), 10 + i, 0, 1);
    const p = augmentParams(n, h, w, { flipHorizontal: true, flipVertical: true, translate: 3 }, rng(i + 1));
    const y = augment(upload(x, shape), upload(p, [n, AUG_PARAMS]), { contrast: false });
    assertClose(await y.data(), host(x, shape, p, false), { rtol: 0, atol: 0, what: `geometry ${shape}` });
  }
});

s('every flip/shift combination by hand on a 3×4 image', async () => {
  const shape = [1, 3, 4, 1];
  const x = Float32Array.from({ length: 12 }, (_, i) => i + 1);
  for (const [fh, fv, dy, dx] of [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, -2], [1, 1, -1, 1]]) {
    const p = new Float32Array(AUG_PARAMS);
    p[AUG.flipH] = fh!; p[AUG.flipV] = fv!; p[AUG.dy] = dy!; p[AUG.dx] = dx!; p[AUG.contrast] = 1;
    const y = await augment(upload(x, shape), upload(p, [1, AUG_PARAMS]), { contrast: false }).data();
    assertClose(y, host(x, shape, p, false), { rtol: 0, atol: 0, what: `${fh}${fv}${dy}${dx}` });
  }
  // A worked example: shift right by 1 → first column zero, the rest moved.
  const p = new Float32Array(AUG_PARAMS);
  p[AUG.dx] = 1; p[AUG.contrast] = 1;
  const y = await augment(upload(x, shape), upload(p, [1, AUG_PARAMS]), { contrast: false }).data();
  assert.equal([...y], [0, 1, 2, 3, 0, 5, 6, 7, 0, 9, 10, 11]);
});

s('brightness, contrast (per-image channel mean), clamp and cutout match the host formula (rtol 1e-6)', async () => {
  for (const [i, shape] of shapes.entries()) {
    const [n, h, w] = shape as [number, number, number, number];
    const x = randn(shape.reduce((a, b) => a * b, 1), 30 + i, 0, 1);
    const o = { flipHorizontal: true, translate: 2, brightness: 0.2, contrast: 0.5, cutout: { size: 3 } };
    const p = augmentParams(n, h, w, o, rng(40 + i));
    for (const clamp of [undefined, [0, 1] as [number, number]]) {
      const y = augment(upload(x, shape), upload(p, [n, AUG_PARAMS]), { clamp });
      assertClose(await y.data(), host(x, shape, p, true, clamp), { rtol: 1e-6, atol: 1e-6, what: `photometric ${shape} clamp ${clamp}` });
    }
  }
});

s('parameters are deterministic by seed and honour the ranges', () => {
  const o = { flipHorizontal: true, translate: 2, brightness: 0.1, contrast: 0.3, cutout: { size: 4, probability: 0.5 } };
  const a = augmentParams(200, 16, 16, o, rng(7));
  assert.equal([...a], [...augmentParams(200, 16, 16, o, rng(7))]);
  assert.not.equal([...a], [...augmentParams(200, 16, 16, o, rng(8))]);
  let flips = 0, cuts = 0;
  for (let i = 0; i < 200; i++) {
    const r = a.subarray(i * AUG_PARAMS, (i + 1) * AUG_PARAMS);
    flips += r[AUG.flipH]!;
    cuts += r[AUG.cutH]! > 0 ? 1 : 0;
    assert.ok(Math.abs(r[AUG.dx]!) <= 2 && Math.abs(r[AUG.dy]!) <= 2 && Number.isInteger(r[AUG.dx]));
    assert.ok(Math.abs(r[AUG.brightness]!) <= 0.1 && Math.abs(r[AUG.contrast]! - 1) <= 0.3);
    assert.ok(r[AUG.cutH]! <= 4 && r[AUG.cutTop]! + r[AUG.cutH]! <= 16);
    assert.is(r[AUG.flipV], 0);
  }
  assert.ok(flips > 70 && flips < 130, `about half flipped (${flips})`);
  assert.ok(cuts > 70 && cuts < 130, `about half cut out (${cuts})`);
});

s('augmentBatch: same seed, same batch; a bad params shape is a ShapeError', async () => {
  const shape = [5, 8, 8, 3];
  const x = upload(randn(5 * 64 * 3, 3, 0, 1), shape);
  const o = { flipHorizontal: true, translate: 2, brightness: 0.1, contrast: 0.2, clamp: [0, 1] as [number, number] };
  const a = await augmentBatch(x, o, rng(3)).data();
  const b = await augmentBatch(x, o, rng(3)).data();
  assert.equal([...a], [...b]);
  assert.not.equal([...a], [...(await augmentBatch(x, o, rng(4)).data())]);
  assert.throws(() => augment(x, upload(new Float32Array(AUG_PARAMS), [1, AUG_PARAMS])), /params must be \(5,10\)/);
});

s.run();
