// CAM metrics against independent references: Spearman and SSIM against direct float64 formulas
// and known values, map up-sampling against tfjs's resizeBilinear, the pointing games on planted
// peaks and boxes, the Gaussian blur against a direct 2-D sum, and deletion/insertion curves on a
// hand-weighted model whose score has a closed form.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { deletionCurve, insertionCurve, trapezoidAuc } from '../../src/cam/metrics/deletion-insertion.ts';
import { gaussianBlur } from '../../src/cam/metrics/blur.ts';
import { resizeMap, type MapLike } from '../../src/cam/metrics/maps.ts';
import { energyPointingGame, pointingAccuracy, pointingGame, type Region } from '../../src/cam/metrics/pointing.ts';
import { rank, spearman, ssim } from '../../src/cam/metrics/stats.ts';
import { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, rng, tf } from '../helpers.ts';

const s = suite('cam/metrics');
s.before(async () => { await gpu(); });

// ---------- statistics ----------

/** Average ranks by counting (O(n²)): rank_i = #{x_j < x_i} + (#{x_j = x_i} + 1) / 2. */
function rankRef(x: ArrayLike<number>): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    let less = 0, equal = 0;
    for (let j = 0; j < x.length; j++) { if (x[j]! < x[i]!) less++; else if (x[j] === x[i]) equal++; }
    out.push(less + (equal + 1) / 2);
  }
  return out;
}
/** Spearman via Pearson on counted ranks, in the textbook covariance form. */
function spearmanRef(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const ra = rankRef(a), rb = rankRef(b), n = ra.length;
  const ma = ra.reduce((p, q) => p + q, 0) / n, mb = rb.reduce((p, q) => p + q, 0) / n;
  let c = 0, va = 0, vb = 0;
  for (let i = 0; i < n; i++) { c += (ra[i]! - ma) * (rb[i]! - mb); va += (ra[i]! - ma) ** 2; vb += (rb[i]! - mb) ** 2; }
  return c / Math.sqrt(va * vb);
}

s('rank gives tied values their average rank', () => {
  assert.equal([...rank([10, 20, 20, 5])], [2, 3.5, 3.5, 1]);
  assert.equal([...rank([3, 3, 3])], [2, 2, 2]);
});

s('spearman: perfect, reversed, monotone transforms, a tied known value and random ties vs a counting reference (1e-12)', () => {
  const x = randn(50, 1);
  assert.is(spearman(x, x), 1);
  assert.ok(Math.abs(spearman(x, x.map((v) => Math.exp(3 * v))) - 1) < 1e-12, 'monotone transform keeps ρ = 1');
  assert.ok(Math.abs(spearman(x, x.map((v) => -v)) + 1) < 1e-12, 'reversed order gives ρ = −1');
  // x ranks [1, 2.5, 2.5, 4], y ranks [1, 3, 2, 4]: ρ = 4.5 / √(4.5·5) (scipy.stats.spearmanr agrees).
  assert.ok(Math.abs(spearman([1, 2, 2, 3], [1, 3, 2, 4]) - 4.5 / Math.sqrt(22.5)) < 1e-12);
  for (let seed = 0; seed < 5; seed++) {
    // Few distinct values: many ties, as in post-ReLU CAMs with zero regions.
    const a = Array.from(randn(64, 10 + seed, 0, 5), Math.floor), b = Array.from(randn(64, 20 + seed, 0, 4), Math.floor);
    assert.ok(Math.abs(spearman(a, b) - spearmanRef(a, b)) < 1e-12, `seed ${seed}: ${spearman(a, b)} vs ${spearmanRef(a, b)}`);
  }
  assert.ok(Number.isNaN(spearman([0, 0, 0], [1, 2, 3])), 'a constant map has no rank correlation (NaN, as scipy)');
  assert.throws(() => spearman([1, 2], [1, 2, 3]), /2 and 3 values/);
});

