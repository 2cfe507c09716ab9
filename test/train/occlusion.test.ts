// The triage's occlusion check against probabilities worked out on the host: a linear softmax
// model whose class 0 reads the border (the cue) and class 1 the centre (the object), on a 6×6
// image whose background is 0.2.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Model } from '../../src/nn/model.ts';
import { backgroundOf, occlusionProbes } from '../../src/train/occlusion.ts';
import { gpu } from '../helpers.ts';

const s = suite('train/occlusion');
const H = 6;
const isCue = (i: number) => { const y = Math.floor(i / H), x = i % H; return y === 0 || x === 0 || y === H - 1 || x === H - 1; };
const isObj = (i: number) => { const y = Math.floor(i / H), x = i % H; return y >= 2 && y < 4 && x >= 2 && x < 4; };
const cue = { mask: Uint8Array.from({ length: 36 }, (_, i) => (isCue(i) ? 1 : 0)), height: H, width: H };
const obj = { mask: Uint8Array.from({ length: 36 }, (_, i) => (isObj(i) ? 1 : 0)), height: H, width: H };
// Logit 0 = 0.5·Σ border, logit 1 = 2·Σ centre block.
const W0 = Float32Array.from({ length: 36 }, (_, i) => (isCue(i) ? 0.5 : 0));
const W1 = Float32Array.from({ length: 36 }, (_, i) => (isObj(i) ? 2 : 0));

function model(): Model {
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: { name: 'lin', layers: [{ class_name: 'Flatten', config: { name: 'flat', batch_input_shape: [null, H, H, 1] } }, { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true } }] },
  });
  const kernel = new Float32Array(72);
  for (let i = 0; i < 36; i++) { kernel[i * 2] = W0[i]!; kernel[i * 2 + 1] = W1[i]!; }
  m.setWeights(new Map([['out/kernel', kernel], ['out/bias', new Float32Array(2)]]));
  return m;
}

/** p(class) of the linear model on the host. */
function hostP(img: Float32Array, cls: number): number {
  let a = 0, b = 0;
  for (let i = 0; i < 36; i++) { a += W0[i]! * img[i]!; b += W1[i]! * img[i]!; }
  const m = Math.max(a, b);
  return Math.exp((cls ? b : a) - m) / (Math.exp(a - m) + Math.exp(b - m));
}

s('backgroundOf: the median outside the excluded pixels, per channel', () => {
  assert.equal(backgroundOf([5, 1, 9, 2, 3], 5, 1, Uint8Array.of(1, 0, 1, 0, 0)), [2]);
  assert.equal(backgroundOf([1, 10, 2, 20, 3, 30], 3, 2, null), [2, 20]);
  assert.equal(backgroundOf([4, 6], 2, 1, Uint8Array.of(1, 1)), [6]); // nothing outside: all pixels
});

s('occlusionProbes: p(true) as given, without object, without cue, blank; against the host', async () => {
  await gpu();
  const m = model();
  const img = Float32Array.from({ length: 36 }, (_, i) => (isCue(i) ? 1 : isObj(i) ? 0.6 : 0.2));
  const fill = (mask: (i: number) => boolean, bg = 0.2) => img.map((v, i) => (mask(i) ? bg : v));
  // Image 0: true class 0 (the cue's class); image 1: the same pixels, true class 1, no cue region.
  const p = await occlusionProbes(m, Float32Array.of(...img, ...img), [2, H, H, 1], [0, 1], [obj, obj], [cue, null]);
  const close = (a: number | null, b: number, what: string) => assert.ok(a !== null && Math.abs(a - b) < 1e-5, `${what}: ${a} vs ${b}`);
  assert.ok(Math.abs(p[0]!.background[0]! - 0.2) < 1e-7, `background ${p[0]!.background}`);
  close(p[0]!.pFull, hostP(img, 0), 'full');
  close(p[0]!.pNoObject, hostP(fill(isObj), 0), 'no object');
  close(p[0]!.pNoCue, hostP(fill(isCue), 0), 'no cue');
  close(p[0]!.pBlank, hostP(fill((i) => isObj(i) || isCue(i)), 0), 'blank');
  // Class 0 lives on the border: it stays top-1 without the object and falls without the cue.
  assert.is(p[0]!.top1NoObject, hostP(fill(isObj), 0) >= 0.5);
  assert.ok(p[0]!.pNoCue! < 0.5 * p[0]!.pFull);
  // No cue region: pNoCue is null, the blank image only removes the object, and the background is
  // the median of everything outside the object: 20 border pixels at 1 outnumber 12 at 0.2.
  assert.is(p[1]!.pNoCue, null);
  assert.equal(p[1]!.background, [1]);
  close(p[1]!.pNoObject, hostP(fill(isObj, 1), 1), 'image 1 no object');
  close(p[1]!.pBlank, hostP(fill(isObj, 1), 1), 'image 1 blank');
  const err = await occlusionProbes(m, img, [1, H, H, 1], [0], [{ mask: new Uint8Array(16), height: 4, width: 4 }]).then(() => null, (e: Error) => e);
  assert.match(err?.message ?? 'no error', /object region is 4×4 but the image is 6×6/);
  m.dispose();
});

s.run();
