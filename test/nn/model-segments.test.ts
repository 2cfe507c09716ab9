// Model.runUpTo / runFrom / canRunFrom / isInput (src/nn/model-segments.ts), the frozen-base path
// of the trainer: a layer's output and the rest of the model from it agree with tfjs-layers on
// the CPU backend, and a cut that a residual path bypasses is refused.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { fromTf, randomizeTf, tfl } from './keras-helpers.ts';

const s = suite('nn/model-segments');
s.before(async () => { await gpu(); });

/** stem → bn → relu → conv → (+ a 1×1 projection of relu, the bypass) → pool → dense. */
function residualTf(): tfl.LayersModel {
  const inp = tfl.input({ shape: [6, 6, 3], name: 'image' });
  const stem = tfl.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', name: 'stem' }).apply(inp) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ name: 'stem_bn' }).apply(stem) as tfl.SymbolicTensor;
  const x = tfl.layers.activation({ activation: 'relu', name: 'stem_relu' }).apply(bn) as tfl.SymbolicTensor;
  const b = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'branch' }).apply(x) as tfl.SymbolicTensor;
  const proj = tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: 'proj' }).apply(x) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([b, proj]) as tfl.SymbolicTensor;
  const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3, name: 'logits' }).apply(gap) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'residual' });
}

s('runUpTo then runFrom give tfjs\'s intermediate and output (rtol 1e-4, atol 1e-5)', async () => {
  const tm = residualTf();
  randomizeTf(tm, 3);
  const m = fromTf(tm);
  const x = randn(2 * 6 * 6 * 3, 9);
  const probe = tfl.model({ inputs: tm.inputs, outputs: ['stem_relu', 'gap', 'logits'].map((n) => tm.getLayer(n).output as tfl.SymbolicTensor) });
  const [relu, gap, logits] = probe.predict(tf.tensor(x, [2, 6, 6, 3])) as tf.Tensor[];
  const xt = upload(x, [2, 6, 6, 3]);
  const feats = m.runUpTo(xt, 'stem_relu');
  assert.equal(feats.shape, [2, 6, 6, 5]);
  assertClose(await feats.data(), relu!.dataSync(), { rtol: 1e-4, atol: 1e-5, what: 'runUpTo stem_relu' });
  const rest = m.runFrom('stem_relu', feats, ['gap', 'logits']);
  assert.equal([...rest.keys()], ['gap', 'logits']);
  assertClose(await rest.get('gap')!.data(), gap!.dataSync(), { rtol: 1e-4, atol: 1e-5, what: 'runFrom → gap' });
  assertClose(await rest.get('logits')!.data(), logits!.dataSync(), { rtol: 1e-4, atol: 1e-5, what: 'runFrom → logits' });
  assert.ok(!feats.disposed, 'the caller\'s cached features stay alive');
  for (const t of [xt, feats, ...rest.values()]) t.dispose();
  m.dispose();
});

s('a cut that a path bypasses is refused (control: one every path passes through is accepted)', () => {
  const m = fromTf(residualTf());
  assert.ok(m.canRunFrom('stem_relu', ['logits']), 'every path passes through stem_relu');
  assert.ok(m.canRunFrom('sum', ['logits']));
  assert.not.ok(m.canRunFrom('branch', ['logits']), 'proj leads around branch to the input');
  assert.ok(m.canRunFrom('branch', ['branch']), 'a layer from itself');
  assert.throws(() => m.runFrom('branch', upload(new Float32Array(2 * 6 * 6 * 4), [2, 6, 6, 4]), ['logits']),
    (e: unknown) => e instanceof ShapeError && /another path leads around it/.test(e.message));
  assert.ok(m.isInput('image'));
  assert.not.ok(m.isInput('stem'));
  assert.throws(() => m.isInput('nope'), /no layer named 'nope'/);
  m.dispose();
});

s.run();
