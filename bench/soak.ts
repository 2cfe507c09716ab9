// The soak suite (`npm run bench -- soak`): 5,000 images through `camlight cam`'s path (decode,
// prepare, cam(), overlay) and a 20-epoch training, printing RSS and the GPU buffer pool as a
// series; the check is that both stay flat (the last quarter's median within 10 % of the second
// quarter's, plus 2 MiB of slack for allocator noise); the series go to bench/results/<adapter>/soak.json.
import jpeg from 'jpeg-js';
import { cam } from '../src/cam/base.ts';
import { overlayPng } from '../src/cam/overlay.ts';
import { prepareTensor } from '../src/cam/prepare.ts';
import { decodeImage, encodePng } from '../src/io/image.ts';
import { fashionCnn } from '../src/nn/zoo/index.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { adam } from '../src/train/optimizers.ts';
import { train } from '../src/train/trainer.ts';
import type { Dataset } from '../src/train/data.ts';
import type { Runtime } from '../src/gpu/runtime.ts';
import type { BenchOptions, Suite } from './index.ts';
import { deviceAdapterInfo, writeRun } from './results.ts';

const mib = (n: number) => n / 2 ** 20;
const round1 = (x: number) => Math.round(x * 10) / 10;
const flatRecord = (f: { ok: boolean; early: number; late: number }) => ({ flat: f.ok, secondQuarterMedian: round1(f.early), lastQuarterMedian: round1(f.late) });

/** Bytes the runtime's buffer pool holds: live buffers plus those kept for reuse. */
function poolBytes(rt: Runtime): number {
  const s = rt.pool.stats();
  return s.liveBytes + s.freeBytes;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : 0;
};

/**
 * Flat: the median of the series' last quarter is at most `tol` above its second quarter's, plus
 * `slackMiB` (the first quarter is warm-up: pipelines compiled, pool filled). Medians, not means,
 * so one garbage-collection spike does not decide; a leak of a constant amount per step still
 * shows, as the late median then sits a quarter of the run's growth above the early one.
 * @example
 *   flat([300, 310, 311, 309, 312, 310, 311, 310]).ok; // true
 *   flat([300, 310, 320, 330, 340, 350, 360, 370]).ok; // false: +12 % from the second quarter to the last
 */
export function flat(series: number[], tol = 0.1, slackMiB = 2): { ok: boolean; early: number; late: number } {
  const q = Math.max(1, Math.floor(series.length / 4));
  const early = median(series.slice(q, 2 * q)), late = median(series.slice(-q));
  return { ok: late <= early * (1 + tol) + slackMiB, early, late };
}

export const suite: Suite = {
  name: 'soak',
  describe: '5,000 images through cam and a 20-epoch training; RSS and GPU pool printed as series, checked flat',
  async run(opts: BenchOptions): Promise<number> {
    const rt = await init();
    const images = opts.quick ? 400 : 5000, epochs = opts.quick ? 4 : 20, batch = 8;
    const model = fashionCnn();
    model.initWeights(1);
    // Files as cam reads them: half PNG, half JPEG, all different.
    const file = (i: number) => {
      const data = new Uint8Array(28 * 28 * 4);
      for (let k = 0; k < 28 * 28; k++) data.set([(k * (i + 3)) & 255, (k * 7 + i) & 255, (k ^ i) & 255, 255], 4 * k);
      return i % 2 ? encodePng(data, 28, 28) : new Uint8Array(jpeg.encode({ width: 28, height: 28, data }, 90).data);
    };
    const rss: number[] = [], pool: number[] = [];
    const records: Record<string, unknown>[] = [];
    let failures = 0;
    // About 40 samples over the run (every `sampleEvery` batches).
    const sampleEvery = Math.max(1, Math.floor(images / batch / 40));
    const t0 = performance.now();
    for (let start = 0; start < images; start += batch) {
      const decoded = Array.from({ length: Math.min(batch, images - start) }, (_, k) => decodeImage(file(start + k), `soak-${start + k}`));
      const x = prepareTensor(decoded, { size: [28, 28], channels: 1, preprocess: 'unit' });
      const r = await cam(model, x, { method: 'gradcam', layer: 'auto', target: 'top1', upsample: false });
      x.dispose();
      for (const res of r.images) overlayPng(decoded[res.image]!, res.map, { colormap: 'jet', opacity: 0.5, style: 'blend' });
      if ((start / batch) % sampleEvery === 0) {
        rss.push(mib(process.memoryUsage().rss));
        pool.push(poolBytes(rt));
      }
    }
    const camS = (performance.now() - t0) / 1000;
    console.log(`cam: ${images} images in ${camS.toFixed(1)} s; RSS MiB: ${rss.map((v) => v.toFixed(0)).join(' ')}`);
    console.log(`cam: GPU pool MiB: ${pool.map((p) => mib(p).toFixed(1)).join(' ')}`);
    for (const [what, series] of [['cam: RSS', rss], ['cam: GPU pool', pool.map(mib)]] as const) {
      const f = flat(series);
      console.log(`${what} ${f.ok ? 'flat' : 'GROWS'} (median of the second quarter ${f.early.toFixed(1)} MiB, of the last quarter ${f.late.toFixed(1)} MiB)`);
      if (!f.ok) failures++;
      records.push({ phase: 'cam', series: what.slice(5), images, batch, seconds: round1(camS), everyImages: sampleEvery * batch, mib: series.map(round1), ...flatRecord(f) });
    }

    // A small training set (128 images, 4 steps per epoch): 20 epochs fit a shared 2-core machine;
    // what could leak per step (tapes, optimiser state, pooled buffers) runs 80 times either way.
    const n = opts.quick ? 64 : 128;
    const data: Dataset = {
      images: new Float32Array(n * 784).map((_, i) => ((i * 2654435761) >>> 0) / 4294967296),
      labels: Int32Array.from({ length: n }, (_, i) => i % 10),
      imageShape: [28, 28, 1],
      classNames: Array.from({ length: 10 }, (_, i) => `c${i}`),
    };
    const trss: number[] = [], tpool: number[] = [];
    const t1 = performance.now();
    await train(model, data, {
      epochs, batchSize: 32, optimizer: adam({ lr: 1e-3 }),
      onEpochEnd: () => {
        trss.push(mib(process.memoryUsage().rss));
        tpool.push(poolBytes(rt));
      },
    });
    const trainS = (performance.now() - t1) / 1000;
    console.log(`train: ${epochs} epochs of ${n} images in ${trainS.toFixed(1)} s; RSS MiB per epoch: ${trss.map((v) => v.toFixed(0)).join(' ')}`);
    console.log(`train: GPU pool MiB per epoch: ${tpool.map((p) => mib(p).toFixed(1)).join(' ')}`);
    for (const [what, series] of [['train: RSS', trss], ['train: GPU pool', tpool.map(mib)]] as const) {
      const f = flat(series);
      console.log(`${what} ${f.ok ? 'flat' : 'GROWS'} (median of the second quarter ${f.early.toFixed(1)} MiB, of the last quarter ${f.late.toFixed(1)} MiB)`);
      if (!f.ok) failures++;
      records.push({ phase: 'train', series: what.slice(7), epochs, images: n, batch: 32, seconds: round1(trainS), mib: series.map(round1), ...flatRecord(f) });
    }
    model.dispose();
    const written = writeRun('soak', rt.adapterName, records, { flatRule: 'last-quarter median <= second-quarter median * 1.10 + 2 MiB' }, deviceAdapterInfo(rt.device));
    console.log(`results written to ${written}`);
    return failures;
  },
};
