// The fragility figures (Ghorbani et al. 2019) against host formulas on hand-made maps — Spearman's
// 1 − 6Σd²/(n(n²−1)) without ties, top-k by counting, centres of mass by hand — with controls
// (identical maps; a blob moved by a known offset), the L∞ perturbations' bounds, and the Grad-CAM
// attack on the committed Fashion-MNIST CNN: its host map equals cam()'s, its tape gradient
// matches central differences, and it lowers its objective without leaving the ball or the class.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join, resolve } from 'node:path';
import { cam } from '../../src/cam/base.ts';
import { activationsAndGradient, gradCamTopKAttack, inputGradient, shareAndGradient } from '../../src/cam/metrics/fragility-attack.ts';
import {
  centreOfMass, fragilityFigures, projectedSignStep, randomSignPerturbation, topKIndices, topKIntersection, type InputBox,
} from '../../src/cam/metrics/fragility.ts';
import { resizeMap } from '../../src/cam/metrics/maps.ts';
import { nodeFiles } from '../../src/io/node-files.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import type { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { readIdx } from '../../src/train/idx.ts';
import { gpu, rng } from '../helpers.ts';
import { fashionMnistDir, requireRealData } from '../real-data.ts';

const s = suite('cam/fragility');
const root = resolve(import.meta.dirname, '../..');

const blob = (h: number, w: number, cy: number, cx: number, sigma: number) =>
  ({ height: h, width: w, values: Float64Array.from({ length: h * w }, (_, i) => Math.exp(-(((Math.floor(i / w) - cy) ** 2 + ((i % w) - cx) ** 2) / (2 * sigma ** 2)))) });

s('Spearman equals 1 − 6Σd²/(n(n²−1)) on tie-free maps (1e-12)', () => {
  const r = rng(3);
  for (let t = 0; t < 5; t++) {
    const a = Float64Array.from({ length: 64 }, () => r()), b = Float64Array.from({ length: 64 }, () => r());
    const rk = (v: Float64Array) => { const o = [...v.keys()].sort((i, j) => v[i]! - v[j]!); const q = new Array<number>(v.length); o.forEach((i, k) => { q[i] = k + 1; }); return q; };
    const ra = rk(a), rb = rk(b), n = 64;
    const want = 1 - (6 * ra.reduce((acc, x, i) => acc + (x - rb[i]!) ** 2, 0)) / (n * (n * n - 1));
    const got = fragilityFigures({ height: 8, width: 8, values: a }, { height: 8, width: 8, values: b }).spearman;
    assert.ok(Math.abs(got - want) < 1e-12, `${got} vs ${want}`);
  }
});

s('top-k intersection: hand-made values and a count by thresholds', () => {
  assert.is(topKIntersection([3, 2, 1, 0], [0, 2, 1, 3], 2), 0.5);
  assert.is(topKIntersection([3, 2, 1, 0], [3, 2, 1, 0], 3), 1);
  assert.is(topKIntersection([1, 0, 0, 0], [0, 0, 0, 1], 1), 0);
  assert.equal(topKIndices([0.1, 0.9, 0.5, 0.9], 2), [1, 3]); // ties: lower index first
  const r = rng(5);
  const a = Array.from({ length: 100 }, () => r()), b = Array.from({ length: 100 }, () => r());
  // Reference: the k-th largest value as a threshold (no ties in random doubles).
  const k = 17;
  const ta = [...a].sort((x, y) => y - x)[k - 1]!, tb = [...b].sort((x, y) => y - x)[k - 1]!;
  const both = a.filter((v, i) => v >= ta && b[i]! >= tb).length;
  assert.is(topKIntersection(a, b, k), both / k);
});

s('centre of mass on hand-made maps', () => {
  assert.equal(centreOfMass({ height: 1, width: 3, values: [0, 0, 1] }), { y: 0, x: 2 });
  assert.equal(centreOfMass({ height: 2, width: 2, values: [1, 0, 0, 3] }), { y: 0.75, x: 0.75 });
  const z = centreOfMass({ height: 2, width: 2, values: [0, 0, 0, 0] });
  assert.ok(Number.isNaN(z.x) && Number.isNaN(z.y));
});

s('controls: identical maps give intersection 1, ρ 1, shift 0; a blob moved by (3, 4) shifts by 5 px', () => {
  const a = blob(32, 32, 12, 11, 2);
  const same = fragilityFigures(a, { ...a, values: a.values.slice() });
  assert.equal(same, { topK: 1, spearman: 1, centreShift: 0 });
  const moved = fragilityFigures(a, blob(32, 32, 15, 15, 2));
  assert.ok(Math.abs(moved.centreShift - 5) < 1e-4, `shift ${moved.centreShift}`);
  assert.ok(moved.topK < 0.5 && moved.spearman < 0.9, JSON.stringify(moved));
  // Different grids are compared at the larger one: a 7×7 map against itself up-sampled.
  const small = blob(7, 7, 3, 3, 1);
  const up = resizeMap(small, 28, 28);
  assert.equal(fragilityFigures(small, up).topK, 1);
});

