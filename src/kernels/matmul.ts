// Matrix products and Keras Dense layers: shape checks, the choice between the tall ("rows")
// and skinny ("cols", optionally split-K) kernels, and the launch with a fused bias/activation.
import { ShapeError } from '../gpu/errors.ts';
import type { Runtime } from '../gpu/runtime.ts';
import type { Tensor } from '../tensor/tensor.ts';
import {
  colsProgram, MatmulU, reduceProgram, rowsProgram, SplitReduceU, type MatmulLayout, type MatmulTile,
} from './matmul-wgsl.ts';
import { checkActivation, grid1d, launch, shapeStr, type Activation } from './program.ts';
import { matmulTiled } from './gemm-matmul.ts';

export interface MatmulOptions {
  /** a is stored (B,K,M) / (K,M) instead of (B,M,K) / (M,K). */
  transposeA?: boolean;
  /** b is stored (B,N,K) / (N,K) instead of (B,K,N) / (K,N). */
  transposeB?: boolean;
  /** Added to every output row: (N). */
  bias?: Tensor;
  activation?: Activation;
}

/** Tiles and thresholds; measured on lavapipe with bench/tune-matmul.ts (see bench/NOTES.md). */
export const MATMUL_TUNING = {
  // 8 lanes (one lavapipe SIMD vector) × 4 rows each, 8 columns: 32 rows per workgroup keeps
  // lanes busy down to M = 32 and 8 vec4 accumulators fit in registers.
  rows: { wgx: 8, rm: 4, cn: 8 } as MatmulTile,
  // 16 lanes × 8 columns; 2 rows share each gathered B vector.
  cols: { wgx: 16, rm: 2, cn: 8 } as MatmulTile,
  /** M at or below which the cols kernel is used. */
  colsMaxM: 8,
  /** The cols kernel splits K until it has about this many workgroups. */
  targetWorkgroups: 32,
  /** Each split keeps at least this many k. */
  minSplitK: 256,
};

interface Problem {
  batch: number; M: number; N: number; K: number;
  aBatch: number; bBatch: number; outShape: number[];
}

function problem(a: Tensor, b: Tensor, ta: boolean, tb: boolean, shapes: string): Problem {
  if (a.rank < 2 || a.rank > 3 || b.rank < 2 || b.rank > 3) {
    throw new ShapeError(`matmul (${shapes}): operands must be rank 2 or 3; reshape batches of matrices to (B,M,K)`);
  }
  const [ba, r0, c0] = a.rank === 3 ? a.shape : [1, ...a.shape];
  const [bb, r1, c1] = b.rank === 3 ? b.shape : [1, ...b.shape];
  const [M, Ka] = ta ? [c0!, r0!] : [r0!, c0!];
  const [Kb, N] = tb ? [c1!, r1!] : [r1!, c1!];
  if (Ka !== Kb) {
    throw new ShapeError(
      `matmul (${shapes}${ta ? ' transposeA' : ''}${tb ? ' transposeB' : ''}): inner dimensions differ (K ${Ka} vs ${Kb}); ` +
        'check the operand order or the transpose flags',
    );
  }
  if (ba !== bb && ba !== 1 && bb !== 1) {
    throw new ShapeError(`matmul (${shapes}): batch sizes ${ba} and ${bb} do not broadcast (one must be 1 or both equal)`);
  }
  const batch = Math.max(ba!, bb!);
  const outShape = a.rank === 3 || b.rank === 3 ? [batch, M, N] : [M, N];
  return { batch, M, N, K: Ka, aBatch: ba!, bBatch: bb!, outShape };
}

