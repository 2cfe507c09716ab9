// Shared by the zoo tests: a model's parameter total, and its predictions against tfjs-layers
// running the same topology with the same seeded, input-dependent weights (with controls).
import * as assert from 'uvu/assert';
import type { Model, WeightValue } from '../../src/nn/model.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, randn, tf } from '../helpers.ts';
import { heWeights } from './he-weights.ts';
import { tfl } from './keras-helpers.ts';

export const total = (m: Model) => {
  const p = m.parameterCount();
  return p.trainable + p.nonTrainable;
};

/**
 * Runs the model's own topology in tfjs-layers with the same input-dependent weights and compares
 * outputs (atol), with the control that the reference output varies between images and away from
 * uniform by more than `control`·atol. `logits`: the model has a linear classifier. `weights`:
 * others than heWeights' (e.g. with batch-norm statistics measured on data). `range`: the inputs'
 * uniform range (default [0, 1]; EfficientNet, which rescales pixels itself, takes [0, 255]).
 */
export async function agreeWithTfjs(
  m: Model, batch: number, seed: number, atol: number, what: string, weights: Map<string, WeightValue> = heWeights(m, seed), range: [number, number] = [0, 1],
): Promise<void> {
  m.setWeights(weights);
  const tm = await tfl.models.modelFromJSON({ modelTopology: JSON.parse(JSON.stringify(m.toKerasConfig())) });
  assert.is(tm.countParams(), total(m), 'tfjs counts the same parameters');
  // tfjs orders layers by depth as Keras does; the zoo writes them in creation order.
  assert.equal(tm.layers.map((l) => l.name).sort(), m.layers.map((l) => l.name).sort(), 'tfjs sees the same layers');
  const w = await m.readWeights();
  tm.setWeights(tm.weights.map((v) => tf.tensor(w.get(v.originalName)!.data, v.shape as number[])));
  const shape = [batch, ...(m.inputShape.slice(1) as number[])];
  const x = randn(shape.reduce((a, b) => a * b, 1), seed + 1, range[0], range[1]);
  const want = (tm.predict(tf.tensor(x, shape)) as tf.Tensor).dataSync() as Float32Array;
  const got = await m.predict(upload(x, shape)).data();
  // Control: a constant output (the batch mean for every image, or uniform 1/k) misses the reference by ≫ atol.
  const k = want.length / batch;
  let vsMean = 0, vsUniform = 0;
  for (let c = 0; c < k; c++) {
    let mean = 0;
    for (let n = 0; n < batch; n++) mean += want[n * k + c]! / batch;
    for (let n = 0; n < batch; n++) {
      vsMean = Math.max(vsMean, Math.abs(want[n * k + c]! - mean));
      vsUniform = Math.max(vsUniform, Math.abs(want[n * k + c]! - 1 / k));
    }
  }
  assert.ok(vsMean > 20 * atol, `${what}: the images' outputs differ by only ${vsMean.toExponential(2)} (tolerance ${atol})`);
  assert.ok(vsUniform > 20 * atol, `${what}: the output is within ${vsUniform.toExponential(2)} of uniform (tolerance ${atol})`);
  assertClose(got, want, { rtol: 0, atol, what });
  tm.dispose();
}