s('random sign perturbations: |Δ| = ε unless clamped, inside the range, seeded, about half each sign', () => {
  const r = rng(9);
  const x = Float32Array.from({ length: 3000 }, () => r());
  const box: InputBox = { eps: [0.03, 0.05, 0.07], lo: [0, 0, 0], hi: [1, 1, 1] };
  const p = randomSignPerturbation(x, 3, box, 4);
  let up = 0;
  for (let i = 0; i < x.length; i++) {
    const e = box.eps[i % 3]!, d = p[i]! - x[i]!;
    assert.ok(p[i]! >= 0 && p[i]! <= 1);
    if (p[i] !== 0 && p[i] !== 1) assert.ok(Math.abs(Math.abs(d) - e) < 1e-6, `value ${i}: Δ ${d}, ε ${e}`);
    if (d > 0) up++;
  }
  assert.ok(up > 1300 && up < 1700, `${up} of 3000 up`);
  assert.equal(randomSignPerturbation(x, 3, box, 4), p);
  // The projected step never leaves the ball around x0.
  let y: Float32Array = x;
  for (let t = 0; t < 8; t++) y = projectedSignStep(y, x, Float32Array.from({ length: x.length }, () => r() - 0.5), 3, box, 0.4);
  for (let i = 0; i < x.length; i++) assert.ok(Math.abs(y[i]! - x[i]!) <= box.eps[i % 3]! + 1e-6);
});

let model: Model | null = null;
async function testImage(): Promise<Float32Array | null> {
  const d = fashionMnistDir();
  if (!d) {
    if (requireRealData) assert.unreachable('Fashion-MNIST missing (apt-get install dataset-fashion-mnist)');
    return null;
  }
  const imgs = (await readIdx(nodeFiles(d), 't10k-images-idx3-ubyte.gz')).data as Uint8Array;
  return Float32Array.from(imgs.subarray(0, 784), (v) => v / 255); // test image 0 (an ankle boot), 'unit' preset
}

s.before(async () => {
  await gpu();
  model = await loadLayersModel(join(root, 'weights/fashion-mnist-cnn/model.json'));
});
s.after(() => model?.dispose());

s('attack: the host Grad-CAM equals cam()\'s (1e-5); dShare/dx matches central differences (5 %)', async () => {
  const img = await testImage();
  if (!img) return;
  // The image's exact-zero background sits on the kink of conv1 units with zero bias (one-sided
  // derivatives differ there); a little noise moves it off every kink.
  const rn = rng(2);
  const x0 = img.map((x) => x + 0.02 * (rn() - 0.5));
  const xt = upload(x0, [1, 28, 28, 1]);
  const r = await cam(model!, xt, { method: 'gradcam', layer: 'conv3', upsample: false });
  const target = r.images[0]!.target;
  const { a, g, shape } = await activationsAndGradient(model!, xt, 'conv3', target);
  const [, h, w, c] = shape as [number, number, number, number];
  const host = shareAndGradient(a, g, h, w, c, 28, 28, null).map;
  const peak = Math.max(...host);
  host.forEach((v, i) => assert.ok(Math.abs(v / peak - r.images[0]!.map.values[i]!) < 1e-5, `map[${i}]`));
  const set = new Set(topKIndices(resizeMap({ height: h, width: w, values: host }, 28, 28).values, 78));
  const { dA } = shareAndGradient(a, g, h, w, c, 28, 28, set);
  const G = upload(dA, shape);
  const dx = await inputGradient(model!, xt, 'conv3', G);
  G.dispose();
  xt.dispose();
  // Directional derivative along a random direction against (D(x + hv) − D(x − hv)) / 2h.
  const rr = rng(11);
  const v = Float32Array.from({ length: 784 }, () => rr() - 0.5);
  const share = async (x: Float32Array) => {
    const t = upload(x, [1, 28, 28, 1]);
    const q = await activationsAndGradient(model!, t, 'conv3', target);
    t.dispose();
    return shareAndGradient(q.a, q.g, h, w, c, 28, 28, set).share;
  };
  const step = 1e-3;
  const dPlus = await share(x0.map((x, i) => x + step * v[i]!)), dMinus = await share(x0.map((x, i) => x - step * v[i]!));
  const fd = (dPlus - dMinus) / (2 * step);
  const an = dx.reduce((acc, d, i) => acc + d * v[i]!, 0);
  assert.ok(Math.abs(fd - an) <= 0.05 * Math.abs(fd) + 1e-4, `tape ${an} vs finite differences ${fd}`);
});

s('attack: stays in the ε-ball and the valid range, keeps the class, lowers the share on the top-k set', async () => {
  const x0 = await testImage();
  if (!x0) return;
  const xt = upload(x0, [1, 28, 28, 1]);
  const target = (await cam(model!, xt, { layer: 'conv3', upsample: false })).images[0]!.target;
  xt.dispose();
  const box: InputBox = { eps: [8 / 255], lo: [0], hi: [1] };
  const r = await gradCamTopKAttack(model!, x0, [28, 28, 1], { layer: 'conv3', target, box, steps: 6 });
  for (let i = 0; i < 784; i++) assert.ok(Math.abs(r.x[i]! - x0[i]!) <= 8 / 255 + 1e-6 && r.x[i]! >= 0 && r.x[i]! <= 1);
  assert.ok(r.steps >= 1, 'at least one step kept the class');
  assert.ok(r.objective[r.objective.length - 1]! < r.objective[0]!, `share ${r.objective.join(' → ')}`);
  const xa = upload(r.x, [1, 28, 28, 1]);
  const after = (await cam(model!, xa, { layer: 'conv3', target: 'top1', upsample: false })).images[0]!.target;
  xa.dispose();
  assert.is(after, target);
});

s.run();
