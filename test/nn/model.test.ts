// The model graph against tfjs-layers: Sequential and functional topologies (Keras 2 and Keras 3
// forms) load and predict alike, taps, intermediate freeing, summary, batch-norm folding, Dense
// kernels split across bindings, weight errors and the round trip back to tfjs.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { weightSplitting } from '../../src/nn/layers/dense.ts';
import type { StoredLayer } from '../../src/nn/layers/layer.ts';
import { Model } from '../../src/nn/model.ts';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { compareWithTf, fromTf, randomizeTf, tfl } from './keras-helpers.ts';

const s = suite('nn/model');
s.before(async () => { await gpu(); });

function sequentialTf(): tfl.Sequential {
  const m = tfl.sequential({ name: 'seq' });
  m.add(tfl.layers.conv2d({ inputShape: [9, 9, 3], filters: 8, kernelSize: 3, padding: 'same', useBias: false, name: 'c1' }));
  m.add(tfl.layers.batchNormalization({ name: 'bn1' }));
  m.add(tfl.layers.activation({ activation: 'relu', name: 'act1' }));
  m.add(tfl.layers.maxPooling2d({ poolSize: 2, name: 'pool1' }));
  m.add(tfl.layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu', name: 'c2' }));
  m.add(tfl.layers.flatten({ name: 'flat' }));
  m.add(tfl.layers.dropout({ rate: 0.25, name: 'drop' }));
  m.add(tfl.layers.dense({ units: 5, activation: 'softmax', name: 'out' }));
  return m;
}

/** A small Inception-like DAG: a stem, three branches (one reused twice), concat, add, head. */
function functionalTf(scale = false): tfl.LayersModel {
  const inp = tfl.input({ shape: [8, 8, 3], name: 'image' });
  const stem = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', useBias: false, name: 'stem' }).apply(inp) as tfl.SymbolicTensor;
  const bn = tfl.layers.batchNormalization({ scale, name: 'stem_bn' }).apply(stem) as tfl.SymbolicTensor;
  const x = tfl.layers.activation({ activation: 'relu', name: 'stem_relu' }).apply(bn) as tfl.SymbolicTensor;
  const b1 = tfl.layers.conv2d({ filters: 4, kernelSize: 1, name: 'b1' }).apply(x) as tfl.SymbolicTensor;
  const b2 = tfl.layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same', activation: 'relu', name: 'b2' }).apply(x) as tfl.SymbolicTensor;
  // Max rather than average pooling: tfjs's average-pool gradient divides padded border windows
  // by the full window size (its forward does not), so it cannot be the reference here.
  const b3 = tfl.layers.maxPooling2d({ poolSize: 3, strides: 1, padding: 'same', name: 'b3_pool' }).apply(x) as tfl.SymbolicTensor;
  const mixed = tfl.layers.concatenate({ name: 'mixed' }).apply([b1, b2, b3]) as tfl.SymbolicTensor;
  const proj = tfl.layers.conv2d({ filters: 13, kernelSize: 1, name: 'proj' }).apply(x) as tfl.SymbolicTensor;
  const sum = tfl.layers.add({ name: 'sum' }).apply([mixed, proj]) as tfl.SymbolicTensor;
  const gap = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(sum) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'softmax', name: 'predictions' }).apply(gap) as tfl.SymbolicTensor;
  return tfl.model({ inputs: inp, outputs: out, name: 'mini_inception' });
}

/** Rewrites a Keras 2 functional topology in the Keras 3 form (args/kwargs nodes, batch_shape, dtype policies). */
function toKeras3(topology: { config: { layers: Record<string, unknown>[]; input_layers: unknown[][]; output_layers: unknown[][] } }): unknown {
  const t = JSON.parse(JSON.stringify(topology));
  t.class_name = 'Functional';
  for (const l of t.config.layers) {
    l.module = 'keras.layers';
    l.registered_name = null;
    if (l.class_name === 'InputLayer') {
      l.config.batch_shape = l.config.batch_input_shape;
      delete l.config.batch_input_shape;
    } else l.config.dtype = { module: 'keras', class_name: 'DTypePolicy', config: { name: 'float32' }, registered_name: null };
    l.inbound_nodes = l.inbound_nodes.map((node: [string, number, number][]) => {
      const tensors = node.map(([name, n, i]) => ({ class_name: '__keras_tensor__', config: { shape: [], dtype: 'float32', keras_history: [name, n, i] } }));
      return { args: tensors.length === 1 ? tensors : [tensors], kwargs: {} };
    });
  }
  t.config.input_layers = t.config.input_layers[0];
  t.config.output_layers = t.config.output_layers[0];
  return t;
}

