// Writes Keras functional/Sequential configs in code, naming layers as Keras does (explicit names,
// or per-class counters: conv2d, conv2d_1, …), so the zoo builds its models through the same
// Model.fromKerasConfig path as a loaded model.json.
import type { Shape } from '../layers/layer.ts';

type Cfg = Record<string, unknown>;

/** Keras's snake_case base name of a class (what unnamed layers are called). */
const BASE: Record<string, string> = {
  Conv2D: 'conv2d', BatchNormalization: 'batch_normalization', Activation: 'activation', MaxPooling2D: 'max_pooling2d',
  AveragePooling2D: 'average_pooling2d', Concatenate: 'concatenate', GlobalAveragePooling2D: 'global_average_pooling2d',
  GlobalMaxPooling2D: 'global_max_pooling2d', Dense: 'dense', Flatten: 'flatten', Dropout: 'dropout',
  ZeroPadding2D: 'zero_padding2d',
};

/** A functional Keras graph under construction; tensors are named by the layer producing them. */
export class KerasGraph {
  private layers: Cfg[] = [];
  private counts = new Map<string, number>();
  private inputs: string[] = [];

  constructor(readonly name: string) {}

  private autoName(className: string): string {
    const base = BASE[className] ?? className.toLowerCase();
    const n = this.counts.get(base) ?? 0;
    this.counts.set(base, n + 1);
    return n ? `${base}_${n}` : base;
  }

  /** An InputLayer; shape excludes the batch. */
  input(shape: Shape, name = 'input_1'): string {
    this.layers.push({ name, class_name: 'InputLayer', config: { batch_input_shape: [null, ...shape], dtype: 'float32', sparse: false, name }, inbound_nodes: [] });
    this.inputs.push(name);
    return name;
  }

  /** Adds a layer reading `inputs`; returns its name (the tensor it produces). */
  add(className: string, config: Cfg, inputs: string | string[], name?: string): string {
    const n = name ?? this.autoName(className);
    const ins = Array.isArray(inputs) ? inputs : [inputs];
    this.layers.push({
      name: n, class_name: className, config: { name: n, trainable: true, dtype: 'float32', ...config },
      inbound_nodes: [ins.map((i) => [i, 0, 0, {}])],
    });
    return n;
  }

  /** The topology, as tfjs's model.json `modelTopology` holds it. */
  topology(output: string): unknown {
    return {
      class_name: 'Functional',
      config: { name: this.name, layers: this.layers, input_layers: this.inputs.map((i) => [i, 0, 0]), output_layers: [[output, 0, 0]] },
      keras_version: '2.15.0',
      backend: 'tensorflow',
    };
  }
}

/** Conv2D config fields (channels_last, as Keras writes them). */
export function conv(filters: number, kernel: [number, number], o: { strides?: number; padding?: 'same' | 'valid'; activation?: string; useBias?: boolean } = {}): Cfg {
  const s = o.strides ?? 1;
  return {
    filters, kernel_size: kernel, strides: [s, s], padding: o.padding ?? 'same', data_format: 'channels_last',
    dilation_rate: [1, 1], groups: 1, activation: o.activation ?? 'linear', use_bias: o.useBias ?? true,
  };
}

export function pool(size: number, strides: number, padding: 'same' | 'valid' = 'valid'): Cfg {
  return { pool_size: [size, size], strides: [strides, strides], padding, data_format: 'channels_last' };
}

/** Options shared by the ImageNet classifiers, as keras.applications names them. */
export interface ApplicationOptions {
  /** (H, W, C) without the batch; default 224×224×3 (VGG) or 299×299×3 (Inception). */
  inputShape?: [number, number, number];
  /** With the classifier head (default true). */
  includeTop?: boolean;
  /** Head size (default 1000). */
  classes?: number;
  /** Without the head: 'avg' or 'max' global pooling of the last feature map. */
  pooling?: 'avg' | 'max' | null;
  /** 'softmax' (default, as Keras) or 'linear' (logits, handy for CAMs and training). */
  classifierActivation?: 'softmax' | 'linear';
}

/** How one application names its head's layers; unnamed layers get Keras's automatic names. */
export interface HeadNames {
  /** The global average pooling before the classifier ('avg_pool' in most; MobileNetV2 leaves it unnamed). */
  topPool?: string;
  /** The pooling layers of `pooling: 'avg' | 'max'` without the top, where Keras names them. */
  pooled?: { avg: string; max: string };
  /** EfficientNet: a Dropout 'top_dropout' of this rate before the classifier. */
  dropout?: number;
}

/**
 * keras.applications' common head on the last feature map: with the top, global average pooling
 * then the 'predictions' Dense; without it, optional global pooling. VGG's Flatten + fc head is its own.
 * Shape: (N, H, W, C) → (N, classes), (N, C) pooled, or unchanged.
 */
export function applicationHead(g: KerasGraph, x: string, o: ApplicationOptions, names: HeadNames = {}): string {
  const { includeTop = true, classes = 1000, pooling = null, classifierActivation = 'softmax' } = o;
  const gap = { data_format: 'channels_last', keepdims: false };
  if (includeTop) {
    x = g.add('GlobalAveragePooling2D', gap, x, names.topPool);
    if (names.dropout) x = g.add('Dropout', { rate: names.dropout, noise_shape: null, seed: null }, x, 'top_dropout');
    return g.add('Dense', { units: classes, activation: classifierActivation, use_bias: true }, x, 'predictions');
  }
  if (pooling === 'avg') return g.add('GlobalAveragePooling2D', gap, x, names.pooled?.avg);
  if (pooling === 'max') return g.add('GlobalMaxPooling2D', gap, x, names.pooled?.max);
  return x;
}

export function checkInput(model: string, shape: [number, number, number], min: number): void {
  const [h, w, c] = shape;
  if (![h, w, c].every((d) => Number.isInteger(d) && d > 0)) throw new RangeError(`${model}: inputShape must be three positive integers (H, W, C), got [${shape.join(', ')}]`);
  if (h < min || w < min) throw new RangeError(`${model}: input must be at least ${min}×${min}, got ${h}×${w}; resize the images up`);
}
