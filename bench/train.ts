// The train suite: training throughput of the Fashion-MNIST CNN (images/s, forward + backward + Adam
// update) in camlight vs tfjs-webgpu on the same adapter and tfjs-wasm, after checking one step's
// gradients against tfjs; test accuracy after a (configurable) short run; the CAM recorder's overhead.
// Epochs and images of the accuracy run: --epochs/--limit when run directly
// (node --import tsx bench/train.ts --epochs 5 --limit 60000), or CAMLIGHT_BENCH_EPOCHS / _LIMIT.
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { pathToFileURL } from 'node:url';
import * as tfl from '@tensorflow/tfjs-layers';
import { scoreHead } from '../src/cam/targets.ts';
import type { StoredLayer } from '../src/nn/layers/layer.ts';
import type { Model } from '../src/nn/model.ts';
import * as ops from '../src/nn/ops.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { valueAndGrad } from '../src/nn/tape.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { fashionCnn } from '../src/nn/zoo/index.ts';
import { adam, batchTensors, CamRecorder, evaluate, loadFashionMnist, silhouetteMask, subset, train, type Dataset } from '../src/train/index.ts';
import type { BenchOptions, Suite, System } from './index.ts';
import { Progress } from './progress.ts';
import { beginRun, deviceAdapterInfo, writeRun } from './results.ts';
import { median, mismatch, type Tolerance } from './measure.ts';
import { peerModel } from './model-setup.ts';
import { describePeer, tf, usePeer } from './peers.ts';
import { loud, printTable } from './table.ts';

const BATCHES = [32, 128];
/** Gradients of a 467k-parameter CNN in fp32, reduced over a batch in different orders. */
const GRAD_TOL: Tolerance = { rtol: 1e-2, atolOfMax: 1e-3 };

interface Settings { epochs: number; limit: number; testLimit: number; steps: number; repeats: number }

function settings(quick: boolean, argv: string[] = []): Settings {
  const flag = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    const v = i >= 0 ? argv[i + 1] : process.env[`CAMLIGHT_BENCH_${name.toUpperCase()}`];
    return v === undefined ? undefined : Number(v);
  };
  // Default accuracy run: ~23 s per 1024 images per epoch on lavapipe, so 2 × 4096 stays within ~5 minutes.
  return {
    epochs: flag('epochs') ?? (quick ? 1 : 2),
    limit: flag('limit') ?? (quick ? 512 : 4096),
    testLimit: quick ? 500 : 2000,
    steps: quick ? 2 : 4,
    repeats: quick ? 1 : 3,
  };
}

/** The camlight training step (the trainer's: tape, loss on logits, Adam), without the read-back when `readBack` is false. */
function camlightStepper(model: Model) {
  const head = scoreHead(model);
  const params: Tensor[] = model.weightList().flatMap((e) => (e.layer as StoredLayer).weightParts(e.weight));
  const opt = adam({ lr: 1e-3 });
  return {
    params,
    grads(x: Tensor, y: Tensor, training: boolean) {
      return valueAndGrad(() => {
        const { output, taps } = model.run(x, { training, taps: head.tap ? [head.tap] : [] });
        return ops.sparseSoftmaxCrossEntropy(head.logits(output, taps), y);
      }, params);
    },
    async step(x: Tensor, y: Tensor, readBack: boolean) {
      const r = this.grads(x, y, true);
      opt.step(params, r.grads, 1e-3);
      if (readBack) await r.value.data();
      return r;
    },
  };
}

/** tfjs's gradients of the mean cross-entropy for the same weights and batch (its model ends in a softmax). */
function tfGrads(m: tfl.LayersModel, x: Float32Array, labels: Int32Array, shape: number[]): Map<string, Float32Array> {
  const xt = tf.tensor(x, shape);
  const oh = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32');
  const { grads } = tf.variableGrads(() => tf.neg(tf.mean(tf.sum(tf.mul(oh, tf.log(m.predict(xt) as tf.Tensor)), -1))) as tf.Scalar, m.trainableWeights.map((w) => (w as unknown as { val: tf.Variable }).val));
  const out = new Map<string, Float32Array>();
  m.trainableWeights.forEach((w) => out.set(w.originalName, grads[(w as unknown as { val: tf.Variable }).val.name]!.dataSync() as Float32Array));
  tf.dispose([xt, oh, ...Object.values(grads)]);
  return out;
}

