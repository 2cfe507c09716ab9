// Layers PyTorch models need that Keras has no class for: hard sigmoid/swish (MobileNetV3),
// broadcasting binary ops (squeeze-excitation gates, SiLU as x·σ(x)), channel slices and shuffles
// (ShuffleNetV2) and max pooling with explicit -∞ padding (ceil_mode, asymmetric pads). Each is
// built from differentiable ops, so its backward is those ops' rules (checked in the tests).
import { ShapeError } from '../../gpu/errors.ts';
import * as ops from '../ops.ts';
import { keep, upload, type Tensor } from '../../tensor/tensor.ts';
import { fmtShape, LayerConfigError, layerWhere, num, oneInput, pair } from '../layers/config.ts';
import { StoredLayer, type CallContext, type LayerConfig, type Shape, type WeightSpec } from '../layers/layer.ts';

abstract class Weightless extends StoredLayer {
  weightSpecs(): WeightSpec[] {
    return [];
  }
}

/**
 * ONNX HardSigmoid: max(0, min(1, α·x + β)) (PyTorch's hardsigmoid: α = 1/6, β = 1/2), as
 * relu6(6α·x + 6β) / 6 so that the clamp rides on the fused relu6 kernel.
 */
export class HardSigmoid extends Weightless {
  readonly className = 'HardSigmoid';
  readonly alpha: number;
  readonly beta: number;
  constructor(config: LayerConfig) {
    super(config);
    this.alpha = num(config, 'HardSigmoid', 'alpha', 0.2);
    this.beta = num(config, 'HardSigmoid', 'beta', 0.5);
  }
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.mulScalar(ops.affine(x!, 6 * this.alpha, 6 * this.beta, 'relu6'), 1 / 6);
  }
}

/** ONNX HardSwish (Howard et al. 2019, "Searching for MobileNetV3", Eq. 2): x · relu6(x + 3) / 6. */
export class HardSwish extends Weightless {
  readonly className = 'HardSwish';
  outputShape(shapes: Shape[]): Shape {
    return oneInput(shapes, this.config, this.className);
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.mul(x!, ops.mulScalar(ops.affine(x!, 1, 3, 'relu6'), 1 / 6));
  }
}

const BINARY = { add: ops.add, sub: ops.sub, mul: ops.mul, div: ops.div } as const;

/** ONNX Add/Sub/Mul/Div of two graph tensors with NumPy broadcasting (e.g. (N,H,W,C)·(N,1,1,C)). */
export class Broadcast extends Weightless {
  readonly className = 'Broadcast';
  readonly op: keyof typeof BINARY;
  constructor(config: LayerConfig) {
    super(config);
    const op = config.op;
    if (typeof op !== 'string' || !(op in BINARY)) throw new LayerConfigError(`${layerWhere(config, 'Broadcast')}: op must be add, sub, mul or div, got ${JSON.stringify(op)}`);
    this.op = op as keyof typeof BINARY;
  }
  outputShape(shapes: Shape[]): Shape {
    if (shapes.length !== 2) throw new ShapeError(`${layerWhere(this.config, this.className)} takes 2 inputs, got ${shapes.length}`);
    const [a, b] = shapes as [Shape, Shape];
    const r = Math.max(a.length, b.length);
    const out: Shape = [];
    for (let i = 0; i < r; i++) {
      const x = a[a.length - r + i] ?? 1, y = b[b.length - r + i] ?? 1;
      if (x !== null && y !== null && x !== y && x !== 1 && y !== 1) {
        throw new ShapeError(`${layerWhere(this.config, this.className)}: shapes (${fmtShape(a)}) and (${fmtShape(b)}) do not broadcast`);
      }
      out.push(x === 1 ? y : y === 1 ? x : x ?? y);
    }
    return out;
  }
  call([a, b]: Tensor[], _ctx: CallContext): Tensor {
    return BINARY[this.op](a!, b!);
  }
}

/** Channels [begin, begin + size) of an NHWC tensor (ONNX Split/Slice on the channel axis). */
export class ChannelSlice extends Weightless {
  readonly className = 'ChannelSlice';
  readonly begin: number;
  readonly size: number;
  constructor(config: LayerConfig) {
    super(config);
    this.begin = num(config, 'ChannelSlice', 'begin');
    this.size = num(config, 'ChannelSlice', 'size');
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className);
    const c = s[s.length - 1];
    if (typeof c === 'number' && this.begin + this.size > c) throw new ShapeError(`${layerWhere(this.config, this.className)}: channels ${this.begin}…${this.begin + this.size - 1} of ${c}`);
    return [...s.slice(0, -1), this.size];
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    return ops.slice(x!, x!.shape.map((_, i) => (i === x!.rank - 1 ? this.begin : 0)), x!.shape.map((d, i) => (i === x!.rank - 1 ? this.size : d)));
  }
}