s('Sequential from tfjs: predictions agree (softmax, atol 1e-5) and the summary matches countParams', async () => {
  const tm = sequentialTf();
  const m = await compareWithTf(tm, { batch: 3, atol: 1e-5, rtol: 1e-4 });
  assert.is(m.kind, 'sequential');
  assert.equal(m.layers.map((l) => l.name), ['c1', 'bn1', 'act1', 'pool1', 'c2', 'flat', 'drop', 'out']);
  assert.equal(m.inputShape, [null, 9, 9, 3]);
  const text = m.summary();
  for (const part of ['c1 (Conv2D)', '(None, 9, 9, 8)', 'pool1 (MaxPooling2D)', '(None, 4, 4, 8)', '(None, 24)', 'out (Dense)', '(None, 5)']) {
    assert.ok(text.includes(part), `summary lacks '${part}':\n${text}`);
  }
  const p = m.parameterCount();
  assert.is(p.trainable + p.nonTrainable, tm.countParams());
  assert.is(p.nonTrainable, 16, 'bn1 moving statistics');
  assert.ok(text.includes(`Total params: ${tm.countParams().toLocaleString('en-US')}`));
  m.dispose();
});

s('functional DAG (Keras 2 and Keras 3 forms): predictions, taps and input/weight gradients agree', async () => {
  const tm = functionalTf(true); // tfjs's batch-norm gradient needs γ
  const m = await compareWithTf(tm, { batch: 2, grads: true });
  assert.is(m.kind, 'functional');
  assert.ok(m.summary().includes('Connected to') && m.summary().includes('b3_pool[0][0]'), m.summary());
  assert.equal(m.layerOutputShape('mixed'), [null, 8, 8, 13]);
  // Taps: the same layers' outputs from a tfjs model with several outputs.
  const names = ['stem_relu', 'mixed', 'gap'];
  const probe = tfl.model({ inputs: tm.inputs, outputs: names.map((n) => tm.getLayer(n).output as tfl.SymbolicTensor) });
  const x = randn(2 * 8 * 8 * 3, 5);
  const want = probe.predict(tf.tensor(x, [2, 8, 8, 3])) as tf.Tensor[];
  const r = m.run(upload(x, [2, 8, 8, 3]), { taps: names });
  for (const [i, n] of names.entries()) assertClose(await r.taps.get(n)!.data(), want[i]!.dataSync(), { rtol: 1e-4, atol: 1e-5, what: `tap ${n}` });
  // Keras 3 form of the same topology.
  const k3 = Model.fromKerasConfig(toKeras3(JSON.parse(JSON.stringify(tm.toJSON(null, false)))));
  k3.setWeights(await m.readWeights());
  assertClose(await k3.predict(upload(x, [2, 8, 8, 3])).data(), await m.predict(upload(x, [2, 8, 8, 3])).data(), { rtol: 0, atol: 0, what: 'keras 3 form' });
  k3.dispose();
  m.dispose();
});

s('under a tape, tapped outputs are watched: their gradient is what tfjs gives for that activation', async () => {
  const tm = functionalTf();
  randomizeTf(tm, 17);
  const m = fromTf(tm);
  const x = randn(2 * 8 * 8 * 3, 6);
  const r = randn(2 * 4, 7);
  const res = valueAndGrad(() => {
    const out = m.run(upload(x, [2, 8, 8, 3]), { taps: ['gap'] }).output;
    return ops.sumAll(ops.mul(out, upload(r, [2, 4])));
  }, []);
  assert.is(res.watched.length, 1);
  const gap = (tfl.model({ inputs: tm.inputs, outputs: tm.getLayer('gap').output as tfl.SymbolicTensor }).predict(tf.tensor(x, [2, 8, 8, 3])) as tf.Tensor);
  const head = tm.getLayer('predictions');
  const want = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(head.apply(a) as tf.Tensor, tf.tensor(r, [2, 4]))))(gap).dataSync();
  assertClose(await res.watched[0]!.grad.data(), want, { rtol: 1e-4, atol: 1e-6, what: 'd gap' });
  res.value.dispose();
  res.watched[0]!.grad.dispose();
  m.dispose();
});

