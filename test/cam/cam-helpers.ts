// TensorFlow.js references for the CAM tests, computed independently of camlight: a model's
// activations at a layer, the gradient of the target's pre-softmax logit with respect to them
// (tf.grad through the layers after the cut, re-applied to a new input), and Grad-CAM from them.
import * as tfl from '@tensorflow/tfjs-layers';
import { Model } from '../../src/nn/model.ts';
import { tf } from '../helpers.ts';

export { tfl };

type Sym = tfl.SymbolicTensor;

/** The part of a tfjs model from a layer's output to the input of its last layer, as a model of its own (weights shared). */
export function tailModel(tm: tfl.LayersModel, from: string): tfl.LayersModel {
  const cut = tm.getLayer(from);
  const last = tm.layers[tm.layers.length - 1]!;
  const inp = tfl.input({ shape: (cut.outputShape as number[]).slice(1) });
  const map = new Map<Sym, Sym>([[cut.getOutputAt(0) as Sym, inp]]);
  for (const l of tm.layers) {
    if (l === last || map.has(l.getOutputAt(0) as Sym)) continue;
    const ins = (l.inboundNodes[0]?.inputTensors ?? []) as Sym[];
    if (!ins.length || !ins.every((t) => map.has(t))) continue;
    const mapped = ins.map((t) => map.get(t)!);
    map.set(l.getOutputAt(0) as Sym, l.apply(mapped.length === 1 ? mapped[0]! : mapped) as Sym);
  }
  const end = map.get(last.getInputAt(0) as Sym);
  if (!end) throw new Error(`tailModel: '${from}' does not lead to the input of '${last.name}'`);
  return tfl.model({ inputs: inp, outputs: end });
}

/**
 * A tfjs-layers copy of a camlight model (same topology and weights). Batch norms without a scale
 * (InceptionV3's) get γ = 1 instead: tfjs's batch-norm gradient fails on a missing scale, and
 * γ = 1 computes the same function.
 */
export async function toTf(m: Model): Promise<tfl.LayersModel> {
  const topo = JSON.parse(JSON.stringify(m.toKerasConfig()));
  for (const l of topo.config.layers) if (l.class_name === 'BatchNormalization') l.config.scale = true;
  const tm = await tfl.models.modelFromJSON({ modelTopology: topo });
  const w = await m.readWeights();
  tm.setWeights(tm.weights.map((v) => {
    const have = w.get(v.originalName);
    return have ? tf.tensor(have.data, v.shape as number[]) : tf.ones(v.shape as number[]);
  }));
  return tm;
}

export interface TfCam {
  /** Activations (N,h,w,C) and the gradient of each image's target logit w.r.t. them. */
  acts: Float32Array;
  grads: Float32Array;
  shape: [number, number, number, number];
  targets: number[];
  probs: Float32Array;
}

/**
 * Activations at `layer` and d(target logit)/d(activations) in tfjs. The last layer must be a
 * Dense with softmax: its logits are x·W + b on the tail's output. targets: null for top-1.
 */
export function tfActsAndGrads(tm: tfl.LayersModel, x: tf.Tensor4D, layer: string, targets: number[] | null): TfCam {
  const feat = tfl.model({ inputs: tm.inputs, outputs: tm.getLayer(layer).getOutputAt(0) as Sym });
  const A = feat.predict(x) as tf.Tensor4D;
  const probs = tm.predict(x) as tf.Tensor2D;
  const t = targets ?? Array.from(tf.argMax(probs, 1).dataSync());
  const tail = tailModel(tm, layer);
  const [k, b] = tm.layers[tm.layers.length - 1]!.getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const onehot = tf.cast(tf.oneHot(tf.tensor1d(t, 'int32'), k.shape[1]!), 'float32');
  const f = (a: tf.Tensor) => tf.sum(tf.mul(tf.add(tf.matMul(tail.apply(a) as tf.Tensor2D, k), b), onehot));
  const dA = tf.grad(f)(A);
  return { acts: A.dataSync() as Float32Array, grads: dA.dataSync() as Float32Array, shape: A.shape as [number, number, number, number], targets: t, probs: probs.dataSync() as Float32Array };
}

