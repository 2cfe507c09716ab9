// Grad-CAM written the way a TensorFlow.js user would write it, for the cam bench: forward to the
// CAM layer (and the prediction), tf.valueAndGrad of the target's pre-softmax logit through the
// layers after the cut, channel means, weighted sum, ReLU, ÷ max, resizeBilinear, await data().
import * as tfl from '@tensorflow/tfjs-layers';
import type { Model } from '../src/nn/model.ts';
import { peerModel, type HostWeights } from './model-setup.ts';
import { tf } from './peers.ts';

type Sym = tfl.SymbolicTensor;

/** The pieces of a tfjs Grad-CAM on the active backend (weights shared between them). */
export interface TfCamModel {
  /** Input → [CAM layer output, softmax prediction]. */
  fwd: tfl.LayersModel;
  /** CAM layer output → input of the last (softmax Dense) layer. */
  tail: tfl.LayersModel;
  /** The last layer's kernel and bias: logits = tail(A)·kernel + bias. */
  kernel: tf.Tensor2D;
  bias: tf.Tensor1D | null;
  classes: number;
  dispose(): void;
}

/** Grad-CAM tensors of one batch: the map at the layer's resolution, up-sampled, and each image's top-1 class. */
export interface TfCamOut {
  map: tf.Tensor4D;
  up: tf.Tensor4D;
  target: tf.Tensor1D;
}

/**
 * The part of a tfjs model from a layer's output to the input of its last layer, as a model of
 * its own (weights shared): every layer whose inputs are all reachable from the cut, re-applied.
 */
function tailModel(tm: tfl.LayersModel, from: string): tfl.LayersModel {
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
 * camlight's model in tfjs-layers on the active backend, same weights, cut at `layer` for Grad-CAM.
 * The last layer must be a Dense with softmax (VGG's and Inception's 'predictions').
 * @example
 *   await usePeer('tfjs-wasm'); const pm = await tfCamModel(model, weights, 'mixed10');
 */
export async function tfCamModel(model: Model, weights: HostWeights, layer: string): Promise<TfCamModel> {
  const p = await peerModel(model, weights, layer);
  try {
    const last = p.model.layers[p.model.layers.length - 1]!;
    if (last.getClassName() !== 'Dense') throw new Error(`tfCamModel: the last layer '${last.name}' is a ${last.getClassName()}, not a Dense`);
    const [kernel, bias] = last.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
    return {
      fwd: p.checked,
      tail: tailModel(p.model, layer),
      kernel: kernel!,
      bias: bias ?? null,
      classes: kernel!.shape[1],
      dispose: () => p.dispose(),
    };
  } catch (e) {
    p.dispose();
    throw e;
  }
}

/**
 * Grad-CAM of each image's top-1 class on the active backend (nothing read back): the gradient
 * of Σ_rows logit[row, target] w.r.t. the layer's output (rows do not interact, so each row gets
 * its own gradient), weights = spatial means, map = ReLU(Σ_c w_c·A_c) ÷ its max (zeros stay
 * zeros), up-sampled bilinearly with half-pixel centres (TF2's tf.image.resize) to `size`.
 * @example
 *   const r = tfGradCam(pm, x, [224, 224]); await r.up.data(); tf.dispose([r.map, r.up, r.target]);
 */
export function tfGradCam(pm: TfCamModel, x: tf.Tensor4D, size: [number, number]): TfCamOut {
  return tf.tidy(() => {
    const [A, probs] = pm.fwd.predict(x) as [tf.Tensor4D, tf.Tensor2D];
    const target = tf.argMax(probs, 1) as tf.Tensor1D;
    const onehot = tf.cast(tf.oneHot(target, pm.classes), 'float32');
    const score = (a: tf.Tensor) => {
      const z = tf.matMul(pm.tail.apply(a) as tf.Tensor2D, pm.kernel);
      return tf.sum(tf.mul(pm.bias ? tf.add(z, pm.bias) : z, onehot));
    };
    const { grad } = tf.valueAndGrad(score)(A);
    const w = tf.mean(grad, [1, 2], true);
    const cam = tf.relu(tf.sum(tf.mul(A, w), 3, true)) as tf.Tensor4D;
    const peak = tf.max(cam, [1, 2, 3], true);
    const map = tf.where(tf.greater(peak, 0), tf.div(cam, tf.maximum(peak, 1e-30)), tf.zerosLike(cam)) as tf.Tensor4D;
    const up = tf.image.resizeBilinear(map, size, false, true);
    return { map, up, target };
  });
}
