// The models suite's "convolutions run alone" figure (bench/model-convs.ts): it must time exactly
// the conv kernels the forward launches (same variants, same shapes), count their FLOPs as the
// layer formula does, and derive its GFLOP/s and forward ratio from its own per-layer records.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { convSteps, lowerMedian, measureConvsAlone, summarizeConvAlone } from '../../bench/model-convs.ts';
import { timeCalls } from '../../bench/measure.ts';
import { opKind } from '../../bench/profile.ts';
import { init } from '../../src/tensor/runtime-global.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { fromTf, randomizeTf, tfl } from '../nn/keras-helpers.ts';
import { randn } from '../helpers.ts';
import { reportLinesFor } from './report-lines.ts';

const s = suite('bench model-convs');

/**
 * 18²×4 → conv 3×3 valid, no bias (8) → batch norm → ReLU (one folded step) → conv 1×1 + bias +
 * ReLU (12, unfolded) → depthwise 3×3 stride 2 same → global average pool → dense 5.
 */
function smallModel() {
  const x = tfl.input({ shape: [18, 18, 4], name: 'x' });
  let y = tfl.layers.conv2d({ filters: 8, kernelSize: 3, useBias: false, name: 'c1' }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ name: 'bn1' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ name: 'r1' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 12, kernelSize: 1, activation: 'relu', name: 'c2' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', name: 'dw' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.dense({ units: 5, name: 'out' }).apply(y) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: y });
  randomizeTf(m, 3);
  return fromTf(m);
}

// 2·KH·KW·(C/groups)·K·N·OH·OW per layer, by hand: c1 16²×8 from 4 channels, c2 16²×12 from 8,
// dw 8²×12 (one filter per channel).
const BATCH = 2;
const FLOPS = [2 * 9 * 4 * 8 * 16 * 16 * BATCH, 2 * 1 * 8 * 12 * 16 * 16 * BATCH, 2 * 9 * 12 * 8 * 8 * BATCH];

s('convSteps: the conv layers of the inference plan, with the same kernels and shapes as the forward and FLOPs by the layer formula', async () => {
  const rt = await init();
  const m = smallModel();
  const x = upload(randn(BATCH * 18 * 18 * 4, 5), [BATCH, 18, 18, 4]);
  const { steps, dispose } = convSteps(m, BATCH);
  try {
    assert.equal(steps.map((st) => st.layer), ['c1', 'c2', 'dw']);
    assert.equal(steps.map((st) => st.flops), FLOPS);
    assert.equal(steps.map((st) => st.inShape), [[BATCH, 18, 18, 4], [BATCH, 16, 16, 8], [BATCH, 16, 16, 12]]);
    m.predict(x).dispose(); // compiles
    const convDispatches = async (fn: () => void) => {
      rt.startProfile();
      fn();
      const p = await rt.stopProfile();
      return p.entries.filter((e) => opKind(e.name) === 'conv2d').map((e) => `${e.name} ${e.variant} ${e.shapes}`);
    };
    const inModel = await convDispatches(() => m.predict(x).dispose());
    const alone = await convDispatches(() => {
      for (const st of steps) {
        const xi = st.input();
        st.run(xi).dispose();
        xi.dispose();
      }
    });
    assert.is(inModel.length, 3, inModel.join('\n'));
    assert.equal(alone, inModel);
    // Control: the folded conv's epilogue (bias from the batch norm, ReLU) is part of the variant,
    // so an unfolded run of c1 would not match.
    assert.ok(inModel[0]!.includes('relu') && inModel[0] !== inModel[1], inModel[0]);
  } finally {
    dispose();
    x.dispose();
    m.dispose();
  }
});

s('measureConvsAlone: per-layer records, their sums, and the forward ratio computed from them', async () => {
  const rt = await init();
  const m = smallModel();
  const x = upload(randn(BATCH * 18 * 18 * 4, 6), [BATCH, 18, 18, 4]);
  try {
    const fwd = async () => {
      const y = m.predict(x);
      await y.data();
      y.dispose();
    };
    await fwd();
    const t = await timeCalls(fwd, 200, 3);
    const gflop = FLOPS.reduce((a, b) => a + b, 0) / 1e9 + (2 * 12 * 5 * BATCH) / 1e9;
    const a = await measureConvsAlone(rt, m, BATCH, { gflop, ms: t.ms }, 0.2);
    assert.is(a.layers, 3);
    assert.equal(a.perLayer.map((l) => l.layer), ['c1', 'c2', 'dw']);
    assert.equal(a.perLayer.map((l) => l.gflop * 1e9), FLOPS);
    for (const l of a.perLayer) {
      assert.ok(l.ms > 0 && l.samples >= 2 && l.samples <= 5 && l.launches >= 1, JSON.stringify(l));
      assert.ok(Math.abs(l.gflops - (l.gflop * 1e3) / l.ms) <= 1e-9 * l.gflops, JSON.stringify(l));
    }
    const ms = a.perLayer.reduce((s, l) => s + l.ms, 0);
    assert.ok(Math.abs(a.ms - ms) <= 1e-9 * ms);
    assert.ok(Math.abs(a.gflop * 1e9 - FLOPS.reduce((p, q) => p + q, 0)) < 1);
    assert.ok(Math.abs(a.gflops - a.gflop / (a.ms / 1000)) <= 1e-9 * a.gflops);
    assert.ok(Math.abs(a.forwardGflops! - gflop / (t.ms / 1000)) <= 1e-9 * a.forwardGflops!);
    assert.ok(a.ratio! > 0 && Math.abs(a.ratio! - a.forwardGflops! / a.gflops) <= 1e-9 * a.ratio!);
    assert.ok(a.spentS > 0 && a.budgetS === 0.2);
    // Nothing of the measurement stays on the GPU (inputs and folded copies are freed).
    const live = rt.stats().liveBytes;
    await measureConvsAlone(rt, m, BATCH, { gflop, ms: t.ms }, 0.05);
    assert.is(rt.stats().liveBytes, live);
  } finally {
    x.dispose();
    m.dispose();
  }
});

s('summarizeConvAlone: sums, GFLOP/s and ratio from the per-layer records; no forward time, no ratio', () => {
  const per = [
    { layer: 'a', in: '1×8×8×4', gflop: 0.3, ms: 10, gflops: 30, samples: 3, launches: 4 },
    { layer: 'b', in: '1×8×8×8', gflop: 0.1, ms: 30, gflops: 10 / 3, samples: 1, launches: 1 },
  ];
  const a = summarizeConvAlone(per, { gflop: 0.5, ms: 100 }, 1, 0.9);
  assert.is(a.layers, 2);
  assert.ok(Math.abs(a.gflop - 0.4) < 1e-12 && a.ms === 40);
  assert.ok(Math.abs(a.gflops - 10) < 1e-9, String(a.gflops)); // 0.4 GFLOP in 40 ms
  assert.ok(Math.abs(a.forwardGflops! - 5) < 1e-9); // 0.5 GFLOP in 100 ms
  assert.ok(Math.abs(a.ratio! - 0.5) < 1e-9);
  const none = summarizeConvAlone(per, { gflop: 0.5, ms: null }, 1, 0.9);
  assert.is(none.forwardGflops, null);
  assert.is(none.ratio, null);
});

s('lowerMedian: one spike among 2 or 3 samples does not decide', () => {
  assert.is(lowerMedian([20, 2000]), 20);
  assert.is(lowerMedian([2000, 21, 20]), 21);
  assert.is(lowerMedian([5, 1, 4, 3]), 3);
  assert.is(lowerMedian([7]), 7);
});

s('report prints the conv-alone GFLOP/s and the forward ratio of a models record, and a dash without one', async () => {
  const a = summarizeConvAlone([{ layer: 'c', in: '1×4×4×4', gflop: 2, ms: 100, gflops: 20, samples: 1, launches: 1 }], { gflop: 2.5, ms: 250 }, 1, 1);
  const rec = (batch: number, convAlone?: unknown) => ({ model: 'm', size: 8, batch, ms: { camlight: 250, 'tfjs-webgpu': null, 'tfjs-wasm': null }, peakBytes: { camlight: null }, convAlone });
  const lines = await reportLinesFor('models', [rec(1, a), rec(8)]);
  const b1 = lines.find((l) => /^m\s+8²\s+1\s/.test(l));
  const b8 = lines.find((l) => /^m\s+8²\s+8\s/.test(l));
  // 2 GFLOP in 100 ms = 20 GFLOP/s alone; the forward 2.5 GFLOP in 250 ms = 10 GFLOP/s = 50 %.
  assert.ok(b1 && /\b20\.0\s+50 %\s*$/.test(b1), lines.join('\n'));
  assert.ok(b8 && /—\s+—\s*$/.test(b8), lines.join('\n'));
});

s.run();
