// Convolution geometry shared by the forward kernels and (later) their backward passes: option
// normalisation, TensorFlow's 'same'/'valid' padding rules, output shapes and shape validation.
import { ShapeError } from '../gpu/errors.ts';
import { checkActivation, shapeStr, type Activation } from './program.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface Conv2dOptions {
  /** (K) added to every output pixel before the activation. */
  bias?: Tensor;
  strides?: number | [number, number];
  dilations?: number | [number, number];
  /** TensorFlow's 'same'/'valid', or explicit [[top, bottom], [left, right]]. */
  padding?: 'valid' | 'same' | [[number, number], [number, number]];
  /** C and K divisible by groups; w is (KH, KW, C/groups, K). */
  groups?: number;
  /** Fused epilogue applied after the bias. */
  activation?: Activation;
}

export interface Pads {
  top: number;
  left: number;
  bottom: number;
  right: number;
}

/** Everything a convolution kernel needs to know about one call's shapes. */
export interface Conv2dGeometry {
  outShape: [n: number, oh: number, ow: number, k: number];
  pads: Pads;
  strides: [number, number];
  dilations: [number, number];
  groups: number;
  n: number;
  h: number;
  w: number;
  /** Input channels (all groups). */
  c: number;
  kh: number;
  kw: number;
  /** Output channels (all groups). */
  k: number;
  /** Input and output channels per group. */
  cPerGroup: number;
  kPerGroup: number;
  /** 2·N·OH·OW·K·KH·KW·C/groups. */
  flops: number;
}

function pair(v: number | [number, number] | undefined, what: string, op: string): [number, number] {
  const p: [number, number] = v === undefined ? [1, 1] : typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= 1)) {
    throw new ShapeError(`${op}: ${what} must be positive integers, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** TensorFlow's padding along one axis: output size and pads before/after. */
function axis(
  size: number, k: number, s: number, d: number, padding: Conv2dOptions['padding'], explicit: [number, number] | undefined,
): [out: number, before: number, after: number] {
  const eff = (k - 1) * d + 1;
  if (padding === 'same') {
    const out = Math.ceil(size / s);
    const total = Math.max((out - 1) * s + eff - size, 0);
    const before = Math.floor(total / 2);
    return [out, before, total - before];
  }
  const [b, a] = explicit ?? [0, 0];
  return [Math.floor((size + b + a - eff) / s) + 1, b, a];
}

/**
 * Output shape, pads and per-group channel counts of a 2-D convolution; throws ShapeError on
 * shapes that do not fit together.
 * @example
 *   const g = conv2dOutputShape([1, 224, 224, 3], [3, 3, 3, 64], { padding: 'same' });
 *   g.outShape; // [1, 224, 224, 64]
 */
export function conv2dOutputShape(
  xShape: readonly number[], wShape: readonly number[], opts: Omit<Conv2dOptions, 'bias' | 'activation'> = {}, op = 'conv2d',
): Conv2dGeometry {
  const shapes = `${shapeStr('x', xShape)} ${shapeStr('w', wShape)}`;
  if (xShape.length !== 4) throw new ShapeError(`${op}: x must be (N,H,W,C), got ${shapes}`);
  if (wShape.length !== 4) throw new ShapeError(`${op}: w must be (KH,KW,C/groups,K), got ${shapes}`);
  const [n, h, w, c] = xShape as [number, number, number, number];
  const [kh, kw, cg, k] = wShape as [number, number, number, number];
  const groups = opts.groups ?? 1;
  if (!Number.isInteger(groups) || groups < 1) throw new ShapeError(`${op}: groups must be a positive integer, got ${groups}`);
  if (c % groups !== 0 || k % groups !== 0) {
    throw new ShapeError(`${op}: groups=${groups} must divide both input channels C=${c} and output channels K=${k} (${shapes})`);
  }
  if (cg !== c / groups) {
    throw new ShapeError(
      `${op}: w's third axis must be C/groups = ${c}/${groups} = ${c / groups}, got ${cg} (${shapes}); ` +
        'check the weight layout is HWIO (KH,KW,C/groups,K)',
    );
  }
  if ([n, h, w, c, kh, kw, k].some((d) => d < 1)) throw new ShapeError(`${op}: every dimension must be ≥ 1, got ${shapes}`);
  const strides = pair(opts.strides, 'strides', op);
  const dilations = pair(opts.dilations, 'dilations', op);
  const padding = opts.padding ?? 'valid';
  let ex: [[number, number], [number, number]] | undefined;
  if (Array.isArray(padding)) {
    ex = padding;
    const flat = [...(padding[0] ?? []), ...(padding[1] ?? [])];
    if (flat.length !== 4 || !flat.every((p) => Number.isInteger(p) && p >= 0)) {
      throw new ShapeError(`${op}: explicit padding must be [[top,bottom],[left,right]] of non-negative integers, got ${JSON.stringify(padding)}`);
    }
  } else if (padding !== 'same' && padding !== 'valid') {
    throw new ShapeError(`${op}: padding must be 'same', 'valid' or [[top,bottom],[left,right]], got ${JSON.stringify(padding)}`);
  }
  const [oh, top, bottom] = axis(h, kh, strides[0], dilations[0], padding, ex?.[0]);
  const [ow, left, right] = axis(w, kw, strides[1], dilations[1], padding, ex?.[1]);
  if (oh < 1 || ow < 1) {
    throw new ShapeError(
      `${op}: the ${kh}×${kw} kernel (dilation ${dilations.join('×')}) does not fit in the padded input (${shapes}, ` +
        `padding ${JSON.stringify(padding)}); pad more or use a smaller kernel`,
    );
  }
  return {
    outShape: [n, oh, ow, k],
    pads: { top, left, bottom, right },
    strides, dilations, groups, n, h, w, c, kh, kw, k,
    cPerGroup: cg,
    kPerGroup: k / groups,
    flops: 2 * n * oh * ow * k * kh * kw * cg,
  };
}

/** Checks bias and activation against a geometry; returns the activation. */
export function checkEpilogue(g: Conv2dGeometry, opts: Conv2dOptions, op: string, xShape: readonly number[], wShape: readonly number[]): Activation {
  const act = checkActivation(opts.activation ?? 'linear');
  const b = opts.bias;
  if (b && (b.size !== g.k || b.rank !== 1)) {
    throw new ShapeError(
      `${op}: bias must be (${g.k}) to match the output channels, got ${shapeStr('bias', b.shape)} ` +
        `(${shapeStr('x', xShape)} ${shapeStr('w', wShape)})`,
    );
  }
  return act;
}