/** Grad-CAM from tfjs activations and gradients: channel means, weighted sum, ReLU, ÷ max; and the bilinear up-sampling. */
export function tfGradCam(r: TfCam, size: [number, number]): { map: Float32Array; up: Float32Array } {
  return tf.tidy(() => {
    const A = tf.tensor4d(r.acts, r.shape), dA = tf.tensor4d(r.grads, r.shape);
    const w = tf.mean(dA, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(A, w), 3, true)); // (N,h,w,1)
    const peak = tf.max(cam, [1, 2, 3], true);
    const norm = tf.where(tf.greater(peak, 0), tf.div(cam, tf.maximum(peak, 1e-30)), tf.zerosLike(cam));
    const up = tf.image.resizeBilinear(norm as tf.Tensor4D, size, false, true);
    return { map: norm.dataSync() as Float32Array, up: up.dataSync() as Float32Array };
  });
}

/** A small random CNN (functional): conv 3×3×8 relu → maxpool 2 → conv 3×3×6 relu 'feat' → flatten → dense softmax. */
export function smallCnn(size = 12, classes = 5, seed = 1): tfl.LayersModel {
  const inp = tfl.input({ shape: [size, size, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(inp) as Sym;
  x = tfl.layers.maxPooling2d({ poolSize: 2, name: 'p1' }).apply(x) as Sym;
  x = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }).apply(x) as Sym;
  x = tfl.layers.flatten({ name: 'flat' }).apply(x) as Sym;
  const out = tfl.layers.dense({ units: classes, activation: 'softmax', name: 'predictions' }).apply(x) as Sym;
  const m = tfl.model({ inputs: inp, outputs: out, name: `small_cnn_${seed}` });
  return m;
}

/**
 * tfjs's CPU AvgPoolGrad divides by the full window even where the forward excluded padding
 * ('same' windows at the border count only in-bounds elements): checked here, the gradient of
 * Σ avgPool(x, 3, 1, 'same') at a 1×1 input comes back 1/9 instead of 1. InceptionV3's average-
 * pool branches hit this, so the reference runs with a corrected kernel while `f` runs.
 */
export function withExactAvgPoolGrad<T>(f: () => T): T {
  const orig = tf.getKernel('AvgPoolGrad', 'cpu')!;
  tf.unregisterKernel('AvgPoolGrad', 'cpu');
  tf.registerKernel({
    kernelName: 'AvgPoolGrad',
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
      const { filterSize, strides, pad } = attrs as unknown as { filterSize: number | [number, number]; strides: number | [number, number]; pad: 'same' | 'valid' | number };
      const [kh, kw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      const [N, H, W, C] = input.shape as [number, number, number, number];
      const [, OH, OW] = dy.shape as [number, number, number, number];
      const padOf = (len: number, out: number, k: number, s: number) => (pad === 'same' ? Math.floor(Math.max((out - 1) * s + k - len, 0) / 2) : pad === 'valid' ? 0 : pad);
      const pt = padOf(H, OH, kh, sh), pl = padOf(W, OW, kw, sw);
      const be = backend as unknown as { data: { get(id: unknown): { values: Float32Array } }; makeTensorInfo(s: number[], d: string, v: Float32Array): tf.TensorInfo };
      const g = be.data.get(dy.dataId).values;
      const dx = new Float32Array(N * H * W * C);
      for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
        const y0 = oy * sh - pt, x0 = ox * sw - pl;
        const ys = Math.max(y0, 0), ye = Math.min(y0 + kh, H), xs = Math.max(x0, 0), xe = Math.min(x0 + kw, W);
        const count = (ye - ys) * (xe - xs);
        for (let c = 0; c < C; c++) {
          const v = g[((n * OH + oy) * OW + ox) * C + c]! / count;
          for (let i = ys; i < ye; i++) for (let j = xs; j < xe; j++) dx[((n * H + i) * W + j) * C + c]! += v;
        }
      }
      return be.makeTensorInfo([N, H, W, C], 'float32', dx);
    },
  });
  try {
    return f();
  } finally {
    tf.unregisterKernel('AvgPoolGrad', 'cpu');
    tf.registerKernel(orig);
  }
}
