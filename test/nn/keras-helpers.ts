// Shared fixtures for the layer, model and zoo tests: build a model with tfjs-layers, give it
// seeded random weights, load its topology and weights into camlight, and compare outputs and
// gradients with tfjs on the CPU backend.
import * as tfl from '@tensorflow/tfjs-layers';
import { Model } from '../../src/nn/model.ts';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { upload, type Tensor } from '../../src/tensor/tensor.ts';
import type { StoredLayer } from '../../src/nn/layers/layer.ts';
import { assertClose, randn, tf } from '../helpers.ts';

export { tfl };

/** Gives every weight of a tfjs model seeded random values (variances positive, as they must be). */
export function randomizeTf(m: tfl.LayersModel, seed: number): void {
  m.setWeights(m.weights.map((w, i) => {
    const n = (w.shape as number[]).reduce((a, b) => a * b, 1);
    const v = /variance/.test(w.originalName) ? randn(n, seed + i, 0.5, 1.5) : randn(n, seed + i, -0.5, 0.5);
    return tf.tensor(v, w.shape as number[]);
  }));
}

/** A camlight model with the tfjs model's topology (through its JSON) and weights. */
export function fromTf(m: tfl.LayersModel): Model {
  const topology = JSON.parse(JSON.stringify(m.toJSON(null, false)));
  const model = Model.fromKerasConfig(topology);
  const values = new Map<string, { data: Float32Array; shape: number[] }>();
  for (const w of m.weights) values.set(w.originalName, { data: w.read().dataSync() as Float32Array, shape: w.shape as number[] });
  model.setWeights(values);
  return model;
}

/** Wraps one tfjs layer in a functional model over inputs of the given shapes (batch excluded). */
export function wrap(layer: tfl.layers.Layer, inputShapes: number[][]): tfl.LayersModel {
  const ins = inputShapes.map((s, i) => tfl.input({ shape: s, name: `in${i}` }));
  const out = layer.apply(ins.length === 1 ? ins[0]! : ins) as tfl.SymbolicTensor;
  return tfl.model({ inputs: ins, outputs: out });
}

export interface CompareOptions {
  batch?: number;
  grads?: boolean;
  rtol?: number;
  atol?: number;
  seed?: number;
  what?: string;
}

/**
 * Forward (and with `grads`, input and weight gradients of Σ y ⊙ r) of camlight vs tfjs on the
 * same seeded inputs. Returns the camlight model (weights loaded) for further checks.
 */
export async function compareWithTf(m: tfl.LayersModel, o: CompareOptions = {}): Promise<Model> {
  const { batch = 2, rtol = 1e-4, atol = 1e-5, seed = 11, what = m.name } = o;
  randomizeTf(m, seed);
  const model = fromTf(m);
  const shapes = m.inputs.map((t) => [batch, ...(t.shape.slice(1) as number[])]);
  const xsHost = shapes.map((s, i) => randn(s.reduce((a, b) => a * b, 1), seed * 7 + i));
  const xsTf = xsHost.map((d, i) => tf.tensor(d, shapes[i]!));
  const xs = xsHost.map((d, i) => upload(d, shapes[i]!));
  const yTf = m.predict(xsTf.length === 1 ? xsTf[0]! : xsTf) as tf.Tensor;
  const y = model.run(xs).output;
  assertClose(await y.data(), yTf.dataSync(), { rtol, atol, what: `${what} forward` });
  if (o.grads) {
    const r = randn(yTf.size, seed + 99);
    const rTf = tf.tensor(r, yTf.shape);
    const rT = upload(r, [...y.shape]);
    const loss = (...ins: tf.Tensor[]) => tf.sum(tf.mul(m.apply(ins.length === 1 ? ins[0]! : ins) as tf.Tensor, rTf)) as tf.Scalar;
    const dxTf = tf.grads(loss)(xsTf);
    const trainable = m.trainableWeights;
    const dwTf = trainable.length
      ? tf.variableGrads(() => loss(...xsTf), trainable.map((w) => (w as unknown as { val: tf.Variable }).val)).grads
      : {};
    const weights = trainable.map((w) => {
      const [layer, name] = w.originalName.split('/') as [string, string];
      return (model.getLayer(layer) as StoredLayer).weight(name);
    });
    const res = valueAndGrad(() => ops.sumAll(ops.mul(model.run(xs).output, rT)), [...xs, ...weights]);
    for (let i = 0; i < xs.length; i++) {
      assertClose(await res.grads[i]!.data(), dxTf[i]!.dataSync(), { rtol: rtol * 10, atol: atol * 10, what: `${what} d input ${i}` });
    }
    for (const [i, w] of trainable.entries()) {
      const want = dwTf[(w as unknown as { val: tf.Variable }).val.name]!;
      assertClose(await res.grads[xs.length + i]!.data(), want.dataSync(), { rtol: rtol * 10, atol: atol * 10, what: `${what} d ${w.originalName}` });
    }
    res.value.dispose();
    res.grads.forEach((g) => g.dispose());
    rT.dispose();
  }
  y.dispose();
  xs.forEach((x) => x.dispose());
  return model;
}

export type { Tensor };
