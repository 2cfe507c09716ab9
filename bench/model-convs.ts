// A model's convolutions run alone (issue 13: "each model's forward at ≥ 50 % of the GFLOP/s of
// its own convolutions"): every conv layer of the inference plan at its in-model shapes, through
// the same step (batch norm folded, activation fused, so the same kernel and tile), timed layer by layer.
import type { Model } from '../src/nn/model.ts';
import { FoldCache, planSteps, type Step } from '../src/nn/model-fold.ts';
import { Conv2D, DepthwiseConv2D, SeparableConv2D } from '../src/nn/layers/conv.ts';
import { BatchNormalization } from '../src/nn/layers/normalization.ts';
import type { Runtime } from '../src/gpu/runtime.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { median, uniform } from './measure.ts';

/** One conv step of the plan at a batch. */
export interface ConvStep {
  /** The conv layer's name (the step may include its batch norm and activation). */
  layer: string;
  /** Input shape at this batch. */
  inShape: number[];
  outShape: number[];
  /** 2·KH·KW·(C/groups)·K·N·OH·OW, as forwardFlops counts it. */
  flops: number;
  /** A seeded input of inShape (caller disposes). */
  input(): Tensor;
  /** Runs the step once on x (caller disposes the output). */
  run(x: Tensor): Tensor;
}

const prod = (xs: readonly number[]) => xs.reduce((a, b) => a * b, 1);
const isConv = (l: unknown) => l instanceof Conv2D || l instanceof DepthwiseConv2D || l instanceof SeparableConv2D;

/**
 * The model's conv steps as its inference run plans them (planSteps with folding, the model's
 * output kept), with seeded inputs of their in-model shapes at `batch`. Folded weights live
 * in a cache of their own (freed by `dispose`), built here so no timed call pays for a fold.
 */
export function convSteps(model: Model, batch: number): { steps: ConvStep[]; dispose(): void } {
  const cache = new FoldCache();
  // The output (a single-output model): the last node whose tensor nothing consumes.
  const consumed = new Set(model.nodes.flatMap((n) => n.inputs));
  const outKey = [...model.nodes].reverse().find((n) => !consumed.has(n.key))!.key;
  const plan: Step[] = planSteps(model.nodes, new Set([outKey]), true, cache, () => 0);
  const weights = model.weightList();
  const steps: ConvStep[] = [];
  for (const step of plan) {
    const node = step.nodes[0]!;
    if (!isConv(node.layer)) continue;
    const bn = step.nodes[1]?.layer;
    if (bn instanceof BatchNormalization) cache.get(node.layer as Conv2D | DepthwiseConv2D, bn, 0);
    const inShape = [batch, ...(node.inputShapes[0]!.slice(1) as number[])];
    const outShape = [batch, ...(node.outputShape.slice(1) as number[])];
    const flops = weights
      .filter((e) => e.layer === node.layer && e.weight.endsWith('kernel'))
      .reduce((a, e) => a + 2 * prod(e.shape) * prod(outShape.slice(0, -1)), 0);
    const seed = steps.length + 1;
    steps.push({
      layer: node.layer.name, inShape, outShape, flops,
      input: () => upload(uniform(prod(inShape), seed, -1, 1), inShape),
      run: (x) => step.exec([x], { training: false }),
    });
  }
  return {
    steps,
    dispose: () => cache.clear(),
  };
}

/** Launches per sample are sized for ~SAMPLE_MS (one wait per sample). */
const SAMPLE_MS = 20;
/** Budget floor per layer for its timed samples: room for 3-4 samples of SAMPLE_MS. */
const MIN_LAYER_MS = 4 * SAMPLE_MS;
/** Timed samples per layer: at least MIN_SAMPLES (after an untimed pilot), at most MAX_SAMPLES. */
const MIN_SAMPLES = 2;
const MAX_SAMPLES = 5;

/**
 * The lower median (of 2 samples the smaller): one load spike cannot decide a layer even when it
 * used up the layer's budget and left only the minimum of 2 samples.
 */
export function lowerMedian(xs: number[]): number {
  const v = [...xs].sort((a, b) => a - b);
  return v[(v.length - 1) >> 1]!;
}