s('intermediates are freed as soon as their last consumer ran: live buffers after = before + outputs', async () => {
  const rt = await gpu();
  const tm = functionalTf();
  randomizeTf(tm, 3);
  const m = fromTf(tm);
  const x = upload(randn(8 * 8 * 3, 2), [1, 8, 8, 3]);
  m.predict(x).dispose(); // builds the folded batch-norm weights once
  await x.data();
  const before = rt.stats().liveBuffers;
  const r = m.run(x, { taps: ['mixed', 'stem_relu'] });
  await r.output.data();
  assert.is(rt.stats().liveBuffers, before + 3, 'output + 2 taps');
  r.output.dispose();
  for (const t of r.taps.values()) t.dispose();
  assert.is(rt.stats().liveBuffers, before);
  // The peak during the pass stays near the live set of a few activations, not all of them.
  rt.pool.resetPeak();
  const peakBefore = rt.stats().liveBytes;
  m.predict(x).dispose();
  const perActivation = 8 * 8 * 13 * 4;
  assert.ok(rt.stats().peakLiveBytes - peakBefore <= 8 * Math.max(4096, perActivation), `peak grew by ${rt.stats().peakLiveBytes - peakBefore} bytes`);
  m.dispose();
  x.dispose();
});

s('batch norms fold into the convolutions at inference and agree with the unfolded path', async () => {
  const tm = functionalTf();
  randomizeTf(tm, 9);
  const m = fromTf(tm);
  const x = upload(randn(2 * 8 * 8 * 3, 4), [2, 8, 8, 3]);
  const rt = await gpu();
  const d0 = rt.dispatchCount;
  const unfolded = await m.run(x, { fold: false }).output.data();
  const d1 = rt.dispatchCount;
  m.invalidateFolds();
  const folded = await m.predict(x).data();
  assert.is(m.foldedCount, 1, 'stem + stem_bn folded');
  const d2 = rt.dispatchCount;
  m.predict(x).dispose();
  const d3 = rt.dispatchCount;
  assert.ok(d3 - d2 < d1 - d0, `folded pass launches fewer kernels (${d3 - d2} vs ${d1 - d0})`);
  assertClose(folded, unfolded, { rtol: 1e-4, atol: 1e-6, what: 'folded vs unfolded' });
  assertClose(folded, (tm.predict(tf.tensor(await x.data(), [2, 8, 8, 3])) as tf.Tensor).dataSync(), { rtol: 1e-4, atol: 1e-5, what: 'folded vs tfjs' });
  // Tapping the conv keeps its own output, so the pair is not folded for that run.
  const tapped = m.run(x, { taps: ['stem'] });
  assertClose(await tapped.output.data(), unfolded, { rtol: 1e-4, atol: 1e-6, what: 'tapped conv' });
  // New weights invalidate the folded copy.
  const w = await m.readWeights();
  const mm = w.get('stem_bn/moving_mean')!;
  mm.data = mm.data.map((v) => v + 0.5);
  m.setWeights(w);
  assert.is(m.foldedCount, 0);
  const after = await m.predict(x).data();
  assertClose(after, await m.run(x, { fold: false }).output.data(), { rtol: 1e-4, atol: 1e-6, what: 'after setWeights' });
  assert.ok(after.some((v, i) => Math.abs(v - folded[i]!) > 1e-4), 'the new statistics changed the output');
  m.dispose();
});

