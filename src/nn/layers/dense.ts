// Keras Dense, including kernels larger than one storage binding (VGG-19's fc1 is 25088×4096
// floats, 392 MiB, against 128 MiB per binding on lavapipe and many GPUs): such a kernel is held
// as row chunks W_i:(K_i,U) and y = act(Σ_i x[:, K_i] · W_i + b), which stays differentiable.
import { sizeClass } from '../../gpu/pool.ts';
import * as ops from '../ops.ts';
import { runtime } from '../../tensor/runtime-global.ts';
import { upload, type Tensor } from '../../tensor/tensor.ts';
import { activation, applyActivation, bool, channels, fusable, int, oneInput, type LayerActivation } from './config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

/** Lowers the per-weight byte limit below the adapter's (tests exercise chunking with it); null restores it. */
export const weightSplitting = { maxBytes: null as number | null };

/** The most bytes one weight tensor may occupy: the adapter's binding and buffer limits, or the override. */
export function weightByteLimit(): number {
  const l = runtime().limits;
  return Math.min(weightSplitting.maxBytes ?? Infinity, l.maxStorageBufferBindingSize, l.maxBufferSize);
}

/** Rows per chunk so that each chunk's pooled buffer (a size class) stays within `limit` bytes. */
export function chunkRows(rows: number, rowBytes: number, limit: number): number {
  let r = Math.max(1, Math.floor(limit / rowBytes));
  while (r > 1 && sizeClass(r * rowBytes) > limit) r = Math.max(1, Math.floor(r * 0.95));
  const n = Math.ceil(rows / r);
  return Math.ceil(rows / n);
}

/** Keras Dense: x:(N,…,K) kernel:(K,units) bias:(units) → (N,…,units). */
export class Dense extends StoredLayer {
  readonly className = 'Dense';
  readonly units: number;
  readonly activation: LayerActivation;
  readonly useBias: boolean;

  constructor(config: LayerConfig) {
    super(config);
    this.units = int(config, 'Dense', 'units');
    this.activation = activation(config, 'Dense');
    this.useBias = bool(config, 'use_bias', true);
  }

  weightSpecs(shapes: Shape[]): WeightSpec[] {
    const k = channels(oneInput(shapes, this.config, this.className), this.config, this.className);
    const specs: WeightSpec[] = [{ name: 'kernel', shape: [k, this.units], trainable: true }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.units], trainable: true });
    return specs;
  }

  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    return [...s.slice(0, -1), this.units];
  }

  /** Kernel chunks are stored as 'kernel#0', 'kernel#1', … in `weights`, each its own tensor. */
  override weightParts(name: string): Tensor[] {
    if (name !== 'kernel' || this.weights.has('kernel')) return super.weightParts(name);
    const parts: Tensor[] = [];
    for (let i = 0; this.weights.has(`kernel#${i}`); i++) parts.push(this.weights.get(`kernel#${i}`)!);
    return parts.length ? parts : super.weightParts(name);
  }

  override setWeight(name: string, data: Float32Array, shape: number[]): void {
    const [k, u] = shape as [number, number];
    const limit = weightByteLimit();
    if (name !== 'kernel' || sizeClass(data.length * 4) <= limit) {
      super.setWeight(name, data, shape);
      return;
    }
    this.disposeWeight(name);
    const rows = chunkRows(k, u * 4, limit);
    for (let r0 = 0, i = 0; r0 < k; r0 += rows, i++) {
      const r = Math.min(rows, k - r0);
      this.weights.set(`kernel#${i}`, upload(data.subarray(r0 * u, (r0 + r) * u), [r, u], undefined, { exact: true }));
    }
  }

  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const bias = this.useBias ? this.weight('bias') : undefined;
    const parts = this.weightParts('kernel');
    const act = this.activation;
    if (parts.length === 1) {
      const y = ops.dense(x!, parts[0]!, bias, fusable(act) ? act : 'linear');
      return fusable(act) ? y : applyActivation(y, act);
    }
    return applyActivation(this.chunked(x!, parts, bias), act);
  }

  /** x:(N,…,K) Σ_i slice(x, K_i)·W_i + b → (N,…,U), the activation left to the caller. */
  private chunked(x: Tensor, parts: Tensor[], bias: Tensor | undefined): Tensor {
    const k = x.shape[x.rank - 1]!;
    const x2 = ops.reshape(x, [x.size / k, k]);
    let y: Tensor | null = null;
    let k0 = 0;
    for (const [i, w] of parts.entries()) {
      const kc = w.shape[0]!;
      const xi = ops.slice(x2, [0, k0], [-1, kc]);
      const yi = ops.matmul(xi, w, i === 0 && bias ? { bias } : {});
      const sum: Tensor = y ? ops.add(y, yi) : yi;
      if (y) {
        y.dispose();
        yi.dispose();
      }
      xi.dispose();
      y = sum;
      k0 += kc;
    }
    return ops.reshape(y!, [...x.shape.slice(0, -1), this.units]);
  }
}
