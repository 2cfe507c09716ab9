// Inference-time batch normalisation over the last axis, and folding a batch norm into the
// convolution (or dense layer) before it at load time, so that a network runs one kernel
// where Keras has two (Ioffe & Szegedy 2015, "Batch Normalization", Algorithm 2).
import { ShapeError } from '../gpu/errors.ts';
import { zeros, type Tensor } from '../tensor/tensor.ts';
import {
  activationWgsl, checkActivation, defineProgram, grid1d, launch, shapeStr, storageDecls, uniformDecl, type Activation,
} from './program.ts';

export interface BatchNormParams {
  mean: Tensor;
  variance: Tensor;
  /** Scale γ; 1 when absent (Keras `scale=False`). */
  gamma?: Tensor;
  /** Offset β; 0 when absent (Keras `center=False`). */
  beta?: Tensor;
  /** Keras's and tfjs's default is 1e-3. */
  epsilon?: number;
  /** Fused after the normalisation (e.g. a ReLU that follows the BN layer). */
  activation?: Activation;
}

export interface HostBatchNorm {
  mean: Float32Array;
  variance: Float32Array;
  gamma?: Float32Array;
  beta?: Float32Array;
  epsilon?: number;
}

const WG = 64;
const PER_THREAD = 4;

/** Per-call values; C counts vec4s when the program is vectorised. */
const BnU = uniformDecl({ total: 'u32', nwgx: 'u32', C: 'u32', eps: 'f32' }, 'batchNorm');

// x:(...,C) mean,var,gamma,beta:(C) y:(...,C); y = act((x - mean)·γ/√(var+ε) + β),
// one invocation per PER_THREAD outputs (vec4 of channels when C % 4 == 0).
const bnProgram = (vec: boolean, hasGamma: boolean, hasBeta: boolean, act: Activation) =>
  defineProgram('batchnorm', { vec, hasGamma, hasBeta, act }, ({ vec, hasGamma, hasBeta, act }) => {
  const T = vec ? 'vec4<f32>' : 'f32';
  const ins: [string, string][] = [['X', T], ['mean', T], ['variance', T]];
  if (hasGamma) ins.push(['gamma', T]);
  if (hasBeta) ins.push(['beta', T]);
  return {
    inputs: ins.length,
    outputs: 1,
    code: () => `
${BnU.wgsl}
${storageDecls(ins, [['Y', T]])}
${activationWgsl(act)}
// x:(...,C) mean,variance,gamma,beta:(C) y:(...,C), C counted in ${vec ? 'vec4s' : 'floats'}
@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (wg.y * u.nwgx + wg.x) * ${WG}u + lid.x;
  for (var k = 0u; k < ${PER_THREAD}u; k++) {
    let i = t * ${PER_THREAD}u + k;
    if (i >= u.total) { return; }
    let c = i % u.C;
    let scale = inverseSqrt(variance[c] + ${T}(u.eps))${hasGamma ? ' * gamma[c]' : ''};
    Y[i] = act${vec ? '4' : ''}((X[i] - mean[c]) * scale${hasBeta ? ' + beta[c]' : ''});
  }
}`,
  };
});

/**
 * Batch normalisation with stored statistics (inference), over the last axis.
 * x:(...,C) mean,variance,gamma,beta:(C) y:(...,C);  y = (x - mean)/√(variance + ε)·γ + β
 * @example
 *   const y = batchNorm(x, { mean, variance, gamma, beta, epsilon: 1e-3 });
 */
export function batchNorm(x: Tensor, p: BatchNormParams): Tensor {
  const act = checkActivation(p.activation ?? 'linear');
  const eps = p.epsilon ?? 1e-3;
  const C = x.shape[x.rank - 1] ?? 0;
  const named: [string, Tensor | undefined][] = [['mean', p.mean], ['variance', p.variance], ['gamma', p.gamma], ['beta', p.beta]];
  const shapes = [shapeStr('x', x.shape), ...named.filter(([, t]) => t).map(([n, t]) => shapeStr(n, t!.shape))].join(' ');
  if (x.rank < 1) throw new ShapeError(`batchNorm (${shapes}): input needs a channel axis`);
  for (const [n, t] of named) {
    if (t && (t.rank !== 1 || t.shape[0] !== C)) {
      throw new ShapeError(`batchNorm (${shapes}): ${n} must have shape (${C}), one value per channel of the last axis`);
    }
  }
  if (!(eps >= 0)) throw new ShapeError(`batchNorm: epsilon must be non-negative, got ${eps}`);
  if (x.size === 0) return x.reshape(x.shape);
  const vec = C % 4 === 0;
  const total = vec ? x.size / 4 : x.size;
  const [gx, gy] = grid1d(Math.ceil(total / (WG * PER_THREAD)), x.runtime);
  const inputs = [x, p.mean, p.variance, ...(p.gamma ? [p.gamma] : []), ...(p.beta ? [p.beta] : [])];
  return launch({
    program: bnProgram(vec, !!p.gamma, !!p.beta, act), inputs, outShape: x.shape,
    uniforms: BnU.pack({ total, nwgx: gx, C: vec ? C / 4 : C, eps }), workgroups: [gx, gy], shapes,
    cost: 2 * x.size * 4,
  });
}

