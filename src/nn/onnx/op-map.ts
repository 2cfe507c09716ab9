// One handler per ONNX op: maps a node on graph tensors to camlight layers (Keras classes where
// Keras has them) and converts its weights once, NCHW/OIHW → NHWC/HWIO. A handler throws a short
// reason for any attribute or use it cannot honour; the translator lists them all.
import type { AttrValue, HostTensor, OnnxNode } from './decode.ts';
import { axesOf } from './fold.ts';
import type { Dyn, Translation, Value } from './translate.ts';

type Handler = (tr: Translation, n: OnnxNode, ins: (Value | undefined)[]) => Value[];

const attr = (n: OnnxNode, k: string): AttrValue | undefined => n.attrs.get(k);
const num = (n: OnnxNode, k: string, d: number) => (typeof attr(n, k) === 'number' ? (attr(n, k) as number) : d);
const int = num;
const ints = (n: OnnxNode, k: string, d: number[]) => (Array.isArray(attr(n, k)) ? (attr(n, k) as number[]) : d);
const f32 = (t: HostTensor) => (t.data instanceof Float32Array ? t.data : Float32Array.from(t.data));

function dyn(v: Value | undefined, what = 'input'): Dyn {
  if (!v || v.kind !== 'dyn') throw new Error(`its ${what} must come from the image, not a constant`);
  if (v.grouped) throw new Error('reads a channel-shuffle view (Reshape to 5-D) other than through Transpose and Reshape back');
  return v;
}
function cst(v: Value | undefined, what: string): HostTensor {
  if (!v || v.kind !== 'const') throw new Error(`its ${what} must be a constant (an initializer)`);
  return v.t;
}
function image(v: Value | undefined): Dyn {
  const d = dyn(v);
  if (d.shape.length !== 4) throw new Error(`needs a 4-D (N,C,H,W) input, got (${d.shape.join(', ')})`);
  return d;
}

/** OIHW → HWIO: out[((h·KW + w)·I + i)·O + o] = W[((o·I + i)·KH + h)·KW + w]. */
export function oihwToHwio(w: Float32Array, [O, I, KH, KW]: number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let o = 0; o < O!; o++) for (let i = 0; i < I!; i++) for (let h = 0; h < KH!; h++) for (let x = 0; x < KW!; x++) {
    out[((h * KW! + x) * I! + i) * O! + o] = w[((o * I! + i) * KH! + h) * KW! + x]!;
  }
  return out;
}

