// A method written outside the library, through camlight/cam's public API only (no library file
// edited): a weighting snippet passed as `method` (the channel mean of the activations), and a
// method with its own run, registered by name (the channel sum of squared activations, from a
// forward pass only). Both against formulas on the host from tfjs activations, with controls.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  cam, camMethodNames, combineLayers, defineCamMethod, getMethod, layerActivations, METHOD_NAMES, normalizeMaps,
  registerCamMethod, repeatRows, type CamMethod, type CamMethodName,
} from '../../src/cam/index.ts';
import { mul, sum } from '../../src/kernels/index.ts';
import type { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { smallCnn, tfActsAndGrads, type TfCam } from './cam-helpers.ts';
import type * as tfl from '@tensorflow/tfjs-layers';

const s = suite('cam/custom-method');
const N = 2, S = 12, SHAPE: [number, number, number, number] = [N, S, S, 3];
const xh = randn(N * S * S * 3, 31, 0, 1);
let tm: tfl.LayersModel, model: Model, ref: TfCam;

s.before(async () => {
  await gpu();
  tm = smallCnn(S, 5, 3);
  randomizeTf(tm, 13);
  model = fromTf(tm);
  ref = tfActsAndGrads(tm, tf.tensor4d(xh, SHAPE), 'feat', null);
});

/** Map (P) of image n from the tfjs activations: f over each position's channel values, ReLU, ÷ max. */
function hostMap(n: number, f: (a: number[]) => number): number[] {
  const [, h, w, C] = ref.shape;
  const P = h * w;
  const m = Array.from({ length: P }, (_, p) => Math.max(f(Array.from(ref.acts.subarray((n * P + p) * C, (n * P + p + 1) * C))), 0));
  const peak = Math.max(...m);
  return peak > 0 ? m.map((v) => v / peak) : m;
}

// map_p = ReLU((1/C) Σ_c A_pc): class-agnostic, through the shared gradient path (its snippet
// reads only act(); the contract is src/cam/methods/README.md).
const activationMean = defineCamMethod({
  name: 'activation-mean',
  cite: 'a baseline: the channel mean of the activations',
  needs: 'gradients',
  weighting: { key: 'activation-mean', channel: 'w = 1.0 / f32(u.C);' },
});

// map_p = ReLU(Σ_c A_pc²), from a forward pass only: its own run, kernels from camlight.
const activationEnergy: CamMethod = {
  name: 'activation-energy',
  cite: 'a baseline: the channel sum of squared activations',
  needs: 'activations',
  run(ctx) {
    const per = layerActivations(ctx).map((a) => {
      const [n, h, w] = a.shape as [number, number, number, number];
      const e = sum(mul(a, a), [3]).reshape([n, h, w]); // (N,h,w)
      return normalizeMaps(ctx.K > 1 ? repeatRows(e, ctx.K) : e); // (N·K,h,w)
    });
    return { maps: combineLayers(per, ctx.size), top: null };
  },
};

s('a weighting snippet passed as method: the channel-mean map against the host formula, for top-2 targets (atol 1e-5)', async () => {
  const r = await cam(model, upload(xh, SHAPE), { method: activationMean, layer: 'feat', target: { topK: 2 } });
  assert.is(r.method, 'activation-mean');
  assert.equal(r.layer, { name: 'feat', height: 6, width: 6, channels: 6 });
  assert.is(r.images.length, N * 2);
  for (let n = 0; n < N; n++) {
    const want = hostMap(n, (a) => a.reduce((x, y) => x + y, 0) / a.length);
    for (let k = 0; k < 2; k++) {
      const im = r.images[n * 2 + k]!;
      assert.is(im.target, im.topk[k]!.index);
      assertClose(im.map.values, want, { rtol: 0, atol: 1e-5, what: `activation-mean image ${n} row ${k}` });
    }
    assert.is(r.images[n * 2]!.target, ref.targets[n], 'top-1 target as tfjs');
  }
  // Control: the method really ran (Grad-CAM's map at the same layer is another map).
  const g = await cam(model, upload(xh, SHAPE), { method: 'gradcam', layer: 'feat' });
  assert.ok(g.images[0]!.map.values.some((v, i) => Math.abs(v - r.images[0]!.map.values[i]!) > 1e-2), 'gradcam gave the activation-mean map');
});

s('a method with its own run, registered and used by name: the energy map against the host formula; SmoothGrad with noise 0 leaves it (atol 1e-5)', async () => {
  assert.is(registerCamMethod(activationEnergy), activationEnergy);
  assert.is(registerCamMethod(activationEnergy), activationEnergy, 'registering the same object again is a no-op');
  assert.ok(camMethodNames().includes('activation-energy'));
  assert.ok(!(METHOD_NAMES as readonly string[]).includes('activation-energy'), 'METHOD_NAMES stays the built-in list');
  assert.is(getMethod('activation-energy'), activationEnergy);
  // A registered name comes from a string at run time (a flag, a config file), hence the cast.
  const method = 'activation-energy' as CamMethodName;
  const r = await cam(model, upload(xh, SHAPE), { method, layer: 'feat', target: [1, 3] });
  const still = await cam(model, upload(xh, SHAPE), { method, layer: 'feat', target: [1, 3], smoothGrad: { samples: 2, noise: 0 } });
  assert.is(r.method, 'activation-energy');
  for (let n = 0; n < N; n++) {
    const want = hostMap(n, (a) => a.reduce((x, y) => x + y * y, 0));
    assert.is(r.images[n]!.target, [1, 3][n]);
    assertClose(r.images[n]!.map.values, want, { rtol: 0, atol: 1e-5, what: `activation-energy image ${n}` });
    assertClose(still.images[n]!.map.values, want, { rtol: 0, atol: 1e-5, what: `activation-energy smoothGrad noise 0, image ${n}` });
    // The top classes come from a forward before the pass (needs 'activations'): tfjs's probabilities.
    const probs = Array.from(ref.probs.subarray(n * 5, n * 5 + 5));
    assert.is(r.images[n]!.topk[0]!.index, probs.indexOf(Math.max(...probs)));
    assertClose([r.images[n]!.topk[0]!.prob], [Math.max(...probs)], { rtol: 1e-4, atol: 1e-6, what: `top-1 prob image ${n}` });
  }
  // Control: squaring changes the map (it is not the channel mean's).
  const mean = hostMap(0, (a) => a.reduce((x, y) => x + y, 0));
  assert.ok(r.images[0]!.map.values.some((v, i) => Math.abs(v - mean[i]!) > 1e-2), 'energy map equals the mean map');
});

s('methods are checked where they are declared and registered, with what to do', async () => {
  assert.throws(() => registerCamMethod({ ...activationMean, name: 'gradcam' }), /'gradcam' is a built-in CAM method/);
  assert.throws(() => registerCamMethod({ ...activationEnergy }), /different method is already registered as 'activation-energy'/);
  assert.throws(() => defineCamMethod({ name: 'empty', cite: '', needs: 'gradients' }), /neither a weighting snippet nor a run.*README/);
  assert.throws(() => defineCamMethod({ name: 'both', cite: '', needs: 'gradients', weighting: { key: 'both', channel: 'w = 1.0;', pixel: 'a' } }), /exactly one of channel.*or pixel/);
  assert.throws(() => defineCamMethod({ name: 'fwd', cite: '', needs: 'activations', weighting: { key: 'fwd', pixel: 'a' } }), /must supply its own run/);
  assert.throws(() => defineCamMethod({ name: 'odd', cite: '', needs: 'logits' as 'gradients', run: activationEnergy.run! }), /needs 'logits' must be one of/);
  // A run that forgets the K rows per image (top-2 asks for 2 per image) is told so, by name.
  const oneRow: CamMethod = { ...activationEnergy, name: 'one-row', run: (ctx) => ({ maps: normalizeMaps(sum(layerActivations(ctx)[0]!, [3])), top: null }) };
  await cam(model, upload(xh, SHAPE), { method: oneRow, layer: 'feat', target: { topK: 2 } }).then(
    () => assert.unreachable('a run with too few rows was accepted'),
    (e: Error) => assert.match(e.message, /CAM method 'one-row': its run returned maps \(2,6,6\).*expected \(4,h,w\)/),
  );
  await cam(model, upload(xh, SHAPE), { method: 'nope' as CamMethodName }).then(
    () => assert.unreachable('an unknown name ran'),
    (e: Error) => assert.match(e.message, /unknown CAM method 'nope'; use one of gradcam, .*activation-energy/),
  );
});

s.after(() => model.dispose());
s.run();