/**
 * Matrix product y = act(op(a)·op(b) + bias), batched with broadcasting of a batch of 1.
 * a:(B,M,K)|(M,K) [transposeA: (B,K,M)|(K,M)]  b:(B,K,N)|(K,N) [transposeB: (B,N,K)|(N,K)]
 * bias:(N)  y:(B,M,N), or (M,N) when both operands are rank 2.
 * @example
 *   const y = matmul(x, w, { bias, activation: 'relu' });   // x:(M,K) w:(K,N) y:(M,N)
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const ta = !!opts.transposeA, tb = !!opts.transposeB;
  const act = checkActivation(opts.activation ?? 'linear');
  const shapes = [shapeStr('a', a.shape), shapeStr('b', b.shape), ...(opts.bias ? [shapeStr('bias', opts.bias.shape)] : [])].join(' ');
  const p = problem(a, b, ta, tb, shapes);
  const { batch, M, N, K } = p;
  if (opts.bias && (opts.bias.rank !== 1 || opts.bias.shape[0] !== N)) {
    throw new ShapeError(`matmul (${shapes}): bias must have shape (${N}), one value per output column`);
  }
  const rt = a.runtime;
  const maxWg = rt.limits.maxComputeWorkgroupsPerDimension;
  if (batch > maxWg) throw new ShapeError(`matmul (${shapes}): batch ${batch} exceeds ${maxWg}; split the batch`);
  // The tiled GEMM core / GEMV on GPUs (gemm-tiles.ts plans it); the kernels below on CPU adapters.
  const tiled = matmulTiled(a, b, p, { ta, tb, bias: opts.bias, act, shapes });
  if (tiled) return tiled;
  const layout: MatmulLayout = {
    aVec: !ta && K % 4 === 0,
    bMode: !tb && N % 4 === 0 ? 'vec' : tb && K % 4 === 0 ? 'tvec' : 'scalar',
    yVec: N % 4 === 0,
    hasBias: !!opts.bias,
    act,
  };
  // Logical A(m,k) and B(k,n) strides in elements, whatever the storage order.
  const [sam, sak] = ta ? [1, M] : [K, 1];
  const [sbk, sbn] = tb ? [1, K] : [N, 1];
  const ab = p.aBatch === 1 ? 0 : M * K;
  const bb = p.bBatch === 1 ? 0 : K * N;
  const cost = 2 * batch * M * N * K;
  const inputs = opts.bias ? [a, b, opts.bias] : [a, b];
  const uni = (splits: number, kchunk: number) =>
    MatmulU.pack({ M, N, K, ab, bb, yb: M * N, sam, sak, sbk, sbn, splits, kchunk });

  const T = MATMUL_TUNING;
  if (M > T.colsMaxM) {
    const t = T.rows;
    const gx = Math.ceil(M / (t.wgx * t.rm)), gy = Math.ceil(N / t.cn);
    if (gx > maxWg || gy > maxWg) throw new ShapeError(`matmul (${shapes}): too large for one dispatch grid (${gx}×${gy}); split M or N`);
    return launch({
      program: rowsProgram(layout, t), inputs, outShape: p.outShape, uniforms: uni(1, K),
      workgroups: [gx, gy, batch], shapes, cost,
    });
  }
  const t = T.cols;
  const gx = Math.ceil(N / (t.wgx * t.cn)), gy = Math.ceil(M / t.rm);
  const splits = splitCount(gx * gy * batch, K, maxWg, batch);
  const kchunk = Math.ceil(K / splits / 4) * 4;
  if (gx > maxWg || gy > maxWg) throw new ShapeError(`matmul (${shapes}): too large for one dispatch grid (${gx}×${gy}); split M or N`);
  if (splits === 1) {
    return launch({
      program: colsProgram(layout, t, false), inputs, outShape: p.outShape, uniforms: uni(1, K),
      workgroups: [gx, gy, batch], shapes, cost,
    });
  }
  return splitK(rt, layout, t, inputs, p, splits, kchunk, uni(splits, kchunk), shapes, cost, opts.bias);
}

/** How many K chunks give the cols kernel about targetWorkgroups workgroups. */
function splitCount(workgroups: number, K: number, maxWg: number, batch: number): number {
  const T = MATMUL_TUNING;
  const want = Math.ceil(T.targetWorkgroups / workgroups);
  const most = Math.max(1, Math.floor(K / T.minSplitK));
  return Math.max(1, Math.min(want, most, Math.floor(maxWg / batch)));
}

// a:(B,M,K) b:(B,K,N) → p:(S,B,M,N) partial sums over K chunks → y:(B,M,N) = act(Σ_s p + bias)
function splitK(
  rt: Runtime, layout: MatmulLayout, t: MatmulTile, inputs: Tensor[], p: Problem, splits: number,
  kchunk: number, u: ArrayBuffer, shapes: string, cost: number, bias: Tensor | undefined,
): Tensor {
  const { batch, M, N } = p;
  const gx = Math.ceil(N / (t.wgx * t.cn)), gy = Math.ceil(M / t.rm);
  const partial = launch({
    program: colsProgram(layout, t, true), inputs: inputs.slice(0, 2), outShape: [splits, batch, M, N], uniforms: u,
    workgroups: [gx, gy, batch * splits], shapes: `${shapes} splits:${splits}`, cost,
  });
  try {
    const total = batch * M * N;
    const [rx, ry] = grid1d(Math.ceil(total / 64), rt);
    return launch({
      program: reduceProgram(!!bias, layout.act), inputs: bias ? [partial, bias] : [partial], outShape: p.outShape,
      uniforms: SplitReduceU.pack({ total, N, splits, nwgx: rx }), workgroups: [rx, ry], shapes: `${shapes} splits:${splits}`,
      cost: total * splits * 4,
    });
  } finally {
    partial.dispose();
  }
}

/**
 * Keras Dense: y = act(x·w + bias) over the last axis.
 * x:(N,...,K) w:(K,U) bias:(U) y:(N,...,U)
 * @example
 *   const logits = dense(features, w, b);             // (1,4096)·(4096,1000) → (1,1000)
 *   const h = dense(x, w1, b1, 'relu');
 */
export function dense(x: Tensor, w: Tensor, bias?: Tensor, activation: Activation = 'linear'): Tensor {
  const shapes = [shapeStr('x', x.shape), shapeStr('w', w.shape), ...(bias ? [shapeStr('bias', bias.shape)] : [])].join(' ');
  if (w.rank !== 2) throw new ShapeError(`dense (${shapes}): weights must be (K,U), input features by units`);
  if (x.rank < 1) throw new ShapeError(`dense (${shapes}): input must have at least one axis`);
  const K = x.shape[x.rank - 1]!, U = w.shape[1]!;
  if (K !== w.shape[0]) {
    throw new ShapeError(`dense (${shapes}): input has ${K} features on its last axis but the weights expect ${w.shape[0]}`);
  }
  if (bias && (bias.rank !== 1 || bias.shape[0] !== U)) {
    throw new ShapeError(`dense (${shapes}): bias must have shape (${U}), one value per unit`);
  }
  const x2 = x.reshape([-1, K]);
  try {
    const y2 = matmul(x2, w, { bias, activation });
    if (x.rank === 2) return y2;
    const y = y2.reshape([...x.shape.slice(0, -1), U]);
    y2.dispose();
    return y;
  } finally {
    x2.dispose();
  }
}
