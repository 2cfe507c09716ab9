// Keras's merge layers, which give a functional model its several inbound tensors per node:
// Concatenate (Inception's mixed blocks), Add (residual connections) and Multiply (gates).
import { ShapeError } from '../../gpu/errors.ts';
import * as ops from '../ops.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { fmtShape, layerWhere } from './config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from './layer.ts';

abstract class Merge extends StoredLayer {
  weightSpecs(): WeightSpec[] {
    return [];
  }
  protected checkMany(shapes: Shape[]): void {
    if (shapes.length < 2) throw new ShapeError(`${layerWhere(this.config, this.className)} merges at least 2 inputs, got ${shapes.length}`);
  }
}

/** Keras Concatenate along `axis` (default -1, the channels). */
export class Concatenate extends Merge {
  readonly className = 'Concatenate';
  readonly axis: number;
  constructor(config: LayerConfig) {
    super(config);
    this.axis = typeof config.axis === 'number' ? config.axis : -1;
  }
  outputShape(shapes: Shape[]): Shape {
    this.checkMany(shapes);
    const r = shapes[0]!.length;
    const a = this.axis < 0 ? this.axis + r : this.axis;
    const bad = () => new ShapeError(
      `${layerWhere(this.config, this.className)}: inputs ${shapes.map((s) => `(${fmtShape(s)})`).join(', ')} must agree on every axis but ${this.axis}`,
    );
    if (a < 1 || a >= r) throw new ShapeError(`${layerWhere(this.config, this.className)}: axis ${this.axis} is out of range (or the batch axis) for rank ${r}`);
    const out: Shape = [...shapes[0]!];
    for (const s of shapes.slice(1)) {
      if (s.length !== r) throw bad();
      for (let i = 0; i < r; i++) {
        if (i === a) continue;
        if (s[i] !== null && out[i] !== null && s[i] !== out[i]) throw bad();
        out[i] ??= s[i] ?? null;
      }
      out[a] = out[a] === null || s[a] === null ? null : out[a]! + s[a]!;
    }
    return out;
  }
  call(xs: Tensor[], _ctx: CallContext): Tensor {
    return ops.concat(xs, this.axis);
  }
}

/**
 * Add/Multiply's output shape with Keras's broadcasting of equal-rank inputs (merging.py
 * `_compute_elemwise_op_output_shape`): per axis, a 1 takes the other size (squeeze-excite's
 * (N, H, W, C) ⊙ (N, 1, 1, C)); other sizes must agree.
 */
abstract class Elementwise extends Merge {
  outputShape(shapes: Shape[]): Shape {
    this.checkMany(shapes);
    const out: Shape = [...shapes[0]!];
    for (const s of shapes.slice(1)) {
      if (s.length !== out.length || s.some((d, i) => d !== null && out[i] !== null && d !== out[i] && d !== 1 && out[i] !== 1)) {
        throw new ShapeError(
          `${layerWhere(this.config, this.className)}: inputs ${shapes.map((x) => `(${fmtShape(x)})`).join(', ')} must have the same rank and, ` +
            'per axis, the same size or 1 (broadcast)',
        );
      }
      s.forEach((d, i) => {
        if (out[i] === 1 || (out[i] === null && d !== 1)) out[i] = d;
      });
    }
    return out;
  }
}

/** Keras Add: the element-wise sum of its inputs (broadcast as above). */
export class Add extends Elementwise {
  readonly className = 'Add';
  call(xs: Tensor[], _ctx: CallContext): Tensor {
    let y = ops.add(xs[0]!, xs[1]!);
    for (const x of xs.slice(2)) y = ops.add(y, x);
    return y;
  }
}

/** Keras Multiply: the element-wise product of its inputs (broadcast as above). */
export class Multiply extends Elementwise {
  readonly className = 'Multiply';
  call(xs: Tensor[], _ctx: CallContext): Tensor {
    let y = ops.mul(xs[0]!, xs[1]!);
    for (const x of xs.slice(2)) y = ops.mul(y, x);
    return y;
  }
}
