// The conv2d backward rows of the kernels suite: input and weight gradients of VGG-19's 3×3
// convolutions, timed through tfjs's kernels directly (runKernel) so only the kernel is measured.
import { conv2dInputGrad, conv2dWeightGrad } from '../src/kernels/conv2d-backward.ts';
import type { Case } from './kernels.ts';
import { uniform } from './measure.ts';
import { tf } from './peers.ts';

// backward of y = conv2d(x, w): x:(1,H,W,C) w:(3,3,C,K) y:(1,H,W,K), stride 1, 'same' padding.
// dInput: inputs (dy, w) → dx:(1,H,W,C); dWeight: inputs (x, dy) → dw:(3,3,C,K).
export function convBackwardCase(grad: 'dInput' | 'dWeight', h: number, c: number, k: number, inQuick = false): Case {
  const scale = Math.sqrt(3 / (9 * c));
  const x = () => ({ data: uniform(h * h * c, 1000 + c, 0, 1), shape: [1, h, h, c] });
  const w = () => ({ data: uniform(9 * c * k, 2000 + k, -scale, scale), shape: [3, 3, c, k] });
  const dy = () => ({ data: uniform(h * h * k, 4000 + k, -1, 1), shape: [1, h, h, k] });
  const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
  const common = { op: `conv2d.${grad}` as const, shape: `${h}x${h}x${c}->${k} k3 s1`, flops: 2 * h * h * k * 9 * c, inQuick };
  if (grad === 'dInput') {
    return {
      ...common,
      inputs: () => [dy(), w()],
      camlight: ([d, f]) => conv2dInputGrad(d!, f!, [1, h, h, c], { padding: 'same' }),
      tfjs: ([d, f]) => tf.engine().runKernel('Conv2DBackpropInput', { dy: d!, filter: f! }, { ...attrs, inputShape: [1, h, h, c] } as never) as tf.Tensor,
      exact: ([d, f], i) => {
        const ci = i % c, p = (i - ci) / c, iw = p % h, ih = (p - iw) / h;
        let s = 0;
        for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
          const oh = ih + 1 - kh, ow = iw + 1 - kw;
          if (oh < 0 || ow < 0 || oh >= h || ow >= h) continue;
          const db = (oh * h + ow) * k, wb = ((kh * 3 + kw) * c + ci) * k;
          for (let ko = 0; ko < k; ko++) s += d![db + ko]! * f![wb + ko]!;
        }
        return s;
      },
    };
  }
  return {
    ...common,
    inputs: () => [x(), dy()],
    camlight: ([a, d]) => conv2dWeightGrad(a!, d!, [3, 3, c, k], { padding: 'same' }),
    tfjs: ([a, d]) => tf.engine().runKernel('Conv2DBackpropFilter', { x: a!, dy: d! }, { ...attrs, filterShape: [3, 3, c, k] } as never) as tf.Tensor,
    exact: ([a, d], i) => {
      const ko = i % k, r = (i - ko) / k, ci = r % c, khw = (r - ci) / c, kw = khw % 3, kh = (khw - kw) / 3;
      let s = 0;
      for (let oh = 0; oh < h; oh++) {
        const ih = oh - 1 + kh;
        if (ih < 0 || ih >= h) continue;
        for (let ow = 0; ow < h; ow++) {
          const iw = ow - 1 + kw;
          if (iw >= 0 && iw < h) s += a![(ih * h + iw) * c + ci]! * d![(oh * h + ow) * k + ko]!;
        }
      }
      return s;
    },
    // tfjs-cpu's Conv2DBackpropFilter runs at ~0.01 GFLOP per CPU-second (82 s for 14²×512→512),
    // which made it most of the suite's time: the small shapes take this full host reference
    // instead, float64 sums in row order, dw[kh,kw,c,:] += x[ih,iw,c]·dy[oh,ow,:] (~1 GFLOP/s).
    hostReference: ([xs, dys]) => {
      const a: Float32Array = xs!, d: Float32Array = dys!;
      const dw = new Float64Array(9 * c * k);
      for (let oh = 0; oh < h; oh++) for (let ow = 0; ow < h; ow++) {
        const dyo = (oh * h + ow) * k;
        for (let kh = 0; kh < 3; kh++) {
          const ih = oh - 1 + kh;
          if (ih < 0 || ih >= h) continue;
          for (let kw = 0; kw < 3; kw++) {
            const iw = ow - 1 + kw;
            if (iw < 0 || iw >= h) continue;
            const xo = (ih * h + iw) * c, wb = (kh * 3 + kw) * c * k;
            for (let ci = 0; ci < c; ci++) {
              const xv = a[xo + ci]!, row = wb + ci * k;
              for (let ko = 0; ko < k; ko++) dw[row + ko]! += xv * d[dyo + ko]!;
            }
          }
        }
      }
      return Float32Array.from(dw);
    },
    unsupported: { 'tfjs-wasm': 'tfjs-backend-wasm has no Conv2DBackpropFilter kernel' },
    bigReference: 'tfjs-webgpu',
  };
}