/** SSIM by the definition: every valid window position, the 2-D window as explicit weights. */
function ssimRef(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, win: number[][], L = 1): number {
  const k = win.length, c1 = (0.01 * L) ** 2, c2 = (0.03 * L) ** 2;
  let total = 0, count = 0;
  for (let y = 0; y + k <= h; y++) {
    for (let x = 0; x + k <= w; x++) {
      let ma = 0, mb = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) { const q = win[i]![j]!, p = (y + i) * w + x + j; ma += q * a[p]!; mb += q * b[p]!; }
      let va = 0, vb = 0, cab = 0;
      for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
        const q = win[i]![j]!, p = (y + i) * w + x + j;
        va += q * (a[p]! - ma) ** 2; vb += q * (b[p]! - mb) ** 2; cab += q * (a[p]! - ma) * (b[p]! - mb);
      }
      total += ((2 * ma * mb + c1) * (2 * cab + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2));
      count++;
    }
  }
  return total / count;
}
const gaussWin = (): number[][] => {
  const w = Array.from({ length: 11 }, (_, i) => Array.from({ length: 11 }, (_, j) => Math.exp(-((i - 5) ** 2 + (j - 5) ** 2) / 4.5)));
  const sum = w.flat().reduce((p, q) => p + q, 0);
  return w.map((r) => r.map((v) => v / sum));
};
const boxWin = (k: number): number[][] => Array.from({ length: k }, () => new Array<number>(k).fill(1 / (k * k)));
const mapOf = (h: number, w: number, values: ArrayLike<number>): MapLike => ({ height: h, width: w, values });

s('ssim: identical maps give 1; constant maps the closed form; random maps match the direct definition (1e-12)', () => {
  for (const [h, w] of [[16, 13], [7, 7], [5, 9], [1, 1]] as const) {
    const a = mapOf(h, w, randn(h * w, h + w, 0, 1));
    assert.ok(Math.abs(ssim(a, a) - 1) < 1e-12, `${h}×${w}: ssim(a, a) = ${ssim(a, a)}`);
  }
  // Constant maps: σ = 0, so SSIM = (2μaμb + C1) / (μa² + μb² + C1) at every window.
  const c1 = 1e-4, [ua, ub] = [0.2, 0.7];
  const got = ssim(mapOf(12, 12, new Float32Array(144).fill(ua)), mapOf(12, 12, new Float32Array(144).fill(ub)));
  assert.ok(Math.abs(got - (2 * ua * ub + c1) / (ua * ua + ub * ub + c1)) < 1e-6, `constant maps: ${got}`);
  // Random pairs (correlated through a shared part), Gaussian and uniform windows, data range 1 and 255.
  for (let seed = 0; seed < 3; seed++) {
    const [h, w] = [14 + seed, 12 + 2 * seed];
    const base = randn(h * w, 30 + seed, 0, 1), noise = randn(h * w, 40 + seed, 0, 1);
    const a = base, b = base.map((v, i) => 0.6 * v + 0.4 * noise[i]!);
    assertClose([ssim(mapOf(h, w, a), mapOf(h, w, b))], [ssimRef(a, b, h, w, gaussWin())], { rtol: 1e-12, atol: 1e-12, what: `gaussian ${h}×${w}` });
    assertClose([ssim(mapOf(h, w, a), mapOf(h, w, b), { window: 'uniform' })], [ssimRef(a, b, h, w, boxWin(7))], { rtol: 1e-12, atol: 1e-12, what: `uniform ${h}×${w}` });
    const a255 = Array.from(a, (v) => 255 * v), b255 = Array.from(b, (v) => 255 * v);
    assertClose([ssim(mapOf(h, w, a255), mapOf(h, w, b255), { dataRange: 255 })], [ssimRef(a, b, h, w, gaussWin())], { rtol: 1e-9, atol: 1e-12, what: 'scaled by L' });
  }
  // 'auto' on a 7×7 CAM uses the 7×7 box window; on 5×6 a 5×5 one.
  const a7 = randn(49, 5, 0, 1), b7 = randn(49, 6, 0, 1);
  assertClose([ssim(mapOf(7, 7, a7), mapOf(7, 7, b7))], [ssimRef(a7, b7, 7, 7, boxWin(7))], { rtol: 1e-12, atol: 1e-12, what: '7×7 auto' });
  const a5 = randn(30, 7, 0, 1), b5 = randn(30, 8, 0, 1);
  assertClose([ssim(mapOf(5, 6, a5), mapOf(5, 6, b5))], [ssimRef(a5, b5, 5, 6, boxWin(5))], { rtol: 1e-12, atol: 1e-12, what: '5×6 auto' });
  assert.ok(ssim(mapOf(7, 7, a7), mapOf(7, 7, b7)) < 0.5, 'independent random maps are dissimilar');
  assert.throws(() => ssim(mapOf(7, 7, a7), mapOf(1, 49, b7)), /7×7 and 1×49/);
  assert.throws(() => ssim(mapOf(7, 7, a7), mapOf(7, 7, b7), { window: 'gaussian' }), /at least 11×11/);
});