/** γ/√(var+ε) and β - mean·γ/√(var+ε) per channel, in float64 then rounded. */
function hostScaleShift(bn: HostBatchNorm, K: number): { scale: Float64Array; shift: Float64Array } {
  const eps = bn.epsilon ?? 1e-3;
  const scale = new Float64Array(K), shift = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    scale[k] = (bn.gamma ? bn.gamma[k]! : 1) / Math.sqrt(bn.variance[k]! + eps);
    shift[k] = (bn.beta ? bn.beta[k]! : 0) - bn.mean[k]! * scale[k]!;
  }
  return { scale, shift };
}

/**
 * Folds a batch norm that follows a convolution (or dense layer) into its weights and bias:
 * conv(x, w·s) + (b - mean)·s + β with s = γ/√(var+ε), scaling the weights along their last
 * axis (HWIO: K output channels; dense (K,U): U units). Host math, for load time.
 * w:(KH,KW,C,K) bias:(K) mean,variance,gamma,beta:(K) → w':(KH,KW,C,K) bias':(K)
 * @example
 *   const f = foldBatchNorm(convW, [3, 3, 64, 128], convB, { mean, variance, gamma, beta, epsilon: 1e-3 });
 *   const y = conv2d(x, upload(f.w, [3, 3, 64, 128]), { bias: upload(f.bias, [128]) });
 */
export function foldBatchNorm(
  w: Float32Array, wShape: number[], bias: Float32Array | undefined, bn: HostBatchNorm,
): { w: Float32Array; bias: Float32Array } {
  const K = wShape[wShape.length - 1] ?? 0;
  const what = `foldBatchNorm (w:(${wShape.join(',')}))`;
  const size = wShape.reduce((a, b) => a * b, 1);
  if (!wShape.length || w.length !== size) throw new ShapeError(`${what}: ${w.length} weights given for that shape, which holds ${size}`);
  for (const [n, a] of [['bias', bias], ['mean', bn.mean], ['variance', bn.variance], ['gamma', bn.gamma], ['beta', bn.beta]] as const) {
    if (a && a.length !== K) throw new ShapeError(`${what}: ${n} has ${a.length} values; it needs ${K}, one per output channel (the weights' last axis)`);
  }
  const { scale, shift } = hostScaleShift(bn, K);
  const wOut = new Float32Array(w.length);
  for (let i = 0; i < w.length; i++) wOut[i] = w[i]! * scale[i % K]!;
  const bOut = new Float32Array(K);
  for (let k = 0; k < K; k++) bOut[k] = (bias ? bias[k]! : 0) * scale[k]! + shift[k]!;
  return { w: wOut, bias: bOut };
}

/**
 * foldBatchNorm on GPU tensors (two batch-norm launches, no host round trip): the weights are
 * scaled with mean 0 and no β, the bias is batch-normalised as a (K) vector.
 * w:(...,K) bias:(K) → w':(...,K) bias':(K)
 * @example
 *   const { w, bias } = foldBatchNormTensor(convW, convB, { mean, variance, gamma, beta });
 */
export function foldBatchNormTensor(
  w: Tensor, bias: Tensor | undefined, bn: Omit<BatchNormParams, 'activation'>,
): { w: Tensor; bias: Tensor } {
  const K = w.shape[w.rank - 1] ?? 0;
  const zero = zeros([K], w.runtime);
  try {
    const wOut = batchNorm(w, { mean: zero, variance: bn.variance, gamma: bn.gamma, epsilon: bn.epsilon });
    const b = bias ?? zero;
    const bOut = batchNorm(b, { ...bn });
    return { w: wOut, bias: bOut };
  } finally {
    zero.dispose();
  }
}