/**
 * ShuffleNet's channel shuffle (Zhang et al. 2018, Sec. 3.1): channels viewed as (groups, C/groups),
 * transposed and flattened, so output channel j·groups + g is input channel g·(C/groups) + j. Run
 * as a product with a 0/1 permutation matrix: every output is one input times 1 plus zeros, so
 * exact, and its gradient is the transposed permutation.
 */
export class ChannelShuffle extends StoredLayer {
  readonly className = 'ChannelShuffle';
  readonly groups: number;
  private perm: Tensor | null = null;
  constructor(config: LayerConfig) {
    super(config);
    this.groups = num(config, 'ChannelShuffle', 'groups');
  }
  weightSpecs(): WeightSpec[] {
    return [];
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    if (typeof s[3] !== 'number' || s[3] % this.groups) throw new ShapeError(`${layerWhere(this.config, this.className)}: ${s[3]} channels do not split into ${this.groups} groups`);
    return s;
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const C = x!.shape[3]!, per = C / this.groups;
    if (!this.perm || this.perm.shape[0] !== C) {
      this.perm?.dispose();
      // P[i, o] = 1 where input channel i feeds output channel o.
      const p = new Float32Array(C * C);
      for (let g = 0; g < this.groups; g++) for (let j = 0; j < per; j++) p[(g * per + j) * C + j * this.groups + g] = 1;
      // Kept out of the step's scope: the matrix lives as long as the layer.
      this.perm = keep(upload(p, [C, C], undefined, { exact: true }));
    }
    const flat = ops.reshape(x!, [x!.size / C, C]);
    return ops.reshape(ops.matmul(flat, this.perm), x!.shape);
  }
  override disposeWeights(): void {
    super.disposeWeights();
    this.perm?.dispose();
    this.perm = null;
  }
}

/**
 * Max pooling with explicit padding [[top, bottom], [left, right]] filled with the lowest float, so
 * that padding never wins a window (PyTorch's pads and ceil_mode's extra bottom/right cells).
 * x:(N,H,W,C) → (N,OH,OW,C), OH = (H + top + bottom − KH) / SH + 1.
 */
export class PaddedMaxPool extends Weightless {
  readonly className = 'PaddedMaxPool';
  readonly poolSize: [number, number];
  readonly strides: [number, number];
  readonly pads: [[number, number], [number, number]];
  constructor(config: LayerConfig) {
    super(config);
    this.poolSize = pair(config, 'PaddedMaxPool', 'pool_size');
    this.strides = pair(config, 'PaddedMaxPool', 'strides');
    const p = config.pads;
    if (!Array.isArray(p) || p.length !== 2 || !p.flat().every((v) => Number.isInteger(v) && v >= 0)) {
      throw new LayerConfigError(`${layerWhere(config, 'PaddedMaxPool')}: pads must be [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
    }
    this.pads = p as [[number, number], [number, number]];
  }
  outputShape(shapes: Shape[]): Shape {
    const s = oneInput(shapes, this.config, this.className, 4);
    const dim = (d: number | null, a: 0 | 1) => {
      if (d === null) return null;
      const o = Math.floor((d + this.pads[a][0] + this.pads[a][1] - this.poolSize[a]) / this.strides[a]) + 1;
      if (o < 1) throw new ShapeError(`${layerWhere(this.config, this.className)}: input (${fmtShape(s)}) is smaller than the pool window`);
      return o;
    };
    return [s[0] ?? null, dim(s[1] ?? null, 0), dim(s[2] ?? null, 1), s[3] ?? null];
  }
  call([x]: Tensor[], _ctx: CallContext): Tensor {
    const [[t, b], [l, r]] = this.pads;
    const padded = t || b || l || r ? ops.pad(x!, [[0, 0], [t, b], [l, r], [0, 0]], -3.4e38) : x!;
    return ops.maxPool2d(padded, { window: this.poolSize, strides: this.strides, padding: 'valid' });
  }
}

export const ONNX_LAYER_CLASSES = { HardSigmoid, HardSwish, Broadcast, ChannelSlice, ChannelShuffle, PaddedMaxPool };