s('resizeMap matches tf.image.resizeBilinear with half-pixel centres (1e-6)', () => {
  for (const [h, w, oh, ow] of [[7, 7, 224, 224], [3, 5, 13, 8], [8, 8, 8, 8], [1, 1, 4, 3], [5, 4, 2, 3]] as const) {
    const v = randn(h * w, h * 10 + w);
    const want = ref(tf.image.resizeBilinear(tf.tensor4d(v, [1, h, w, 1]), [oh, ow], false, true));
    assertClose(resizeMap(mapOf(h, w, v), oh, ow).values, want, { rtol: 1e-5, atol: 1e-6, what: `${h}×${w}→${oh}×${ow}` });
  }
});

// ---------- pointing games ----------

// A 7×7 map with one hot cell (row 3, column 5), up-sampled to 224×224: half-pixel centres put that
// cell's centre at 32·5 + 15.5 = 175.5, so columns 175 and 176 (rows 111 and 112) tie at the peak.
const hot = new Float32Array(49);
hot[3 * 7 + 5] = 1;
const frame = { height: 224, width: 224 };

s('pointing game: peak of the up-sampled map, hits, misses and the tolerance radius', () => {
  const box = (x0: number, y0: number, x1: number, y1: number): Region => ({ box: { x0, y0, x1, y1 }, ...frame });
  const r = pointingGame(mapOf(7, 7, hot), box(170, 100, 180, 120));
  assert.equal(r, { hit: true, peak: { x: 175, y: 111 }, ties: 4 });
  assert.is(pointingGame(mapOf(7, 7, hot), box(0, 0, 112, 112)).hit, false, 'box on the other side');
  // Box edge semantics: pixel x is inside when x + ½ ∈ [x0, x1): x0 = 176 leaves column 175 out.
  assert.is(pointingGame(mapOf(7, 7, hot), box(176, 100, 200, 120)).hit, false);
  assert.is(pointingGame(mapOf(7, 7, hot), box(176, 100, 200, 120), { tolerance: 1 }).hit, true);
  // 16 px to the right of the peak: missed with the paper's 15 px, hit with 16.
  assert.is(pointingGame(mapOf(7, 7, hot), box(191, 111, 224, 112), { tolerance: 15 }).hit, false);
  assert.is(pointingGame(mapOf(7, 7, hot), box(191, 111, 224, 112), { tolerance: 16 }).hit, true);
  // Diagonal distance √(12² + 12²) ≈ 16.97: outside 16, inside 17.
  assert.is(pointingGame(mapOf(7, 7, hot), box(187, 123, 224, 224), { tolerance: 16 }).hit, false);
  assert.is(pointingGame(mapOf(7, 7, hot), box(187, 123, 224, 224), { tolerance: 17 }).hit, true);
  // The same region as a mask (Uint8Array 0/255 and Float32Array 0/1).
  const m8 = new Uint8Array(224 * 224), mf = new Float32Array(224 * 224);
  for (let y = 100; y < 120; y++) for (let x = 170; x < 180; x++) { m8[y * 224 + x] = 255; mf[y * 224 + x] = 1; }
  assert.is(pointingGame(mapOf(7, 7, hot), { mask: m8, ...frame }).hit, true);
  assert.is(pointingGame(mapOf(7, 7, hot), { mask: mf, ...frame }).hit, true);
  mf.fill(0);
  mf[111 * 224 + 200] = 1; // one object pixel 25 px away
  assert.is(pointingGame(mapOf(7, 7, hot), { mask: mf, ...frame }, { tolerance: 24 }).hit, false);
  assert.is(pointingGame(mapOf(7, 7, hot), { mask: mf, ...frame }, { tolerance: 25 }).hit, true);
  // A constant map points nowhere.
  assert.equal(pointingGame(mapOf(7, 7, new Float32Array(49)), box(0, 0, 224, 224)), { hit: false, peak: null, ties: 224 * 224 });
  assert.is(pointingAccuracy([{ hit: true }, { hit: false }, { hit: true }, { hit: true }]), 0.75);
  assert.throws(() => pointingGame(mapOf(7, 7, hot), { mask: new Uint8Array(10), ...frame }), /mask holds 10 values/);
  assert.throws(() => pointingGame(mapOf(7, 7, hot), box(10, 10, 5, 20)), /not a box/);
});

