// Reading Keras layer configs (snake_case, as TensorFlow.js's converter and Keras 2/3 write them)
// into checked values, and the shape arithmetic the layers share, with errors that name the layer.
import { ShapeError } from '../../gpu/errors.ts';
import { ACTIVATIONS, type Activation } from '../../kernels/program.ts';
import * as ops from '../ops.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { LayerConfig, Shape } from './layer.ts';

/** A config value camlight cannot honour (channels_first, an unknown activation, …). */
export class LayerConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LayerConfigError';
  }
}

/** Activations a layer may name: the kernel-fusable ones, plus softmax and swish run as ops. */
export type LayerActivation = Activation | 'softmax' | 'swish';
export const LAYER_ACTIVATIONS: readonly string[] = [...ACTIVATIONS, 'softmax', 'swish'];

const where = (c: LayerConfig, cls: string) => `layer '${c.name}' (${cls})`;

/** A Keras 3 serialised value ({class_name, config}) or a plain value, unwrapped to the plain value. */
function plain(v: unknown): unknown {
  if (v && typeof v === 'object' && !Array.isArray(v) && 'class_name' in v && 'config' in v) {
    const cfg = (v as { config: Record<string, unknown> }).config;
    return cfg.value ?? cfg.name ?? v;
  }
  return v;
}

export function num(c: LayerConfig, cls: string, key: string, def?: number): number {
  const v = plain(c[key]);
  if (v === undefined || v === null) {
    if (def === undefined) throw new LayerConfigError(`${where(c, cls)}: config needs '${key}' (a number)`);
    return def;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new LayerConfigError(`${where(c, cls)}: '${key}' must be a number, got ${JSON.stringify(v)}`);
  return v;
}

export function int(c: LayerConfig, cls: string, key: string, def?: number): number {
  const v = num(c, cls, key, def);
  if (!Number.isInteger(v) || v < 1) throw new LayerConfigError(`${where(c, cls)}: '${key}' must be a positive integer, got ${v}`);
  return v;
}

export function bool(c: LayerConfig, key: string, def: boolean): boolean {
  const v = c[key];
  return v === undefined || v === null ? def : v !== false;
}

/** An int or a pair of ints (kernel_size, strides, dilation_rate, pool_size). */
export function pair(c: LayerConfig, cls: string, key: string, def?: [number, number]): [number, number] {
  const v = plain(c[key]);
  if (v === undefined || v === null) {
    if (!def) throw new LayerConfigError(`${where(c, cls)}: config needs '${key}' (an int or a pair of ints)`);
    return def;
  }
  const p = typeof v === 'number' ? [v, v] : Array.isArray(v) && v.length === 2 ? v : Array.isArray(v) && v.length === 1 ? [v[0], v[0]] : null;
  if (!p || !p.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new LayerConfigError(`${where(c, cls)}: '${key}' must be a positive int or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

export function padding(c: LayerConfig, cls: string): 'same' | 'valid' {
  const v = c.padding ?? 'valid';
  if (v !== 'same' && v !== 'valid') {
    throw new LayerConfigError(`${where(c, cls)}: padding '${String(v)}' is not supported; use 'same' or 'valid'`);
  }
  return v;
}

/** Only channels_last (NHWC) is supported: that is how camlight stores activations. */
export function checkChannelsLast(c: LayerConfig, cls: string): void {
  const f = c.data_format;
  if (f !== undefined && f !== null && f !== 'channels_last') {
    throw new LayerConfigError(
      `${where(c, cls)}: data_format '${String(f)}' is not supported; camlight runs channels_last (NHWC) models only. ` +
        "Re-export the model with data_format='channels_last'.",
    );
  }
}

export function activation(c: LayerConfig, cls: string, key = 'activation'): LayerActivation {
  const raw = plain(c[key]) ?? 'linear';
  const v = raw === 'silu' ? 'swish' : raw;
  if (typeof v !== 'string' || !LAYER_ACTIVATIONS.includes(v)) {
    throw new LayerConfigError(`${where(c, cls)}: activation ${JSON.stringify(raw)} is not supported; use one of ${LAYER_ACTIVATIONS.join(', ')}`);
  }
  return v as LayerActivation;
}

/** True when the activation can ride in a kernel's epilogue. */
export const fusable = (a: LayerActivation): a is Activation => (ACTIVATIONS as readonly string[]).includes(a);

/** Applies a layer activation as a separate differentiable op (softmax over the last axis). */
export function applyActivation(x: Tensor, a: LayerActivation): Tensor {
  if (a === 'linear') return x;
  if (a === 'softmax') return ops.softmax(x);
  if (a === 'swish') return ops.mul(x, ops.activation(x, 'sigmoid'));
  return ops.activation(x, a);
}

/** One spatial output size by TensorFlow's rules; null stays null (unknown input size). */
export function convDim(size: number | null, k: number, s: number, d: number, pad: 'same' | 'valid', what: string): number | null {
  if (size === null) return null;
  const eff = (k - 1) * d + 1;
  const out = pad === 'same' ? Math.ceil(size / s) : Math.ceil((size - eff + 1) / s);
  if (out < 1) {
    throw new ShapeError(`${what}: an input of size ${size} is smaller than the ${eff}-wide window ('valid' padding); use a larger input image`);
  }
  return out;
}

/** Checks one input of rank `rank` and returns it. */
export function oneInput(shapes: Shape[], c: LayerConfig, cls: string, rank?: number): Shape {
  if (shapes.length !== 1) throw new ShapeError(`${where(c, cls)} takes one input, got ${shapes.length}`);
  const s = shapes[0]!;
  if (rank !== undefined && s.length !== rank) {
    throw new ShapeError(`${where(c, cls)} needs a rank-${rank} input${rank === 4 ? ' (N,H,W,C)' : ''}, got (${fmtShape(s)})`);
  }
  return s;
}

/** The last (channel) dimension, which must be known to size weights. */
export function channels(s: Shape, c: LayerConfig, cls: string): number {
  const ch = s[s.length - 1];
  if (typeof ch !== 'number') throw new ShapeError(`${where(c, cls)}: the last axis of its input (${fmtShape(s)}) must be known to size its weights`);
  return ch;
}

export const fmtShape = (s: Shape) => s.map((d) => (d === null ? 'None' : String(d))).join(', ');
export const layerWhere = where;
