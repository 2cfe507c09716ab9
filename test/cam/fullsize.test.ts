// CAM values, not just layer names, at the README's full-size layers: Grad-CAM at VGG-19's
// block5_pool (224×224 → 7×7×512) and InceptionV3's mixed10 (299×299 → 8×8×2048), 'auto' layer,
// He-scaled weights (test/nn/he-weights.ts) so the maps depend on the input. Reference: the
// layer's activations A from camlight's forward (the forward itself is checked against tfjs at
// 32×32 / 75×75 in test/nn/zoo.test.ts: tfjs's CPU forward at 224/299 takes over 15 minutes on
// this machine), then in tfjs-layers (CPU) on the same topology and weights the rest: the head
// from the layer on, the target class (argmax), ∂z/∂A of its logit, and Grad-CAM from them.
// Control: each map has real structure.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cam } from '../../src/cam/index.ts';
import type { Model } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { inceptionV3, vgg19 } from '../../src/nn/zoo/index.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { heWeights } from '../nn/he-weights.ts';
import { tailModel, tfGradCam, toTf } from './cam-helpers.ts';

const s = suite('cam/fullsize');
s.before(async () => { await gpu(); });

async function check(m: Model, layer: string, size: number, seed: number) {
  m.setWeights(heWeights(m, seed));
  try {
    const x = randn(size * size * 3, seed + 1, 0, 1);
    const xt = upload(x, [1, size, size, 3]);
    const r = await cam(m, xt, { method: 'gradcam' });
    assert.is(r.layer.name, layer);
    const { output, taps } = m.run(xt, { taps: [layer] });
    const a = taps.get(layer)!;
    const acts = await a.data();
    const shape = a.shape as [number, number, number, number];
    output.dispose();
    a.dispose();
    const tm = await toTf(m);
    const tail = tailModel(tm, layer);
    const [k, b] = tm.layers[tm.layers.length - 1]!.getWeights() as [tf.Tensor2D, tf.Tensor1D];
    const A = tf.tensor4d(acts, shape);
    const logits = (t: tf.Tensor) => tf.add(tf.matMul(tail.apply(t) as tf.Tensor2D, k), b);
    const target = tf.argMax(logits(A), 1).dataSync()[0]!;
    const onehot = tf.oneHot(tf.tensor1d([target], 'int32'), k.shape[1]!);
    const dA = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(logits(t), onehot)))(A);
    const want = tfGradCam({ acts, grads: dA.dataSync() as Float32Array, shape, targets: [target], probs: new Float32Array(0) }, [size, size]);
    tm.dispose();
    assert.is(r.images[0]!.target, target);
    const v = Array.from(r.images[0]!.map.values);
    assert.ok(Math.max(...v) === 1 && Math.min(...v) < 0.5 && new Set(v.map((t) => t.toFixed(3))).size > 5, `${layer}: the map has structure (${v.slice(0, 8)})`);
    assertClose(r.images[0]!.map.values, want.map, { rtol: 0, atol: 1e-4, what: `${m.name} Grad-CAM at ${layer}` });
  } finally {
    m.dispose();
  }
}

s('VGG-19 at 224×224: Grad-CAM at block5_pool (7×7×512) matches tfjs from the layer on (atol 1e-4)', async () => {
  await check(vgg19({ classes: 10 }), 'block5_pool', 224, 11);
});

s('InceptionV3 at 299×299: Grad-CAM at mixed10 (8×8×2048) matches tfjs from the layer on (atol 1e-4)', async () => {
  await check(inceptionV3({ classes: 10 }), 'mixed10', 299, 13);
});

s.run();