s('energy pointing game: 1 for a map inside the box, the area share for a uniform map, 0 for zeros', () => {
  const [h, w] = [40, 50];
  const region: Region = { box: { x0: 10, y0: 5, x1: 30, y1: 15 }, height: h, width: w };
  const inside = new Float32Array(h * w);
  const r = rng(3);
  for (let y = 5; y < 15; y++) for (let x = 10; x < 30; x++) inside[y * w + x] = r();
  assert.is(energyPointingGame(mapOf(h, w, inside), region), 1);
  // Uniform maps (at input resolution or a coarse one, up-sampled): 20·10 / (40·50) = 0.1.
  assert.ok(Math.abs(energyPointingGame(mapOf(h, w, new Float32Array(h * w).fill(0.3)), region) - 0.1) < 1e-12);
  assert.ok(Math.abs(energyPointingGame(mapOf(4, 5, new Float32Array(20).fill(1)), region) - 0.1) < 1e-12);
  // A map of 1 inside and 1/3 outside: 200 / (200 + 1800/3) = 0.25; negative values count as 0.
  const mixed = new Float64Array(h * w).fill(1 / 3);
  for (let y = 5; y < 15; y++) for (let x = 10; x < 30; x++) mixed[y * w + x] = 1;
  assert.ok(Math.abs(energyPointingGame(mapOf(h, w, mixed), region) - 0.25) < 1e-9);
  assert.ok(Math.abs(energyPointingGame(mapOf(h, w, mixed.map((v) => (v < 1 ? -v : v))), region) - 1) < 1e-12);
  assert.is(energyPointingGame(mapOf(h, w, new Float32Array(h * w)), region), 0);
  // A hand-counted mask case equals the box case.
  const mask = new Uint8Array(h * w);
  for (let y = 5; y < 15; y++) for (let x = 10; x < 30; x++) mask[y * w + x] = 1;
  assert.ok(Math.abs(energyPointingGame(mapOf(h, w, mixed), { mask, height: h, width: w }) - 0.25) < 1e-9);
});

// ---------- blur, deletion and insertion ----------

s('gaussianBlur matches a direct 2-D Gaussian sum with border renormalisation (1e-5) and keeps constants', () => {
  const [h, w, c, sigma, radius] = [9, 12, 3, 2, 3];
  const img = randn(h * w * c, 4);
  const got = gaussianBlur(img, h, w, c, { sigma, radius });
  const want = new Float32Array(h * w * c);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < c; ch++) {
    let s2 = 0, ws = 0;
    for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) {
      const yy = y + dy, xx = x + dx;
      if (yy < 0 || yy >= h || xx < 0 || xx >= w) continue;
      const g = Math.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
      s2 += g * img[(yy * w + xx) * c + ch]!;
      ws += g;
    }
    want[(y * w + x) * c + ch] = s2 / ws;
  }
  assertClose(got, want, { rtol: 1e-5, atol: 1e-6, what: 'blur' });
  assertClose(gaussianBlur(new Float32Array(60).fill(0.7), 4, 5, 3), new Float32Array(60).fill(0.7), { rtol: 1e-6, what: 'constant' });
});

