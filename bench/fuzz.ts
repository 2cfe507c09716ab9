// The fuzz suite (`npm run bench -- fuzz`): seeded mutations of a PNG, a JPEG, a model.json, its
// weight shard and a Keras .h5 file, each read as camlight reads it, every outcome classified:
// clean error, accepted (same or changed output), non-finite output, hang, crash, stack trace,
// internal JavaScript message, error naming no file, silently wrong. Target: none of the last five.
import { Worker } from 'node:worker_threads';
import jpeg from 'jpeg-js';
import { memoryFiles } from '../src/io/files.ts';
import { decodeImage, encodePng } from '../src/io/image.ts';
import { loadH5Model, loadLayersModel, saveLayersModel } from '../src/nn/loaders/index.ts';
import type { Model } from '../src/nn/model.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload } from '../src/tensor/tensor.ts';
import { artifactsOf, h5LayersOf, kerasH5, sequentialModel } from '../test/nn/loader-fixtures.ts';
import { classifyError, type CaseResult, type Format, type FuzzBase, type Outcome } from './fuzz-worker.ts';
import type { BenchOptions, Suite } from './index.ts';
import { deviceAdapterInfo, writeRun } from './results.ts';

export const FORMATS: Format[] = ['png', 'jpeg', 'model.json', 'shard', 'h5'];
export const OUTCOMES: Outcome[] = ['clean error', 'accepted, same output', 'accepted, output changed', 'warning (non-finite output)',
  'hang', 'crash', 'stack trace', 'internal message', 'error without file name', 'silently wrong'];
/** Outcomes that are defects. */
export const BAD: Outcome[] = ['hang', 'crash', 'stack trace', 'internal message', 'error without file name', 'silently wrong'];
// A case's watchdog. It covers the .h5 reader's own deadline (H5_TIMEOUT_MS below) and the
// restart of its worker thread after one, which takes seconds on a loaded 2-core machine.
const HANG_MS = 60_000;
/** The .h5 parse deadline the fuzz runs under (CAMLIGHT_H5_TIMEOUT_MS; the default is 60 s). */
export const H5_TIMEOUT_MS = 3_000;
const X_SHAPE = [1, 9, 9, 3];

/** The unmutated .h5: a small CNN (test/nn/loader-fixtures.ts sequentialModel(5)) as a whole-model Keras file. */
export async function fuzzBaseH5(): Promise<Uint8Array> {
  const tm = sequentialModel(5);
  const h5 = await kerasH5(h5LayersOf(tm), (await artifactsOf(tm)).modelTopology);
  tm.dispose();
  return h5;
}

/** The unmutated inputs: a 24×24 RGB PNG and JPEG, and a small CNN as model.json + shard and as .h5. */
export async function fuzzBase(): Promise<FuzzBase & { x: Float32Array }> {
  const w = 24, h = 24;
  const data = new Uint8ClampedArray(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i * 7) & 255, (i * 13) & 255, (i * 29) & 255, 255], 4 * i);
  const png = encodePng({ width: w, height: h, data });
  const jpg = new Uint8Array(jpeg.encode({ width: w, height: h, data: new Uint8Array(data.buffer) }, 85).data);
  const h5 = await fuzzBaseH5();
  // model.json + shard as camlight saves them (from the .h5, so both describe one model).
  const model = await loadH5Model(h5, { name: 'base.h5' });
  const files = memoryFiles();
  await saveLayersModel(model, files);
  model.dispose();
  const modelJson = new TextDecoder().decode(files.files.get('model.json')!);
  const shardPath = (JSON.parse(modelJson) as { weightsManifest: { paths: string[] }[] }).weightsManifest[0]!.paths[0]!;
  const x = new Float32Array(X_SHAPE.reduce((a, b) => a * b, 1)).map((_, i) => Math.sin(i * 0.37));
  return {
    png, pngPixels: decodeImage(png, 'base.png').data, jpeg: jpg, jpegPixels: decodeImage(jpg, 'base.jpg').data,
    modelJson, shardPath, shard: files.files.get(shardPath)!, h5, x,
  };
}

async function predict(m: Model, x: Float32Array): Promise<Float32Array> {
  const t = upload(x, X_SHAPE);
  const { output } = m.run(t);
  const out = await output.data();
  t.dispose();
  output.dispose();
  return out;
}

/** The GPU stage of a model case the worker accepted: load it whole, predict, compare. */
export async function gpuStage(format: Format, r: CaseResult, base: FuzzBase & { x: Float32Array }, want: Float32Array): Promise<CaseResult> {
  const ok = r.cpuOk!;
  let m: Model | null = null;
  try {
    m = format === 'h5'
      ? await loadH5Model(ok.h5!, { name: 'fuzz.h5' })
      : await loadLayersModel({ source: memoryFiles({ 'model.json': ok.modelJson, [base.shardPath]: ok.shard }), path: 'model.json' });
    const got = await predict(m, base.x);
    let outcome: Outcome;
    if (!got.every(Number.isFinite)) outcome = 'warning (non-finite output)';
    else if (got.length === want.length && got.every((v, i) => Math.abs(v - want[i]!) <= 1e-6)) outcome = 'accepted, same output';
    // A shard of another length was accepted: its bytes were read at shifted offsets.
    else outcome = ok.lengthChanged ? 'silently wrong' : 'accepted, output changed';
    return { seed: r.seed, op: r.op, outcome };
  } catch (e) {
    return { seed: r.seed, op: r.op, ...classifyError(e, format === 'h5' ? ['fuzz.h5'] : ['model.json', base.shardPath]) };
  } finally {
    m?.dispose();
  }
}