/** Images per second of `steps` tfjs training steps (loss read back each step, as model.fit does). */
async function tfThroughput(m: tfl.LayersModel, d: Dataset, batch: number, s: Settings): Promise<number> {
  const opt = tf.train.adam(1e-3);
  const { x, labels } = batchTensors(d, Int32Array.from({ length: batch }, (_, i) => i));
  const xh = await x.data();
  x.dispose();
  const xt = tf.tensor(xh, [batch, 28, 28, 1]);
  const oh = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), 10), 'float32');
  const step = async () => {
    const loss = opt.minimize(() => tf.losses.softmaxCrossEntropy(oh, tf.log(m.apply(xt, { training: true }) as tf.Tensor)) as tf.Scalar, true)!;
    await loss.data();
    loss.dispose();
  };
  await step();
  const per: number[] = [];
  for (let r = 0; r < s.repeats; r++) {
    const t0 = performance.now();
    for (let k = 0; k < s.steps; k++) await step();
    per.push((performance.now() - t0) / s.steps);
  }
  tf.dispose([xt, oh]);
  opt.dispose();
  return (1000 * batch) / median(per);
}

/** One step's gradients (dropout off) on a batch of 16 against tfjs-cpu's for the same weights; loud on mismatch. */
async function checkGradients(data: Dataset): Promise<{ ok: boolean; text: string }> {
  const model = fashionCnn();
  model.initWeights(1);
  const w0 = await model.readWeights();
  const { x, y, labels } = batchTensors(data, Int32Array.from({ length: 16 }, (_, i) => i));
  const g = camlightStepper(model).grads(x, y, false);
  const ours = await Promise.all(g.grads.map((t) => t.data()));
  await usePeer('tfjs-cpu');
  const ref = await peerModel(model, w0, 'dense');
  const want = tfGrads(ref.model, await x.data(), labels, [16, 28, 28, 1]);
  ref.dispose();
  const bad = model.weightList().map((e, i) => {
    const m = mismatch(ours[i]!, want.get(e.name) ?? new Float32Array(0), GRAD_TOL);
    return m ? `${e.name}: ${m}` : null;
  }).filter(Boolean);
  for (const t of [x, y, g.value, ...g.grads]) t.dispose();
  model.dispose();
  if (bad.length) {
    loud(`train: camlight's gradients differ from tfjs-cpu's: ${bad.join('; ')}`);
    return { ok: false, text: `FAILED: ${bad.join('; ')}` };
  }
  const text = `batch 16, dropout off: every weight's gradient within ${GRAD_TOL.rtol}·|ref| + ${GRAD_TOL.atolOfMax}·max|ref| of tfjs-cpu's`;
  console.log(`  gradient check: ${text}`);
  return { ok: true, text };
}

export const suite: Suite = {
  name: 'train',
  describe: 'fashion CNN training throughput (camlight vs tfjs), test accuracy, CAM recording overhead',
  async run(opts: BenchOptions): Promise<number> {
    return runTrain(opts, settings(opts.quick));
  },
};

