// Float64 host references for the GEMM users (conv2d forward, dInput, dWeight, matmul with bias
// and activation), written as the plain sums of their definitions: what the tiled GEMM core's
// tests compare its outputs with, on lavapipe (gemm-tiled.test.ts) and SwiftShader (-browser).
import { conv2dOutputShape, type Conv2dOptions } from '../../src/kernels/conv2d-geometry.ts';
import type { Activation } from '../../src/kernels/program.ts';

type P4 = [number, number, number, number];
export type ConvGeometryOpts = Omit<Conv2dOptions, 'bias' | 'activation'>;

export const shapeSize = (sh: readonly number[]) => sh.reduce((a, b) => a * b, 1);

/** The epilogue activations on the host (program.ts's activationWgsl, in float64). */
export const hostAct: Record<Activation, (v: number) => number> = {
  linear: (v) => v, relu: (v) => Math.max(v, 0), relu6: (v) => Math.min(Math.max(v, 0), 6),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)), tanh: (v) => Math.tanh(v),
};

/**
 * conv2d (groups = 1) and, given dy, both gradients:
 * x:(N,H,W,C) w:(KH,KW,C,K) → y:(N,OH,OW,K) = Σ_{kh,kw,c} x[n, oh·SH + kh·DH - PT, ow·SW + kw·DW - PL, c]·w[kh,kw,c,k]
 * dx[n,ih,iw,c] = Σ dy[n,oh,ow,k]·w[kh,kw,c,k] and dw[kh,kw,c,k] = Σ x[n,ih,iw,c]·dy[n,oh,ow,k] over the same taps.
 */
export function hostConv(xd: Float32Array, xs: readonly number[], wd: Float32Array, ws: readonly number[], o: ConvGeometryOpts, dyd?: Float32Array) {
  const g = conv2dOutputShape(xs, ws, o);
  const [n, h, w, c] = xs as P4;
  const [kh, kw, , k] = ws as P4;
  const [, oh, ow] = g.outShape;
  const y = new Float64Array(n * oh * ow * k), dx = new Float64Array(shapeSize(xs)), dw = new Float64Array(shapeSize(ws));
  for (let b = 0; b < n; b++) for (let p = 0; p < oh; p++) for (let q = 0; q < ow; q++) for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) {
    const ih = p * g.strides[0] - g.pads.top + i * g.dilations[0], iw = q * g.strides[1] - g.pads.left + j * g.dilations[1];
    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
    const yo = ((b * oh + p) * ow + q) * k, xo = ((b * h + ih) * w + iw) * c, wo = (i * kw + j) * c * k;
    for (let ci = 0; ci < c; ci++) {
      for (let ko = 0; ko < k; ko++) {
        const xv = xd[xo + ci]!, wv = wd[wo + ci * k + ko]!;
        y[yo + ko] = y[yo + ko]! + xv * wv;
        if (dyd) {
          dx[xo + ci] = dx[xo + ci]! + dyd[yo + ko]! * wv;
          dw[wo + ci * k + ko] = dw[wo + ci * k + ko]! + xv * dyd[yo + ko]!;
        }
      }
    }
  }
  return { y, dx, dw, outShape: g.outShape };
}

/** y = act(y + bias[i % K]) in place over a (…, K) array. */
export function hostEpilogue(y: Float64Array, bias: Float32Array | undefined, act: Activation): Float64Array {
  const k = bias?.length ?? 1;
  for (let i = 0; i < y.length; i++) y[i] = hostAct[act](y[i]! + (bias ? bias[i % k]! : 0));
  return y;
}

/**
 * matmul on storage shapes: a:(B?,M,K) [ta: (B?,K,M)] b:(B?,K,N) [tb: (B?,N,K)], a batch of 1
 * broadcast → y:(B,M,N) = act(a·b + bias).
 */
export function hostMatmul(
  ad: Float32Array, as: readonly number[], bd: Float32Array, bs: readonly number[],
  e: { ta?: boolean; tb?: boolean; bias?: Float32Array; act?: Activation } = {},
): { y: Float64Array; shape: number[] } {
  const [ba, r0, c0] = as.length === 3 ? as as P4 : [1, ...as] as P4;
  const [bb, r1, c1] = bs.length === 3 ? bs as P4 : [1, ...bs] as P4;
  const [M, K] = e.ta ? [c0, r0] : [r0, c0];
  const N = e.tb ? r1 : c1;
  const B = Math.max(ba, bb);
  const y = new Float64Array(B * M * N);
  for (let b = 0; b < B; b++) for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let v = 0;
    for (let k = 0; k < K; k++) {
      const av = ad[(ba === 1 ? 0 : b * M * K) + (e.ta ? k * M + m : m * K + k)]!;
      const bv = bd[(bb === 1 ? 0 : b * K * N) + (e.tb ? n * K + k : k * N + n)]!;
      v += av * bv;
    }
    y[(b * M + m) * N + n] = v;
  }
  hostEpilogue(y, e.bias, e.act ?? 'linear');
  return { y, shape: as.length === 3 || bs.length === 3 ? [B, M, N] : [M, N] };
}