/** Starts the CPU-stage worker (tsx registered inside it, as the bench runs TypeScript); resolves once it is ready. */
async function startWorker(base: FuzzBase): Promise<Worker> {
  const api = import.meta.resolve('tsx/esm/api');
  const target = new URL('./fuzz-worker.ts', import.meta.url).href;
  const w = new Worker(`import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(target)}); })`, {
    eval: true, workerData: { fuzz: true, base }, resourceLimits: { maxOldGenerationSizeMb: 2048 },
  });
  await new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
  });
  return w;
}

/** Per-format counts of each outcome, and a few examples of each bad one. */
export interface FuzzReport {
  format: Format;
  cases: number;
  counts: Record<Outcome, number>;
  examples: { seed: number; op: string; outcome: Outcome; message?: string }[];
  /** Clean errors that were the .h5 reader's deadline (libhdf5 looping on the file). */
  deadlines: number;
  ms: number;
}

/**
 * Runs `n` seeded cases of one format: the CPU stage in a worker (a case that does not answer
 * within HANG_MS is a hang, the worker is replaced; a worker that dies is a crash), then, for
 * model files the worker accepted, the GPU stage in this thread.
 */
export async function fuzzFormat(format: Format, n: number, base: FuzzBase & { x: Float32Array }, want: Float32Array, seed0 = 1): Promise<FuzzReport> {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  const examples: FuzzReport['examples'] = [];
  let deadlines = 0;
  const t0 = performance.now();
  let worker = await startWorker(base);
  let dead = false;
  const ask = (seed: number) => new Promise<CaseResult>((resolve) => {
    const timer = setTimeout(() => {
      cleanup();
      void worker.terminate();
      dead = true;
      resolve({ seed, op: '?', outcome: 'hang', message: `no answer in ${HANG_MS} ms` });
    }, HANG_MS);
    const onMsg = (r: CaseResult) => { cleanup(); resolve(r); };
    const onErr = (e: Error) => { cleanup(); dead = true; resolve({ seed, op: '?', outcome: 'crash', message: e.message }); };
    const onExit = (code: number) => { cleanup(); dead = true; resolve({ seed, op: '?', outcome: 'crash', message: `worker exited (${code})` }); };
    const cleanup = () => { clearTimeout(timer); worker.off('message', onMsg); worker.off('error', onErr); worker.off('exit', onExit); };
    worker.on('message', onMsg);
    worker.on('error', onErr);
    worker.on('exit', onExit);
    worker.postMessage({ format, seed });
  });
  try {
    for (let seed = seed0; seed < seed0 + n; seed++) {
      if (dead) {
        worker = await startWorker(base);
        dead = false;
      }
      let r = await ask(seed);
      if (r.cpuOk) r = await gpuStage(format, r, base, want);
      counts[r.outcome!]++;
      if (r.outcome === 'clean error' && r.message?.includes('did not finish parsing')) deadlines++;
      if (BAD.includes(r.outcome!) && examples.length < 5) examples.push({ seed, op: r.op, outcome: r.outcome!, message: r.message?.slice(0, 300) });
    }
  } finally {
    await worker.terminate();
  }
  return { format, cases: n, counts, examples, deadlines, ms: performance.now() - t0 };
}

export const suite: Suite = {
  name: 'fuzz',
  describe: 'seeded mutations of PNG, JPEG, model.json, shard and .h5 inputs; outcome classes (target: no hang, crash, stack trace, internal message, silently wrong)',
  async run(opts: BenchOptions): Promise<number> {
    const n = opts.quick ? 200 : 2000;
    process.env.CAMLIGHT_H5_TIMEOUT_MS ??= String(H5_TIMEOUT_MS);
    const rt = await init();
    const base = await fuzzBase();
    const m = await loadLayersModel({ source: memoryFiles({ 'model.json': base.modelJson, [base.shardPath]: base.shard }), path: 'model.json' });
    const want = await predict(m, base.x);
    m.dispose();
    const reports: FuzzReport[] = [];
    let bad = 0;
    console.log(`${'format'.padEnd(11)} ${'cases'.padStart(6)} ${OUTCOMES.map((o) => o.padStart(Math.max(6, o.length))).join(' ')}  time`);
    for (const f of FORMATS) {
      const r = await fuzzFormat(f, n, base, want);
      reports.push(r);
      console.log(`${f.padEnd(11)} ${String(r.cases).padStart(6)} ${OUTCOMES.map((o) => String(r.counts[o]).padStart(Math.max(6, o.length))).join(' ')}  ${(r.ms / 1000).toFixed(1)} s`);
      if (r.deadlines) console.log(`  ${r.deadlines} clean error(s) were the .h5 parse deadline (${process.env.CAMLIGHT_H5_TIMEOUT_MS} ms): libhdf5 looped, the worker was terminated`);
      for (const e of r.examples) console.log(`  ${e.outcome}: seed ${e.seed} (${e.op}): ${e.message ?? ''}`);
      bad += BAD.reduce((a, o) => a + r.counts[o], 0);
    }
    const file = writeRun('fuzz', rt.adapterName, reports, { casesPerFormat: n, h5TimeoutMs: Number(process.env.CAMLIGHT_H5_TIMEOUT_MS), watchdogMs: HANG_MS, bad }, deviceAdapterInfo(rt.device));
    console.log(`results written to ${file}`);
    if (bad) console.error(`fuzz: ${bad} case(s) in a bad class (hang, crash, stack trace, internal message, error without file name, silently wrong)`);
    return bad;
  },
};
