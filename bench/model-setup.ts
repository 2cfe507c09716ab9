// What the models suite needs around a zoo model: seeded host weights that every system loads,
// the model's FLOPs and activation sizes (for GFLOP/s and the memory bound), and the same
// architecture with the same weights in tfjs-layers, built from camlight's own Keras config.
import * as tfl from '@tensorflow/tfjs-layers';
import type { Model } from '../src/nn/model.ts';
import { uniform } from './measure.ts';
import { tf } from './peers.ts';

export type HostWeights = Map<string, { data: Float32Array; shape: number[] }>;

const prod = (s: readonly (number | null)[]) => s.reduce<number>((a, b) => a * (b ?? 1), 1);

/**
 * Seeded weights for every entry of `model.weightList()`: kernels He-uniform (variance 2/fan-in,
 * so activations stay O(1) through 19 ReLU layers and the softmax is far from uniform: with
 * Glorot kernels and zero biases VGG-19's softmax is 1/1000 ± 1e-6 and any check passes),
 * biases and batch-norm β and moving mean in ±0.1, moving variance in [0.5, 1.5] (non-trivial,
 * so that a wrong bias or batch-norm fold shows).
 * @example
 *   const w = heWeights(model, 7); model.setWeights(w);
 */
export function heWeights(model: Model, seed: number): HostWeights {
  const out: HostWeights = new Map();
  model.weightList().forEach((e, i) => {
    const size = prod(e.shape);
    let data: Float32Array;
    if (e.weight.endsWith('kernel')) {
      const fanIn = prod(e.shape.slice(0, -1));
      const limit = Math.sqrt(6 / fanIn);
      data = uniform(size, seed * 1000 + i, -limit, limit);
    } else if (e.weight === 'moving_variance') data = uniform(size, seed * 1000 + i, 0.5, 1.5);
    else if (e.weight === 'gamma') data = uniform(size, seed * 1000 + i, 0.8, 1.2);
    else data = uniform(size, seed * 1000 + i, -0.1, 0.1);
    out.set(e.name, { data, shape: [...e.shape] });
  });
  return out;
}

/** Multiply-adds ×2 of every layer with a kernel (convolutions, dense), per image. */
export function forwardFlops(model: Model): number {
  let flops = 0;
  for (const e of model.weightList()) {
    if (!e.weight.endsWith('kernel')) continue;
    const node = model.nodes.find((n) => n.layer === e.layer)!;
    flops += 2 * prod(e.shape) * prod(node.outputShape.slice(1, -1));
  }
  return flops;
}

/** Bytes of the two largest layer outputs (the input included) at batch `batch`, largest first. */
export function largestActivations(model: Model, batch: number): [number, number] {
  const sizes = model.nodes.map((n) => 4 * batch * prod(n.outputShape.slice(1))).sort((a, b) => b - a);
  return [sizes[0] ?? 0, sizes[1] ?? 0];
}

/** Bytes of all weights as float32 (no pool rounding). */
export const weightBytes = (w: HostWeights) => [...w.values()].reduce((a, v) => a + 4 * v.data.length, 0);

export interface PeerModel {
  /** The plain model, timed. */
  model: tfl.LayersModel;
  /** The same layers with two outputs, [tap, prediction], for the check. */
  checked: tfl.LayersModel;
  dispose(): void;
}

/**
 * The camlight model's architecture in tfjs-layers on the active backend (through
 * `model.toKerasConfig()`), with `weights` copied in by canonical name.
 * @example
 *   await usePeer('tfjs-wasm'); const p = await peerModel(model, weights, 'mixed10');
 */
export async function peerModel(model: Model, weights: HostWeights, tap: string): Promise<PeerModel> {
  const topology = JSON.parse(JSON.stringify(model.toKerasConfig())) as Parameters<typeof tfl.models.modelFromJSON>[0]['modelTopology'];
  const m = (await tfl.models.modelFromJSON({ modelTopology: topology })) as tfl.LayersModel;
  try {
    const values = m.weights.map((v) => {
      const w = weights.get(v.originalName);
      if (!w) throw new Error(`tfjs-layers built a weight '${v.originalName}' that camlight's ${model.name} does not have`);
      return tf.tensor(w.data, w.shape);
    });
    if (values.length !== weights.size) throw new Error(`tfjs-layers ${model.name} has ${values.length} weights, camlight ${weights.size}`);
    m.setWeights(values);
    tf.dispose(values);
  } catch (e) {
    m.dispose();
    throw e;
  }
  const checked = tfl.model({ inputs: m.inputs, outputs: [m.getLayer(tap).output as tfl.SymbolicTensor, m.outputs[0]!] });
  return { model: m, checked, dispose: () => m.dispose() };
}

/**
 * Runs `fn` inside a validation and an out-of-memory error scope on tfjs-webgpu's device (when
 * that is the active backend), so that a Dawn error (e.g. a binding over the adapter's limit,
 * which tfjs only logs) becomes an exception naming it instead of garbage output.
 * @example
 *   const y = await withGpuErrors(async () => { const y = m.predict(x); await y.data(); return y; });
 */
export async function withGpuErrors<T>(fn: () => Promise<T>): Promise<T> {
  const device = tf.getBackend() === 'webgpu' ? (tf.backend() as unknown as { device?: GPUDevice }).device : undefined;
  if (!device) return fn();
  device.pushErrorScope('out-of-memory');
  device.pushErrorScope('validation');
  let result: T | undefined, thrown: unknown;
  try {
    result = await fn();
  } catch (e) {
    thrown = e;
  }
  const errors = [await device.popErrorScope(), await device.popErrorScope()].filter((e): e is GPUError => !!e);
  if (errors.length) {
    const first = errors[0]!.message.split('\n')[0]!.trim();
    throw new Error(`WebGPU ${errors[0]!.constructor.name === 'GPUOutOfMemoryError' ? 'out-of-memory' : 'validation'} error: ${first}`);
  }
  if (thrown !== undefined) throw thrown;
  return result as T;
}