s('a Dense kernel over the binding limit is held in chunks: forward, gradients and read-back agree', async () => {
  weightSplitting.maxBytes = 4096; // 1024 floats: a 150×24 kernel (14.4 KB) becomes 5 chunks
  try {
    const inp = tfl.input({ shape: [150], name: 'x' });
    const out = tfl.layers.dense({ units: 24, activation: 'relu', name: 'fc' }).apply(inp) as tfl.SymbolicTensor;
    const tm = tfl.model({ inputs: inp, outputs: out });
    const m = await compareWithTf(tm, { batch: 3, seed: 21 });
    const fc = m.getLayer('fc') as StoredLayer;
    const parts = fc.weightParts('kernel');
    assert.ok(parts.length >= 4, `${parts.length} chunks`);
    assert.ok(parts.every((p) => p.byteLength <= 4096));
    assert.is(parts.reduce((a, p) => a + p.shape[0]!, 0), 150);
    assertClose((await m.readWeights()).get('fc/kernel')!.data, tm.getLayer('fc').getWeights()[0]!.dataSync(), { rtol: 0, atol: 0, what: 'read-back' });
    // Gradients: dx and each chunk's dW (joined) against tfjs.
    const x = randn(3 * 150, 8);
    const r = randn(3 * 24, 9);
    const xT = upload(x, [3, 150]);
    const res = valueAndGrad(() => ops.sumAll(ops.mul(m.predict(xT), upload(r, [3, 24]))), [xT, ...parts]);
    const loss = () => tf.sum(tf.mul(tm.apply(tf.tensor(x, [3, 150])) as tf.Tensor, tf.tensor(r, [3, 24]))) as tf.Scalar;
    const kVar = (tm.getLayer('fc').trainableWeights[0] as unknown as { val: tf.Variable }).val;
    const dW = tf.variableGrads(loss, [kVar]).grads[kVar.name]!.dataSync();
    const dx = tf.grad((xt: tf.Tensor) => tf.sum(tf.mul(tm.apply(xt) as tf.Tensor, tf.tensor(r, [3, 24]))))(tf.tensor(x, [3, 150])).dataSync();
    assertClose(await res.grads[0]!.data(), dx, { rtol: 1e-4, atol: 1e-5, what: 'dx' });
    const joined = (await Promise.all(res.grads.slice(1).map((g) => g.data()))).flatMap((a) => Array.from(a));
    assertClose(joined, dW, { rtol: 1e-4, atol: 1e-5, what: 'dW (chunks joined)' });
    m.dispose();
  } finally {
    weightSplitting.maxBytes = null;
  }
});

s('weight errors name the layer, the weight, both shapes and what to do; getLayer suggests names', async () => {
  const m = Model.fromKerasConfig(sequentialTf().toJSON(null, false));
  const thrown = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('no error');
  };
  assert.match(thrown(() => m.setWeights(new Map([['c1/kernel', { data: new Float32Array(8 * 9), shape: [3, 3, 8] }]]), { allowMissing: true })),
    /layer 'c1' \(Conv2D\) weight 'kernel': expected shape \[3, 3, 3, 8\], given \[3, 3, 8\]/);
  assert.match(thrown(() => m.setWeights(new Map([['out/bias', new Float32Array(4)]]), { allowMissing: true })), /'out'.*'bias'.*expected 5 values/);
  assert.match(thrown(() => m.setWeights(new Map())), /no values for \d+ weight\(s\): c1\/kernel/);
  m.setWeights(new Map([['out/bias', new Float32Array(5)]]), { allowMissing: true });
  assert.match(thrown(() => m.predict(upload(new Float32Array(9 * 9 * 3), [1, 9, 9, 3]))), /'c1' \(Conv2D\) has no weight 'kernel' yet/);
  assert.match(thrown(() => m.getLayer('pool')), /no layer named 'pool'; closest: pool1/);
  assert.match(thrown(() => m.run(upload(new Float32Array(8 * 8 * 3), [1, 8, 8, 3]))), /expects input 0 of shape \(None, 9, 9, 3\), got \(1, 8, 8, 3\)/);
  assert.match(thrown(() => Model.fromKerasConfig({ class_name: 'Graph', config: {} })), /'Graph' is not supported/);
  m.dispose();
});

s('toKerasConfig round-trips through tfjs-layers and camlight with the same predictions', async () => {
  const tm = functionalTf();
  randomizeTf(tm, 13);
  const m = fromTf(tm);
  const topo = JSON.parse(JSON.stringify(m.toKerasConfig()));
  const back = await tfl.models.modelFromJSON({ modelTopology: topo });
  const w = await m.readWeights();
  back.setWeights(back.weights.map((v) => tf.tensor(w.get(v.originalName)!.data, v.shape as number[])));
  const x = randn(2 * 8 * 8 * 3, 31);
  const want = (back.predict(tf.tensor(x, [2, 8, 8, 3])) as tf.Tensor).dataSync();
  assertClose(await m.predict(upload(x, [2, 8, 8, 3])).data(), want, { rtol: 1e-4, atol: 1e-5, what: 'tfjs from camlight topology' });
  const again = Model.fromKerasConfig(topo);
  assert.equal(again.weightList().map((e) => [e.name, e.shape]), m.weightList().map((e) => [e.name, e.shape]));
  assert.is(again.summary(), m.summary());
  const seq = Model.fromKerasConfig(sequentialTf().toJSON(null, false));
  const seqBack = await tfl.models.modelFromJSON({ modelTopology: JSON.parse(JSON.stringify(seq.toKerasConfig())) });
  assert.is(seqBack.countParams(), seq.parameterCount().trainable + seq.parameterCount().nonTrainable);
  m.dispose();
});

s.run();
