// matmul / dense as a user of the tiled GEMM core (gemm-tiled.ts): readers over row-major or
// transposed operands with batch broadcasting, and the shared bias + activation writer.
import type { Tensor } from '../tensor/tensor.ts';
import type { Activation } from './program.ts';
import { denseWriter, runGemm, scalarAt, type GemmPlan, type GemmUser } from './gemm-tiled.ts';
import { planGemm } from './gemm-tiles.ts';

// a:(B,M,K) [ta: (B,K,M)]  b:(B,K,N) [tb: (B,N,K)]  bias:(N) → y:(B,M,N) = act(a·b + bias)
// A(b, m, k) = a[b·aBatch + m·K + k] (ta: + k·M + m); B(b, k, n) = b[b·bBatch + k·N + n] (tb: n·K + k).
// Vec4 along each operand's contiguous axis when it divides by 4 (a: k, or m when transposed;
// b: n, or k when transposed); batch strides M·K and K·N keep those reads aligned.
type MmSpec = { readonly ta: boolean; readonly tb: boolean; readonly av: boolean; readonly bv: boolean; readonly yv: boolean; readonly bias: boolean; readonly act: Activation };

const matmulUser = (spec: MmSpec): GemmUser<MmSpec> => ({
  name: 'gemm.matmul', spec,
  operands: [['Am', spec.av ? 'vec4<f32>' : 'f32'], ['Bm', spec.bv ? 'vec4<f32>' : 'f32']],
  writerInputs: spec.bias ? [['bias', 'f32']] : [],
  aVec: spec.av ? (spec.ta ? 'm' : 'k') : null,
  bVec: spec.bv ? (spec.tb ? 'k' : 'n') : null,
  outVec: spec.yv,
  readers: (s) => `
fn a_index(b: u32, m: u32, k: u32) -> u32 { return b * u.aBatch + ${s.ta ? 'k * u.M + m' : 'm * u.K + k'}; }
fn b_index(b: u32, k: u32, n: u32) -> u32 { return b * u.bBatch + ${s.tb ? 'n * u.K + k' : 'k * u.N + n'}; }
fn mm_readA(b: u32, m: u32, k: u32) -> f32 { return ${scalarAt('Am', s.av, 'a_index(b, m, k)')}; }
${s.av ? 'fn mm_readA4(b: u32, m: u32, k: u32) -> vec4<f32> { return Am[a_index(b, m, k) / 4u]; }' : ''}
fn mm_readB(b: u32, k: u32, n: u32) -> f32 { return ${scalarAt('Bm', s.bv, 'b_index(b, k, n)')}; }
${s.bv ? 'fn mm_readB4(b: u32, k: u32, n: u32) -> vec4<f32> { return Bm[b_index(b, k, n) / 4u]; }' : ''}
`,
  writer: (s) => denseWriter(s.bias, s.act, s.yv),
});

export interface MatmulProblem {
  batch: number; M: number; N: number; K: number;
  aBatch: number; bBatch: number; outShape: number[];
}

/**
 * matmul through the tiled core or GEMV, or null when the plan keeps the register-blocked
 * kernels ('cpu' adapters without a tuned choice). `p` is matmul()'s checked problem.
 */
export function matmulTiled(
  a: Tensor, b: Tensor, p: MatmulProblem, o: { ta: boolean; tb: boolean; bias?: Tensor; act: Activation; shapes: string }, plan?: GemmPlan,
): Tensor | null {
  const { batch, M, N, K } = p;
  const pl = plan ?? planGemm(a.runtime, 'matmul', { batch, M, N, K }, true);
  if (!pl) return null;
  const spec: MmSpec = {
    ta: o.ta, tb: o.tb,
    av: o.ta ? M % 4 === 0 : K % 4 === 0,
    bv: o.tb ? K % 4 === 0 : N % 4 === 0,
    yv: N % 4 === 0,
    bias: !!o.bias, act: o.act,
  };
  // GEMV reads A by scalars (its rows are broadcast) and B as vec4 only along n.
  const user = matmulUser(pl.kind === 'gemv' ? { ...spec, av: false, bv: spec.bv && !o.tb } : spec);
  return runGemm(user, pl, {
    batch, M, N, K, aBatch: p.aBatch === 1 ? 0 : M * K, bBatch: p.bBatch === 1 ? 0 : K * N,
    inputs: o.bias ? [a, b, o.bias] : [a, b], outShape: p.outShape, bias: o.bias, act: o.act, shapes: o.shapes,
  });
}
