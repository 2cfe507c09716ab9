// The tiled GEMM core's tile table per adapter class, the choice of tile / GEMV / split-K for one
// call, and the per-adapter choices `camlight tune` measured (read through a hook, so this file
// stays platform-neutral: Node's entry installs a reader of the user cache folder).
import type { AdapterClass, Runtime } from '../gpu/runtime.ts';
import type { GemmPlan, GemmTile } from './gemm-tiled.ts';

/** The GEMM users, as `camlight tune` and the tuning cache name them. */
export type GemmOp = 'conv2d' | 'conv2dInputGrad' | 'conv2dWeightGrad' | 'matmul';

/**
 * Tiles per adapter class, largest block first. None is measured on a GPU yet (bench/NOTES.md);
 * they follow what is published to work:
 * - 'gpu' 64×64, 8×8 lanes × 8×8 outputs, K step 8: gpu.cpp's configuration (BM=BN=64, BK=8,
 *   TM=TN=8; ~2.5 TFLOP/s on an M1 Max, 3.7 on an RTX 3080 Laptop, PERF.md), 64 accumulators per
 *   lane amortise each workgroup-memory read over 8 FMAs per operand;
 * - 'gpu' 64×64 with 16×16 lanes × 4×4: the same block with 4× the lanes (more latency hiding
 *   where occupancy is register-bound);
 * - 'gpu' 32×32, 8×8 lanes × 4×4, K step 32: tfjs-backend-webgpu's conv2d_mm / matmul_packed
 *   default with vec4 (PERF.md), for layers whose 64×64 grid is too small to fill the GPU;
 * - 'gpu' 16×16, 4×4 lanes × 4×4: the smallest outputs (late Inception/ResNet 1×1 layers, batch 1).
 * - 'cpu': candidates for `camlight tune` only; on CPU adapters the register-blocked kernels stay
 *   the default (they beat workgroup-memory tiling 1.3-4× on lavapipe, PERF.md). x is a multiple
 *   of 8 because lavapipe packs 8 lanes along local x into one SIMD vector.
 */
export const GEMM_TILES: Record<AdapterClass, readonly GemmTile[]> = {
  gpu: [
    { wgx: 8, wgy: 8, tm: 8, tn: 8, tk: 8 },
    { wgx: 16, wgy: 16, tm: 4, tn: 4, tk: 16 },
    { wgx: 8, wgy: 8, tm: 4, tn: 4, tk: 32 },
    { wgx: 4, wgy: 4, tm: 4, tn: 4, tk: 16 },
  ],
  cpu: [
    { wgx: 8, wgy: 4, tm: 4, tn: 8, tk: 16 },
    { wgx: 8, wgy: 1, tm: 8, tn: 8, tk: 16 },
  ],
};

/** Selection thresholds for the 'gpu' class. */
export const GEMM_POLICY = {
  /** Workgroups that keep a large GPU busy (H200: 132 SMs × 2 resident 256-lane groups). */
  targetWorkgroups: 264,
  /** M at or below which GEMV runs instead of the tiled core (batch-1 dense layers). */
  gemvMaxM: 4,
  /** Split K only when each split keeps at least this many k. */
  minSplitK: 512,
  maxSplits: 32,
};

/** A tuned choice: a tile of the table (by its fields) or the register-blocked kernels ('legacy'). */
export type TunedChoice = GemmTile | 'legacy' | { gemv: true; splits: number } | { tile: GemmTile; splits: number };

/** The file `camlight tune` writes: choices per adapter name, then per shape key (tuneKey). */
export interface GemmTuning {
  version: 1;
  adapters: Record<string, { adapterClass: AdapterClass; date: string; choices: Record<string, TunedChoice> }>;
}

type TuningSource = (adapterName: string) => Record<string, TunedChoice> | null;
let source: TuningSource | null = null;
const loaded = new WeakMap<Runtime, Record<string, TunedChoice> | null>();