/** TensorFlow's 'same' pads (before, after) for one axis, to recognise pads it reproduces exactly. */
function tfSame(size: number, k: number, s: number, d: number): [number, number] {
  const eff = (k - 1) * d + 1;
  const total = Math.max((Math.ceil(size / s) - 1) * s + eff - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** ONNX pads [t, l, b, r] (or auto_pad) → [[t, b], [l, r]]. */
function pads2d(n: OnnxNode, x: Dyn, k: number[], s: number[], d: number[]): [[number, number], [number, number]] {
  const auto = attr(n, 'auto_pad');
  if (auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const [a, b] = [tfSame(x.shape[2]!, k[0]!, s[0]!, d[0]!), tfSame(x.shape[3]!, k[1]!, s[1]!, d[1]!)];
    return auto === 'SAME_UPPER' ? [a, b] : [[a[1], a[0]], [b[1], b[0]]];
  }
  const p = ints(n, 'pads', [0, 0, 0, 0]);
  return [[p[0]!, p[2]!], [p[1]!, p[3]!]];
}

const zero = (p: [[number, number], [number, number]]) => p.every(([a, b]) => a === 0 && b === 0);
const same = (p: [[number, number], [number, number]], x: Dyn, k: number[], s: number[], d: number[]) =>
  [0, 1].every((a) => { const t = tfSame(x.shape[2 + a]!, k[a]!, s[a]!, d[a]!); return t[0] === p[a]![0] && t[1] === p[a]![1]; });

/** A ZeroPadding2D unless pads are zero or 'same' reproduces them; returns the tensor and the conv/pool padding to use. */
function padFor(tr: Translation, n: OnnxNode, x: Dyn, p: [[number, number], [number, number]], k: number[], s: number[], d: number[]): [Dyn, 'same' | 'valid'] {
  if (zero(p)) return [x, 'valid'];
  if (same(p, x, k, s, d)) return [x, 'same'];
  return [tr.layer('ZeroPadding2D', { padding: p, data_format: 'channels_last' }, [x], `${n.name}.pad`), 'valid'];
}

const conv: Handler = (tr, n, [xv, wv, bv]) => {
  const x = image(xv);
  const w = cst(wv, 'weight');
  if (w.dims.length !== 4) throw new Error(`only 2-D convolutions are supported (weight shape [${w.dims.join(', ')}])`);
  const [O, I, KH, KW] = w.dims as [number, number, number, number];
  const group = int(n, 'group', 1);
  const s = ints(n, 'strides', [1, 1]), d = ints(n, 'dilations', [1, 1]);
  const C = x.shape[1]!;
  if (I * group !== C) throw new Error(`weight [${w.dims.join(', ')}] with group ${group} does not fit ${C} input channels`);
  const [xp, padding] = padFor(tr, n, x, pads2d(n, x, [KH, KW], s, d), [KH, KW], s, d);
  const hwio = oihwToHwio(f32(w), w.dims);
  const weights: Record<string, { data: Float32Array; shape: number[] }> = {};
  const base = { kernel_size: [KH, KW], strides: s, dilation_rate: d, padding, data_format: 'channels_last', activation: 'linear', use_bias: !!bv };
  if (bv) weights.bias = { data: f32(cst(bv, 'bias')), shape: [O] };
  // Depthwise (group = C, I = 1): HWIO (KH,KW,1,C·M) is the same memory as (KH,KW,C,M).
  if (group === C && group > 1 && I === 1) {
    weights.depthwise_kernel = { data: hwio, shape: [KH, KW, C, O / C] };
    return [tr.layer('DepthwiseConv2D', { ...base, depth_multiplier: O / C }, [xp], n.name, weights)];
  }
  weights.kernel = { data: hwio, shape: [KH, KW, I, O] };
  return [tr.layer('Conv2D', { ...base, filters: O, groups: group }, [xp], n.name, weights)];
};

const batchNorm: Handler = (tr, n, [xv, sv, bv, mv, vv]) => {
  const x = dyn(xv);
  if (x.shape.length !== 4 && x.shape.length !== 2) throw new Error(`needs a 2-D or 4-D input, got (${x.shape.join(', ')})`);
  const c = x.shape[1]!;
  const vec = (v: Value | undefined, what: string) => ({ data: f32(cst(v, what)), shape: [c] });
  // PyTorch's momentum m updates stat ← (1 − m)·stat + m·batch; Keras's is the weight of the old value.
  // ONNX's momentum weighs the old statistic, as Keras's does (PyTorch's 0.1 is exported as 0.9).
  const cfg = { axis: -1, epsilon: num(n, 'epsilon', 1e-5), momentum: num(n, 'momentum', 0.9), center: true, scale: true };
  return [tr.layer('BatchNormalization', cfg, [x], n.name, {
    gamma: vec(sv, 'scale'), beta: vec(bv, 'bias'), moving_mean: vec(mv, 'mean'), moving_variance: vec(vv, 'variance'),
  })];
};

const scalarOf = (v: Value | undefined, what: string): number | undefined => {
  if (!v) return undefined;
  const t = cst(v, what);
  if (t.data.length !== 1) throw new Error(`its ${what} must be a scalar`);
  return t.data[0];
};

const clip: Handler = (tr, n, [xv, lo, hi]) => {
  const x = dyn(xv);
  const min = scalarOf(lo, 'min') ?? (attr(n, 'min') as number | undefined) ?? -Infinity;
  const max = scalarOf(hi, 'max') ?? (attr(n, 'max') as number | undefined) ?? Infinity;
  if (min !== 0 || !(max === 6 || max >= 3.4e38)) throw new Error(`Clip to [${min}, ${max}] is not supported; ReLU (min 0) and ReLU6 (min 0, max 6) are`);
  return [tr.layer('ReLU', max === 6 ? { max_value: 6 } : {}, [x], n.name)];
};

const activation = (a: string): Handler => (tr, n, [xv]) => [tr.layer('Activation', { activation: a }, [dyn(xv)], n.name)];

/** Add/Sub/Mul/Div: of two image tensors (Keras Add/Multiply, or broadcasting), or with a scalar constant (Rescaling). */
const binary = (op: 'add' | 'sub' | 'mul' | 'div'): Handler => (tr, n, [av, bv]) => {
  if (av?.kind === 'dyn' && bv?.kind === 'dyn') {
    const a = dyn(av), b = dyn(bv);
    if (a.shape.length !== b.shape.length) throw new Error(`operands of rank ${a.shape.length} and ${b.shape.length}; broadcasting across ranks is not supported`);
    const eq = a.shape.every((d, i) => d === b.shape[i]);
    if (eq && op === 'add') return [tr.layer('Add', {}, [a, b], n.name)];
    if (eq && op === 'mul') return [tr.layer('Multiply', {}, [a, b], n.name)];
    return [tr.layer('Broadcast', { op }, [a, b], n.name)];
  }
  const left = av?.kind === 'dyn';
  const x = dyn(left ? av : bv);
  const c = scalarOf(left ? bv : av, 'constant operand (per-channel constants are not supported yet)')!;
  const cfg = op === 'add' ? { scale: 1, offset: c } : op === 'mul' ? { scale: c, offset: 0 }
    : op === 'sub' ? (left ? { scale: 1, offset: -c } : { scale: -1, offset: c })
    : left ? { scale: 1 / c, offset: 0 } : null;
  if (!cfg) throw new Error('a constant divided by an image tensor is not supported');
  return [tr.layer('Rescaling', cfg, [x], n.name)];
};

/** Flatten (N,C,H,W) → (N,C·H·W): NHWC order when H·W > 1, remembered for the next Gemm. */
function flatten(tr: Translation, n: OnnxNode, x: Dyn): Dyn {
  if (x.shape.length === 2) return x;
  const y = tr.layer('Flatten', {}, [x], n.name);
  if (x.shape.length === 4 && x.shape[2]! * x.shape[3]! > 1) y.flatFrom = [x.shape[1]!, x.shape[2]!, x.shape[3]!];
  else if (x.shape.length !== 4) throw new Error(`flattening a rank-${x.shape.length} tensor is not supported`);
  return y;
}

/** A Dense layer from an (in, out) kernel; rows permuted NCHW → NHWC when the input was a flattened map. */
function dense(tr: Translation, n: OnnxNode, x: Dyn, kernel: Float32Array, K: number, U: number, bias?: Float32Array): Dyn {
  if (x.shape.length !== 2 || x.shape[1] !== K) throw new Error(`input (${x.shape.join(', ')}) does not match a weight with ${K} rows`);
  let k = kernel;
  if (x.flatFrom) {
    // NHWC flat index (h·W + w)·C + c holds what NCHW flat index c·H·W + h·W + w held.
    const [C, H, W] = x.flatFrom;
    k = new Float32Array(kernel.length);
    for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) k.set(kernel.subarray((c * H * W + p) * U, (c * H * W + p + 1) * U), (p * C + c) * U);
  }
  const weights: Record<string, { data: Float32Array; shape: number[] }> = { kernel: { data: k, shape: [K, U] } };
  if (bias) weights.bias = { data: bias, shape: [U] };
  return tr.layer('Dense', { units: U, activation: 'linear', use_bias: !!bias }, [x], n.name, weights);
}

const transpose2 = (w: Float32Array, R: number, C: number) => {
  const out = new Float32Array(w.length);
  for (let r = 0; r < R; r++) for (let c = 0; c < C; c++) out[c * R + r] = w[r * C + c]!;
  return out;
};

const gemm: Handler = (tr, n, [av, bv, cv]) => {
  const x = dyn(av);
  if (int(n, 'transA', 0)) throw new Error('transA = 1 is not supported');
  const b = cst(bv, 'weight B');
  const alpha = (attr(n, 'alpha') as number | undefined) ?? 1, beta = (attr(n, 'beta') as number | undefined) ?? 1;
  const [R, C] = b.dims as [number, number];
  let kernel = int(n, 'transB', 0) ? transpose2(f32(b), R, C) : f32(b).slice();
  const [K, U] = int(n, 'transB', 0) ? [C, R] : [R, C];
  if (alpha !== 1) kernel = kernel.map((v) => v * alpha);
  let bias: Float32Array | undefined;
  if (cv) {
    const c = cst(cv, 'bias C');
    if (c.data.length !== U && c.data.length !== 1) throw new Error(`bias of shape [${c.dims.join(', ')}] is not a per-unit vector`);
    bias = c.data.length === U ? f32(c).map((v) => v * beta) : new Float32Array(U).fill(c.data[0]! * beta);
  }
  return [dense(tr, n, x, kernel, K, U, bias)];
};

const matmul: Handler = (tr, n, [av, bv]) => {
  const b = cst(bv, 'right operand');
  if (b.dims.length !== 2) throw new Error('only an image tensor times a 2-D constant is supported');
  return [dense(tr, n, dyn(av), f32(b).slice(), b.dims[0]!, b.dims[1]!)];
};

/** Spatial windows of MaxPool/AveragePool with PyTorch's ceil_mode (the last window starts inside the input or its left padding). */
function windows(n: OnnxNode, x: Dyn) {
  const k = ints(n, 'kernel_shape', []), s = ints(n, 'strides', [1, 1]);
  if (k.length !== 2) throw new Error('only 2-D pooling is supported');
  if (ints(n, 'dilations', [1, 1]).some((v) => v !== 1)) throw new Error('dilated pooling is not supported');
  const p = pads2d(n, x, k, s, [1, 1]);
  const ceil = int(n, 'ceil_mode', 0) === 1;
  const extra = [0, 1].map((a) => {
    const size = x.shape[2 + a]! + p[a]![0] + p[a]![1];
    if (!ceil) return 0;
    let out = Math.ceil((size - k[a]!) / s[a]!) + 1;
    if ((out - 1) * s[a]! >= x.shape[2 + a]! + p[a]![0]) out--;
    return Math.max(0, (out - 1) * s[a]! + k[a]! - size);
  });
  return { k, s, p, extra };
}

const maxPool: Handler = (tr, n, [xv]) => {
  const x = image(xv);
  if (n.outputs.length > 1 && n.outputs[1]) throw new Error('the Indices output is not supported');
  const { k, s, p, extra } = windows(n, x);
  const pads: [[number, number], [number, number]] = [[p[0][0], p[0][1] + extra[0]!], [p[1][0], p[1][1] + extra[1]!]];
  if (zero(pads)) return [tr.layer('MaxPooling2D', { pool_size: k, strides: s, padding: 'valid', data_format: 'channels_last' }, [x], n.name)];
  return [tr.layer('PaddedMaxPool', { pool_size: k, strides: s, pads }, [x], n.name)];
};

const avgPool: Handler = (tr, n, [xv]) => {
  const x = image(xv);
  const { k, s, p, extra } = windows(n, x);
  if (extra.some((e) => e > 0)) throw new Error('ceil_mode with a partial last window is not supported for average pooling');
  const cfg = (padding: string) => ({ pool_size: k, strides: s, padding, data_format: 'channels_last' });
  if (zero(p)) return [tr.layer('AveragePooling2D', cfg('valid'), [x], n.name)];
  if (int(n, 'count_include_pad', 0)) {
    const xp = tr.layer('ZeroPadding2D', { padding: p, data_format: 'channels_last' }, [x], `${n.name}.pad`);
    return [tr.layer('AveragePooling2D', cfg('valid'), [xp], n.name)];
  }
  if (same(p, x, k, s, [1, 1])) return [tr.layer('AveragePooling2D', cfg('same'), [x], n.name)];
  throw new Error(`pads [${p.flat().join(', ')}] with count_include_pad = 0 are not supported`);
};

const globalPool = (keep: boolean) => (tr: Translation, n: OnnxNode, x: Dyn) =>
  tr.layer('GlobalAveragePooling2D', { keepdims: keep, data_format: 'channels_last' }, [x], n.name);

const reduceMean: Handler = (tr, n, ins) => {
  const x = image(ins[0]);
  const axes = (axesOf(n, ins.map((v) => (v?.kind === 'const' ? v.t : undefined))) ?? []).map((a) => (a < 0 ? a + 4 : a)).sort();
  if (axes.join() !== '2,3') throw new Error(`ReduceMean over axes [${axes.join(', ')}] is not supported; over the spatial axes [2, 3] it is`);
  return [globalPool(int(n, 'keepdims', 1) === 1)(tr, n, x)];
};

const concat: Handler = (tr, n, ins) => {
  const xs = ins.map((v) => dyn(v, 'inputs'));
  const r = xs[0]!.shape.length;
  const axis = int(n, 'axis', 1) < 0 ? int(n, 'axis', 1) + r : int(n, 'axis', 1);
  if (axis !== 1) throw new Error(`concatenation on axis ${axis} is not supported; on the channel axis (1) it is`);
  // DenseNet's first layer in each block concatenates a single tensor: the identity.
  if (xs.length === 1) return [xs[0]!];
  return [tr.layer('Concatenate', { axis: -1 }, xs, n.name)];
};

/** Split on channels (torch.chunk in ShuffleNetV2) → one ChannelSlice per output. */
const split: Handler = (tr, n, [xv, sv]) => {
  const x = image(xv);
  const axis = int(n, 'axis', 0);
  if (axis !== 1 && axis !== -3) throw new Error(`split on axis ${axis} is not supported; on the channel axis (1) it is`);
  const C = x.shape[1]!;
  const sizes = sv ? Array.from(cst(sv, 'split sizes').data) : ints(n, 'split', Array(n.outputs.length).fill(C / n.outputs.length));
  let begin = 0;
  return sizes.map((size, i) => {
    const y = tr.layer('ChannelSlice', { begin, size }, [x], `${n.name}.${i}`);
    begin += size;
    return y;
  });
};

const slice: Handler = (tr, n, [xv, st, en, ax, sp]) => {
  const x = image(xv);
  const axes = ax ? Array.from(cst(ax, 'axes').data) : [0];
  if (axes.length !== 1 || (axes[0] !== 1 && axes[0] !== -3) || (sp && cst(sp, 'steps').data[0] !== 1)) throw new Error('only a step-1 slice of the channel axis is supported');
  const C = x.shape[1]!;
  const clamp = (v: number) => Math.max(0, Math.min(C, v < 0 ? v + C : v));
  const b = clamp(cst(st, 'starts').data[0]!), e = clamp(cst(en, 'ends').data[0]!);
  return [tr.layer('ChannelSlice', { begin: b, size: e - b }, [x], n.name)];
};

const reshape: Handler = (tr, n, [xv, sv]) => {
  if (!xv || xv.kind !== 'dyn') throw new Error('its data must come from the image');
  const target = Array.from(cst(sv, 'shape').data).map((d, i) => (d === 0 ? xv.shape[i]! : d));
  const free = target.indexOf(-1);
  const total = xv.shape.reduce((a, b) => a * b, 1);
  if (free >= 0) target[free] = total / target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
  const [N, C, H, W] = xv.shape as number[];
  if (xv.grouped?.transposed && target.length === 4 && target[1] === C && target[2] === H && target[3] === W) {
    return [tr.layer('ChannelShuffle', { groups: xv.grouped.groups }, [{ ...xv, grouped: undefined }], n.name)];
  }
  const x = dyn(xv);
  if (x.shape.length === 4 && target.length === 5 && target[0] === N && target[3] === H && target[4] === W && target[1]! * target[2]! === C) {
    return [{ ...x, grouped: { groups: target[1]!, transposed: false } }];
  }
  if (target.length === 2 && target[0] === N && target[1] === total / N!) return [flatten(tr, n, x)];
  if (target.length === x.shape.length && target.every((d, i) => d === x.shape[i])) return [x];
  throw new Error(`reshape (${x.shape.join(', ')}) → (${target.join(', ')}) is not supported; flattening to (N, -1) and ShuffleNet's channel shuffle are`);
};

const transpose: Handler = (_tr, _n, [xv]) => {
  const perm = ints(_n, 'perm', []);
  if (xv?.kind === 'dyn' && xv.grouped && !xv.grouped.transposed && perm.join() === '0,2,1,3,4') {
    return [{ ...xv, grouped: { groups: xv.grouped.groups, transposed: true } }];
  }
  throw new Error(`Transpose with perm [${perm.join(', ')}] is supported only inside a channel shuffle (Reshape → Transpose [0,2,1,3,4] → Reshape)`);
};

const pad: Handler = (tr, n, [xv, pv, cv]) => {
  const x = image(xv);
  if ((attr(n, 'mode') ?? 'constant') !== 'constant') throw new Error(`mode '${String(attr(n, 'mode'))}' is not supported; constant padding is`);
  const p = pv ? Array.from(cst(pv, 'pads').data) : ints(n, 'pads', []);
  const value = cv ? cst(cv, 'value').data[0] : (attr(n, 'value') as number | undefined) ?? 0;
  if (p.length !== 8 || p[0] || p[1] || p[4] || p[5] || value !== 0) throw new Error('only zero padding of the spatial axes is supported');
  return [tr.layer('ZeroPadding2D', { padding: [[p[2]!, p[6]!], [p[3]!, p[7]!]], data_format: 'channels_last' }, [x], n.name)];
};

const passThrough: Handler = (_tr, _n, [xv]) => [dyn(xv)];

export const OP_HANDLERS: Record<string, Handler> = {
  Conv: conv,
  BatchNormalization: batchNorm,
  Relu: (tr, n, [x]) => [tr.layer('ReLU', {}, [dyn(x)], n.name)],
  Clip: clip,
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  HardSigmoid: (tr, n, [x]) => [tr.layer('HardSigmoid', { alpha: num(n, 'alpha', 0.2), beta: num(n, 'beta', 0.5) }, [dyn(x)], n.name)],
  HardSwish: (tr, n, [x]) => [tr.layer('HardSwish', {}, [dyn(x)], n.name)],
  Add: binary('add'), Sub: binary('sub'), Mul: binary('mul'), Div: binary('div'),
  MaxPool: maxPool,
  AveragePool: avgPool,
  GlobalAveragePool: (tr, n, [x]) => [globalPool(true)(tr, n, image(x))],
  ReduceMean: reduceMean,
  Gemm: gemm,
  MatMul: matmul,
  Flatten: (tr, n, [x]) => {
    if (int(n, 'axis', 1) !== 1) throw new Error(`axis ${int(n, 'axis', 1)} is not supported; Flatten(axis = 1) is`);
    return [flatten(tr, n, dyn(x))];
  },
  Reshape: reshape,
  Concat: concat,
  Split: split,
  Slice: slice,
  Transpose: transpose,
  Pad: pad,
  Dropout: passThrough,
  Identity: passThrough,
  Softmax: (tr, n, [xv]) => {
    const x = dyn(xv);
    const a = int(n, 'axis', -1);
    if (x.shape.length !== 2 || (a !== -1 && a !== 1)) throw new Error('only a softmax over the classes of an (N, K) tensor is supported');
    return [tr.layer('Softmax', { axis: -1 }, [x], n.name)];
  },
};

