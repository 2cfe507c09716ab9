// The contract every Keras-compatible layer implements: its Keras class name and config, the
// weights it expects (names and shapes in Keras order, so loaders can check files against it),
// its output shape, and a forward built from differentiable ops (so the tape sees through it).
import { upload, type Tensor } from '../../tensor/tensor.ts';

/** A shape with the batch (and any unknown) dimension as null, as Keras writes it. */
export type Shape = (number | null)[];

/** Keras's layer config dict as TensorFlow.js's converter writes it (snake_case keys). */
export type LayerConfig = { name: string } & Record<string, unknown>;

/** One weight a layer owns, named as Keras names it ('kernel', 'bias', 'gamma', 'moving_mean', …). */
export interface WeightSpec {
  name: string;
  shape: number[];
  /** False for non-trainable state such as batch-norm moving statistics. */
  trainable: boolean;
}

export interface CallContext {
  /** Training mode: dropout active, batch-norm uses (and updates) batch statistics. */
  training: boolean;
  /** Seeded random source for dropout and friends in training mode. */
  random?: () => number;
}

export abstract class Layer {
  /** Keras class name, e.g. 'Conv2D'. */
  abstract readonly className: string;
  readonly name: string;
  /** The config as loaded (kept verbatim for saving back to the same format). */
  readonly config: LayerConfig;
  /** Weights by Keras weight name, set by build() (random init) or by a loader. */
  readonly weights = new Map<string, Tensor>();
  /** False freezes every weight of the layer (fine-tuning a pretrained base). */
  trainable: boolean;

  constructor(config: LayerConfig) {
    this.config = config;
    this.name = config.name;
    this.trainable = config.trainable !== false;
  }

  /** The weights this layer holds for the given input shapes, in Keras's order. */
  abstract weightSpecs(inputShapes: Shape[]): WeightSpec[];

  /** Output shape for the given input shapes (batch stays null). */
  abstract outputShape(inputShapes: Shape[]): Shape;

  /** The forward pass on GPU tensors through differentiable ops. */
  abstract call(inputs: Tensor[], ctx: CallContext): Tensor;
}

/**
 * Weight storage helpers every layer inherits (additive to the contract above): one weight may be
 * held as several tensors (a Dense kernel larger than one storage binding), so code outside the
 * layer reads and writes weights through these rather than through `weights` directly.
 */
export abstract class StoredLayer extends Layer {
  /** The tensor of one weight; throws naming the layer when it has not been loaded. */
  weight(name: string): Tensor {
    const t = this.weights.get(name);
    if (!t) {
      throw new Error(
        `layer '${this.name}' (${this.className}) has no weight '${name}' yet: load weights ` +
          '(model.setWeights or a loader) or call model.initWeights()',
      );
    }
    return t;
  }

  /** The tensors holding one weight, in order (one unless the layer splits it). */
  weightParts(name: string): Tensor[] {
    return [this.weight(name)];
  }

  /** Replaces one weight with host data already checked against weightSpecs. */
  setWeight(name: string, data: Float32Array, shape: number[]): void {
    this.disposeWeight(name);
    this.weights.set(name, upload(data, shape, undefined, { exact: true }));
  }

  /** Copies one weight to the host (parts joined in order). */
  async readWeight(name: string): Promise<Float32Array> {
    const parts = await Promise.all(this.weightParts(name).map((t) => t.data()));
    if (parts.length === 1) return parts[0]!;
    const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  }

  /** Frees one weight (all of its parts). */
  disposeWeight(name: string): void {
    for (const [k, t] of this.weights) {
      if (k === name || k.startsWith(`${name}#`)) {
        t.dispose();
        this.weights.delete(k);
      }
    }
  }

  /** Frees every weight of the layer. */
  disposeWeights(): void {
    for (const t of this.weights.values()) t.dispose();
    this.weights.clear();
  }
}