async function runTrain(opts: BenchOptions, s: Settings): Promise<number> {
  const rt = await init();
  let failures = 0;
  const data = await loadFashionMnist({ split: 'train', limit: Math.max(s.limit, Math.max(...BATCHES)) });
  const peers = opts.systems.filter((x): x is Exclude<System, 'camlight'> => x !== 'camlight');
  for (const p of peers) console.log(`  ${p}: ${await describePeer(p)}`);
  const records: { model: string; batch: number; imagesPerSec: Partial<Record<System, number | null>>; camlightNoReadBack?: number; notes?: Record<string, string> }[] = [];
  // Progress weights in seconds (lavapipe, idle): gradient check ~5, a throughput row ~10, the accuracy run ~23 s per 1024 images per epoch.
  const progress = new Progress([5, ...BATCHES.flatMap(() => opts.systems.map(() => 10)), ...(opts.systems.includes('camlight') ? [(23 * s.epochs * s.limit) / 1024] : [])]);
  const gradientCheck = await checkGradients(data);
  progress.step(`gradient check: ${gradientCheck.ok ? 'passed' : 'FAILED'}`);
  if (!gradientCheck.ok) failures++;
  for (const batch of BATCHES) {
    const model = fashionCnn();
    model.initWeights(1);
    const w0 = await model.readWeights();
    const stepper = camlightStepper(model);
    const idx = Int32Array.from({ length: batch }, (_, i) => i);
    const { x, y } = batchTensors(data, idx);
    const rec: (typeof records)[number] = { model: 'fashion-cnn', batch, imagesPerSec: {} };
    if (opts.systems.includes('camlight') && gradientCheck.ok) {
      const time = async (readBack: boolean) => {
        await stepper.step(x, y, true); // warm-up: compiles
        const per: number[] = [];
        for (let r = 0; r < s.repeats; r++) {
          const t0 = performance.now();
          let last: Tensor | null = null;
          for (let k = 0; k < s.steps; k++) {
            const res = await stepper.step(x, y, readBack);
            last?.dispose();
            last = res.value;
            for (const t of [...res.grads, ...res.watched.map((w) => w.grad)]) t.dispose();
          }
          await last!.data();
          last!.dispose();
          per.push((performance.now() - t0) / s.steps);
        }
        return (1000 * batch) / median(per);
      };
      rec.imagesPerSec.camlight = await time(true);
      rec.camlightNoReadBack = await time(false);
      progress.step(`camlight    batch ${batch}: ${rec.imagesPerSec.camlight.toFixed(1)} images/s (${rec.camlightNoReadBack.toFixed(1)} without the per-step read-back)`);
    }
    for (const p of peers) {
      try {
        await usePeer(p);
        const pm = await peerModel(model, w0, 'dense');
        rec.imagesPerSec[p] = await tfThroughput(pm.model, data, batch, s);
        progress.step(`${p.padEnd(11)} batch ${batch}: ${rec.imagesPerSec[p]!.toFixed(1)} images/s`);
        pm.dispose();
      } catch (e) {
        // tfjs-backend-wasm 4.22 registers no Conv2DBackpropFilter/Input kernels: it cannot train a conv net.
        console.log(`  ${p} cannot train at batch ${batch}: ${(e as Error).message}`);
        rec.imagesPerSec[p] = null;
        (rec.notes ??= {})[p] = (e as Error).message;
        progress.step(`${p.padEnd(11)} batch ${batch}: cannot train`);
      }
    }
    x.dispose();
    y.dispose();
    model.dispose();
    records.push(rec);
  }
  const f = (v: number | null | undefined) => (v == null ? '–' : v.toFixed(1));
  printTable(['batch', 'camlight img/s', '(no read-back)', 'tfjs-webgpu', 'tfjs-wasm', 'vs webgpu'], records.map((r) => [
    String(r.batch), f(r.imagesPerSec.camlight), f(r.camlightNoReadBack), f(r.imagesPerSec['tfjs-webgpu']), f(r.imagesPerSec['tfjs-wasm']),
    r.imagesPerSec.camlight && r.imagesPerSec['tfjs-webgpu'] ? `${(r.imagesPerSec.camlight / r.imagesPerSec['tfjs-webgpu']).toFixed(2)}×` : '–',
  ]), ['right', 'right', 'right', 'right', 'right', 'right']);

  // Accuracy after a short run, with the CAM recorder on 8 test images to measure its cost.
  const accuracy: { system: string; epochs: number; trainImages: number; testImages: number; test: number; note: string }[] = [];
  let camOverhead: { tracked: number; recordMs: number[]; epochMs: number[]; fraction: number } | null = null;
  if (opts.systems.includes('camlight')) {
    const trainSet = subset(data, Int32Array.from({ length: Math.min(s.limit, data.labels.length) }, (_, i) => i));
    const test = await loadFashionMnist({ split: 'test', limit: s.testLimit });
    const model = fashionCnn();
    model.initWeights(1);
    const track = Array.from({ length: 8 }, (_, c) => [...test.labels.keys()].find((i) => test.labels[i] === c)!);
    const px = new Float32Array(8 * 784);
    track.forEach((i, k) => px.set(test.images.subarray(i * 784, (i + 1) * 784), k * 784));
    const images = track.map((i) => ({ width: 28, height: 28, data: Uint8ClampedArray.from({ length: 784 * 4 }, (_, j) => (j % 4 === 3 ? 255 : Math.round(255 * test.images[i * 784 + (j >> 2)]!))) }));
    const recorder = new CamRecorder({ images, inputs: upload(px, [8, 28, 28, 1]), trueClasses: track.map((i) => test.labels[i]!), classNames: test.classNames,
      masks: track.map((i) => silhouetteMask(test.images.subarray(i * 784, (i + 1) * 784), 28, 28)) });
    const t0 = performance.now();
    const h = await train(model, trainSet, { epochs: s.epochs, batchSize: 32, optimizer: adam({ lr: 1e-3 }), seed: 1, onEpochEnd: async (e) => {
      await recorder.onEpochEnd(e);
      console.log(`  camlight epoch ${e.epoch}/${s.epochs}: loss ${e.loss.toFixed(4)}, accuracy ${e.accuracy.toFixed(4)}, ${(e.ms / 1000).toFixed(1)} s (+ cams ${(recorder.history.epochs.at(-1)!.ms / 1000).toFixed(2)} s)`);
    } });
    const ev = await evaluate(model, test);
    progress.step(`camlight accuracy run: ${s.epochs} epoch(s) on ${trainSet.labels.length} images, test ${(100 * ev.accuracy).toFixed(2)} %`);
    const recordMs = recorder.history.epochs.map((e) => e.ms);
    const epochMs = h.epochs.map((e) => e.ms);
    camOverhead = { tracked: 8, recordMs, epochMs, fraction: recordMs.reduce((a, b) => a + b, 0) / epochMs.reduce((a, b) => a + b, 0) };
    accuracy.push({ system: 'camlight', epochs: s.epochs, trainImages: trainSet.labels.length, testImages: test.labels.length, test: ev.accuracy,
      note: trainSet.labels.length < 60000 ? `a subset: ${trainSet.labels.length} of the 60000 training images (not the full-data figure)` : 'full training set' });
    console.log(`  accuracy: ${s.epochs} epoch(s) on ${trainSet.labels.length} images → test ${(100 * ev.accuracy).toFixed(2)} % on ${test.labels.length} (${((performance.now() - t0) / 1000).toFixed(0)} s); ` +
      `CAM recording of 8 images: ${(100 * camOverhead.fraction).toFixed(2)} % of the epochs' time (target < 5 %)`);
    model.dispose();
  }
  const file = writeRun('train', rt.adapterName, records, { gradientCheck: gradientCheck.text, steps: s.steps, repeats: s.repeats, accuracy, camOverhead }, deviceAdapterInfo(rt.device));
  console.log(`  → ${file}`);
  return failures;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const argv = process.argv.slice(2);
  const quick = argv.includes('--quick');
  const opts: BenchOptions = { quick, systems: ['camlight', 'tfjs-webgpu', 'tfjs-wasm'], wait: 'auto', budgetS: null, out: null, match: null, profile: false };
  beginRun('train', opts, null);
  const code = await runTrain(opts, settings(quick, argv));
  process.exit(code ? 1 : 0);
}