/**
 * A hand-weighted model whose class-0 logit is 4·mean(region) − 2 (class 1's logit is 0):
 * a 1×1 convolution averages the 3 channels (ReLU), a Dense head reads the 4×4 region at rows
 * 2…5, columns 6…9 of the 12×12 map. With softmax, p0 = σ(4·mean − 2).
 */
const H = 12, W = 12, C = 3;
const inRegion = (p: number) => { const y = Math.floor(p / W), x = p % W; return y >= 2 && y < 6 && x >= 6 && x < 10; };
function regionModel(activation: 'softmax' | 'linear'): Model {
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'region_mean',
      layers: [
        { class_name: 'Conv2D', config: { name: 'avg', batch_input_shape: [null, H, W, C], filters: 1, kernel_size: [1, 1], strides: [1, 1], padding: 'valid', activation: 'relu', use_bias: true } },
        { class_name: 'Flatten', config: { name: 'flat' } },
        { class_name: 'Dense', config: { name: 'head', units: 2, activation, use_bias: true } },
      ],
    },
  });
  const kernel = new Float32Array(H * W * 2);
  for (let p = 0; p < H * W; p++) if (inRegion(p)) kernel[p * 2] = 4 / 16;
  m.setWeights(new Map([
    ['avg/kernel', new Float32Array(C).fill(1 / C)], ['avg/bias', new Float32Array(1)],
    ['head/kernel', kernel], ['head/bias', Float32Array.from([-2, 0])],
  ]));
  return m;
}
/** The model's class-0 probability for a host image, in float64. */
function p0(img: ArrayLike<number>): number {
  let s2 = 0;
  for (let p = 0; p < H * W; p++) {
    if (!inRegion(p)) continue;
    s2 += Math.max(0, (img[p * C]! + img[p * C + 1]! + img[p * C + 2]!) / C);
  }
  return 1 / (1 + Math.exp(-(4 * (s2 / 16) - 2)));
}
// The image: bright region ([0.8, 1]), dim elsewhere ([0, 0.1]).
const image = (() => {
  const r = rng(9), d = new Float32Array(H * W * C);
  for (let p = 0; p < H * W; p++) for (let ch = 0; ch < C; ch++) d[p * C + ch] = inRegion(p) ? 0.8 + 0.2 * r() : 0.1 * r();
  return d;
})();
const ideal = Float32Array.from({ length: H * W }, (_, p) => (inRegion(p) ? 1 : 0));
const inverted = ideal.map((v) => 1 - v);
const random = randn(H * W, 77, 0, 1);

/** The curve by the definition, rebuilding each step's image from scratch on the host. */
function curveRef(kind: 'deletion' | 'insertion', sal: ArrayLike<number>, steps: number, baseline: Float32Array): number[] {
  const idx = Array.from({ length: H * W }, (_, p) => p);
  const rankOf = new Map(idx.slice().sort((a, b) => (sal[b]! !== sal[a]! ? sal[b]! - sal[a]! : a - b)).map((p, i) => [p, i]));
  return Array.from({ length: steps + 1 }, (_, k) => {
    const n = Math.round((k * H * W) / steps);
    const img = new Float32Array(H * W * C);
    for (let p = 0; p < H * W; p++) {
      const changed = rankOf.get(p)! < n;
      const from = kind === 'deletion' ? (changed ? baseline : image) : (changed ? image : baseline);
      for (let ch = 0; ch < C; ch++) img[p * C + ch] = from[p * C + ch]!;
    }
    return p0(img);
  });
}