/**
 * Installs where tuned choices come from (Node's entry reads the user cache folder); pass null to
 * use the table alone. Choices are read once per runtime. Returns the source it replaced.
 * @example
 *   useGemmTuning((adapter) => myTuning.adapters[adapter]?.choices ?? null);
 */
export function useGemmTuning(src: TuningSource | null): TuningSource | null {
  const prev = source;
  source = src;
  return prev;
}

function tunedFor(rt: Runtime): Record<string, TunedChoice> | null {
  if (!loaded.has(rt)) loaded.set(rt, source?.(rt.adapterName) ?? null);
  return loaded.get(rt)!;
}

/** The cache key of one GEMM problem: op, adapter class and exact sizes. */
export function tuneKey(op: GemmOp, cls: AdapterClass, d: { batch: number; M: number; N: number; K: number }): string {
  return `${op}:${cls}:${d.batch}x${d.M}x${d.N}x${d.K}`;
}

/** The default plan of the 'gpu' class: GEMV, or the largest tile that fills the GPU, then split-K. */
export function defaultPlan(cls: AdapterClass, d: { batch: number; M: number; N: number; K: number }, canGemv: boolean): GemmPlan {
  const P = GEMM_POLICY;
  const maxSplits = Math.max(1, Math.min(P.maxSplits, Math.floor(d.K / P.minSplitK)));
  if (canGemv && d.M <= P.gemvMaxM) {
    const wgs = d.batch * Math.ceil(d.N / 64);
    return { kind: 'gemv', splits: Math.max(1, Math.min(maxSplits, Math.ceil(P.targetWorkgroups / wgs))) };
  }
  const tiles = GEMM_TILES[cls];
  const wgs = (t: GemmTile) => d.batch * Math.ceil(d.M / (t.wgy * t.tm)) * Math.ceil(d.N / (t.wgx * t.tn));
  const tile = tiles.find((t) => wgs(t) >= P.targetWorkgroups) ?? tiles[tiles.length - 1]!;
  const splits = wgs(tile) >= P.targetWorkgroups ? 1 : Math.max(1, Math.min(maxSplits, Math.ceil(P.targetWorkgroups / wgs(tile))));
  return { kind: 'tiled', tile, splits };
}

let forced: { plan: GemmPlan | null } | null = null;

/**
 * Runs `fn` with every GEMM it launches forced to `plan` (null: the register-blocked kernels),
 * whatever the adapter class and tuning say; `camlight tune` times candidates this way.
 * @example
 *   const y = withGemmPlan({ kind: 'tiled', tile: GEMM_TILES.gpu[0]!, splits: 1 }, () => conv2d(x, w));
 */
export function withGemmPlan<T>(plan: GemmPlan | null, fn: () => T): T {
  const prev = forced;
  forced = { plan };
  try {
    return fn();
  } finally {
    forced = prev;
  }
}

/**
 * The plan for one call, or null for the register-blocked kernels: 'cpu' adapters keep those
 * unless `camlight tune` chose the tiled core for this exact shape; 'gpu' adapters take a tuned
 * choice when there is one, else defaultPlan.
 */
export function planGemm(rt: Runtime, op: GemmOp, d: { batch: number; M: number; N: number; K: number }, canGemv = false): GemmPlan | null {
  if (forced) return forced.plan && forced.plan.kind === 'gemv' && !(canGemv && d.M <= GEMM_POLICY.gemvMaxM) ? defaultPlan(rt.adapterClass, d, false) : forced.plan;
  const cls = rt.adapterClass;
  const tuned = tunedFor(rt)?.[tuneKey(op, cls, d)];
  if (tuned !== undefined) {
    if (tuned === 'legacy') return null;
    if ('gemv' in tuned) return canGemv && d.M <= GEMM_POLICY.gemvMaxM ? { kind: 'gemv', splits: tuned.splits } : defaultPlan(cls, d, canGemv);
    if ('tile' in tuned) return { kind: 'tiled', tile: tuned.tile, splits: tuned.splits };
    return { kind: 'tiled', tile: tuned, splits: 1 };
  }
  return cls === 'cpu' ? null : defaultPlan(cls, d, canGemv);
}