/** The record's figure: the model's forward against its convolutions run alone. */
export interface ConvAlone {
  /** Conv layers timed (every conv step of the inference plan). */
  layers: number;
  /** Their FLOPs at this batch, GFLOP. */
  gflop: number;
  /** Σ over layers of each layer's lower-median ms per launch. */
  ms: number;
  /** gflop / ms: the GFLOP/s of the model's own convolutions, each run alone. */
  gflops: number;
  /** The whole forward's GFLOP/s (record gflop / camlight's median forward ms); null without a forward time. */
  forwardGflops: number | null;
  /** forwardGflops / gflops (issue 13's target: ≥ 0.5). */
  ratio: number | null;
  /** Budget and time spent on the timed launches, s. */
  budgetS: number;
  spentS: number;
  /** Per layer, in plan order: input shape, GFLOP, lower-median ms per launch, samples × launches per sample. */
  perLayer: { layer: string; in: string; gflop: number; ms: number; gflops: number; samples: number; launches: number }[];
}

/** Sums per-layer timings into the record's figure (pure: the test checks it against its inputs). */
export function summarizeConvAlone(
  perLayer: ConvAlone['perLayer'], forward: { gflop: number; ms: number | null }, budgetS: number, spentS: number,
): ConvAlone {
  const gflop = perLayer.reduce((a, l) => a + l.gflop, 0);
  const ms = perLayer.reduce((a, l) => a + l.ms, 0);
  const gflops = gflop / (ms / 1000);
  const forwardGflops = forward.ms != null && forward.ms > 0 ? forward.gflop / (forward.ms / 1000) : null;
  return { layers: perLayer.length, gflop, ms, gflops, forwardGflops, ratio: forwardGflops == null ? null : forwardGflops / gflops, budgetS, spentS, perLayer };
}

/**
 * Times every conv step alone: launches of one layer back to back, then one wait (rt.sync, as a
 * forward waits once), so per-wait overhead is amortised over ~SAMPLE_MS samples; per layer an
 * untimed pilot, then MIN_SAMPLES to MAX_SAMPLES samples while its budget lasts (its share of
 * `budgetS` by FLOPs, at least MIN_LAYER_MS); the layer's time is their lower median.
 * `model`'s pipelines should already be compiled (the caller has run the forward).
 */
export async function measureConvsAlone(rt: Runtime, model: Model, batch: number, forward: { gflop: number; ms: number | null }, budgetS: number): Promise<ConvAlone> {
  const { steps, dispose } = convSteps(model, batch);
  try {
    await rt.sync(); // the batch-norm folds convSteps launched, so the first layer's time is its own
    const t0 = performance.now();
    const total = steps.reduce((a, s) => a + s.flops, 0);
    const perLayer: ConvAlone['perLayer'] = [];
    for (const s of steps) {
      // The layer's share of the budget by FLOPs, at least MIN_LAYER_MS. The pilot launch sizes
      // the samples and is not one of them (a load spike in a lone pilot decided whole layers).
      const budgetMs = Math.max((1000 * budgetS * s.flops) / total, MIN_LAYER_MS);
      const x = s.input();
      let t: { ms: number; samples: number; launches: number };
      try {
        const once = async (n: number) => {
          const t1 = performance.now();
          for (let i = 0; i < n; i++) s.run(x).dispose();
          await rt.sync();
          return (performance.now() - t1) / n;
        };
        const pilot = await once(1);
        const launches = Math.max(1, Math.min(32, Math.round(SAMPLE_MS / pilot)));
        const per: number[] = [];
        const start = performance.now();
        do per.push(await once(launches));
        while (per.length < MIN_SAMPLES || (per.length < MAX_SAMPLES && performance.now() - start + launches * median(per) <= budgetMs));
        t = { ms: lowerMedian(per), samples: per.length, launches };
      } finally {
        x.dispose();
      }
      perLayer.push({ layer: s.layer, in: s.inShape.join('×'), gflop: s.flops / 1e9, ms: t.ms, gflops: s.flops / 1e6 / t.ms, samples: t.samples, launches: t.launches });
    }
    return summarizeConvAlone(perLayer, forward, budgetS, (performance.now() - t0) / 1000);
  } finally {
    dispose();
  }
}