s('deletion/insertion curves on a region-mean model match the closed form (1e-5) and rank maps by AUC', async () => {
  const m = regionModel('softmax');
  const x = upload(image, [1, H, W, C]);
  const zeros = new Float32Array(H * W * C), blurred = gaussianBlur(image, H, W, C);
  const auc: Record<string, [number, number]> = {};
  for (const [name, sal] of [['ideal', ideal], ['random', random], ['inverted', inverted]] as const) {
    const map = mapOf(H, W, sal);
    // 13 steps of ~11 pixels (144/13 is not whole) in batches of 5: three forward passes, the last partial.
    const del = await deletionCurve(m, x, map, { steps: 13, batch: 5 });
    const ins = await insertionCurve(m, { data: image, shape: [1, H, W, C] }, map, { steps: 13, batch: 5 });
    assert.is(del.target, 0, 'the default target is the top-1 class');
    assert.is(del.fractions.length, 14);
    assert.is(del.fractions[0], 0);
    assert.is(del.fractions[13], 1);
    assertClose(del.scores, curveRef('deletion', sal, 13, zeros), { rtol: 1e-5, atol: 1e-6, what: `${name} deletion` });
    assertClose(ins.scores, curveRef('insertion', sal, 13, blurred), { rtol: 1e-5, atol: 1e-6, what: `${name} insertion` });
    assert.ok(Math.abs(del.auc - trapezoidAuc(del.fractions, del.scores)) < 1e-15);
    auc[name] = [del.auc, ins.auc];
  }
  const [dI, iI] = auc.ideal!, [dR, iR] = auc.random!, [dV, iV] = auc.inverted!;
  assert.ok(dI < dR && dR < dV, `deletion AUC: ideal ${dI} < random ${dR} < inverted ${dV}`);
  assert.ok(iI > iR && iR > iV, `insertion AUC: ideal ${iI} > random ${iR} > inverted ${iV}`);
  // A coarse 6×6 map (up-sampled to 12×12 inside) still ranks the region first.
  const coarse = Float32Array.from({ length: 36 }, (_, q) => { const y = Math.floor(q / 6), x2 = q % 6; return y >= 1 && y < 3 && x2 >= 3 && x2 < 5 ? 1 : 0; });
  const delCoarse = await deletionCurve(m, x, mapOf(6, 6, coarse), { steps: 12 });
  assert.ok(delCoarse.auc < dR, `coarse ideal map ${delCoarse.auc} beats random ${dR}`);
  x.dispose();
  m.dispose();
});

s('baselines (mean, constant), a logit head with softmax, an explicit target, and errors', async () => {
  const logits = regionModel('linear'), probs = regionModel('softmax');
  const x = upload(image, [1, H, W, C]);
  const map = mapOf(H, W, random);
  const a = await deletionCurve(probs, x, map, { steps: 6, baseline: 'mean' });
  const b = await deletionCurve(logits, x, map, { steps: 6, baseline: 'mean', softmax: true });
  assertClose(b.scores, a.scores, { rtol: 1e-5, atol: 1e-6, what: 'softmax of logits' });
  const mean = new Float32Array(H * W * C);
  for (let ch = 0; ch < C; ch++) {
    let s2 = 0;
    for (let p = 0; p < H * W; p++) s2 += image[p * C + ch]!;
    for (let p = 0; p < H * W; p++) mean[p * C + ch] = s2 / (H * W);
  }
  assertClose(a.scores, curveRef('deletion', random, 6, mean), { rtol: 1e-5, atol: 1e-6, what: 'mean baseline' });
  const k = await insertionCurve(probs, x, map, { steps: 6, baseline: 0.5, target: 1 });
  assertClose(k.scores, curveRef('insertion', random, 6, new Float32Array(H * W * C).fill(0.5)).map((p) => 1 - p), { rtol: 1e-5, atol: 1e-6, what: 'constant canvas, class 1' });
  assert.is(k.target, 1);
  try { await deletionCurve(probs, x, map, { target: 5 }); assert.unreachable('no error'); } catch (e) { assert.match(String(e), /target 5 is not a class index/); }
  try { await deletionCurve(probs, x, mapOf(5, 5, new Float32Array(24)), {}); assert.unreachable('no error'); } catch (e) { assert.match(String(e), /5×5 but holds 24/); }
  const x2 = upload(new Float32Array(2 * H * W * C), [2, H, W, C]);
  try { await insertionCurve(probs, x2, map); assert.unreachable('no error'); } catch (e) { assert.match(String(e), /\(1, H, W, C\)/); }
  x.dispose(); x2.dispose(); logits.dispose(); probs.dispose();
});

s.run();
