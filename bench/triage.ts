// The triage suite: the shortcut detector as an experiment with controls. The Fashion-MNIST CNN is
// trained with a bright frame planted in every training image of one class (one model per planted
// class, several seeds) and with no frame; the triage of framed test images of the planted class
// (which should be "ugly" wherever the model relies on the frame) and of correctly classified
// images of the clean models (which should not) gives the confusion table. It measures accuracy,
// not time. Budget: CAMLIGHT_BENCH_TRIAGE_{LIMIT,EPOCHS,SEEDS,MODEL} or --quick.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Model } from '../src/nn/model.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload } from '../src/tensor/tensor.ts';
import { fashionCnn } from '../src/nn/zoo/index.ts';
import {
  adam, CamRecorder, classProbs, cueMask, evaluate, injectShortcut, loadFashionMnist, occlusionProbes, silhouetteMask, train, triage,
  TRIAGE_THRESHOLDS, type Dataset, type TriageResult,
} from '../src/train/index.ts';
import type { BenchOptions, Suite } from './index.ts';
import { RESULTS_DIR, loud, printTable } from './table.ts';
import { adapterSlug, deviceAdapterInfo } from './results.ts';

const PLANTED = ['Trouser', 'Sandal', 'Coat', 'Bag'];
/** The issue's targets. */
const TARGET_UGLY_RELIED = 0.9, TARGET_UGLY_CLEAN = 0.05;

interface Settings { limit: number; epochs: number; seeds: number[]; framedPerClass: number; cleanPerClass: number; model: 'fashion-cnn' | 'gap-cnn'; classes: string[] }

function settings(quick: boolean): Settings {
  const env = (k: string) => process.env[`CAMLIGHT_BENCH_TRIAGE_${k}`];
  return {
    limit: Number(env('LIMIT') ?? (quick ? 1000 : 4000)),
    epochs: Number(env('EPOCHS') ?? (quick ? 3 : 4)),
    seeds: (env('SEEDS') ?? (quick ? '1' : '1,2')).split(',').map(Number),
    framedPerClass: quick ? 10 : 40,
    cleanPerClass: quick ? 4 : 12,
    model: (env('MODEL') as Settings['model']) ?? 'gap-cnn',
    classes: env('CLASSES')?.split(',') ?? (quick ? PLANTED.slice(0, 2) : PLANTED),
  };
}

/**
 * conv 8 → pool → conv 16 → pool → conv 16 → global average pool → dense 10 (the shortcut test's
 * model), the faster alternative to fashion-cnn (CAMLIGHT_BENCH_TRIAGE_MODEL=gap-cnn).
 */
async function gapCnn(): Promise<Model> {
  const { Model } = await import('../src/nn/model.ts');
  const conv = (name: string, filters: number, extra = {}) => ({
    class_name: 'Conv2D', config: { name, filters, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, ...extra },
  });
  const pool = (name: string) => ({ class_name: 'MaxPooling2D', config: { name, pool_size: [2, 2], strides: [2, 2], padding: 'valid' } });
  return Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'gap_cnn',
      layers: [conv('c1', 8, { batch_input_shape: [null, 28, 28, 1] }), pool('p1'), conv('c2', 16), pool('p2'), conv('c3', 16),
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax', use_bias: true } }],
    },
  });
}

const PER = 784;
const FRAME = cueMask(28, 28, { kind: 'frame' });
const frameRegion = { mask: FRAME, height: 28, width: 28 };

/** A copy of image i with the frame planted (value 1, as injectShortcut). */
function framed(d: Dataset, i: number): Float32Array {
  const x = d.images.slice(i * PER, (i + 1) * PER);
  for (let j = 0; j < PER; j++) if (FRAME[j]) x[j] = 1;
  return x;
}

interface ImageRow { index: number; trueClass: number; framed: boolean; verdict: string; rule: string; correct: boolean; emptyMap: string | null; n: TriageResult['numbers'] }

interface RunResult {
  arm: string; seed: number; planted: string | null; trainSeconds: number; testAccuracy: number;
  /** For a planted arm: the planted class's clean test images vs the same images framed. */
  reliance: { n: number; cleanAccuracy: number; framedAccuracy: number; cleanP: number; framedP: number; relies: boolean } | null;
  images: ImageRow[];
}

async function oneRun(s: Settings, trainSet: Dataset, test: Dataset, planted: number | null, seed: number): Promise<RunResult> {
  const t0 = performance.now();
  const data = planted === null ? trainSet : injectShortcut(trainSet, { target: planted, kind: 'frame', seed }).data;
  // Tracked: framed images of every class of the experiment, clean images of every class; all with the frame as the cue region.
  const byClass = (c: number) => [...test.labels.keys()].filter((i) => test.labels[i] === c);
  const plantedIdx = s.classes.map((n) => test.classNames.indexOf(n));
  const list: { index: number; framed: boolean }[] = [];
  for (const c of plantedIdx) for (const i of byClass(c).slice(0, s.framedPerClass)) list.push({ index: i, framed: true });
  for (let c = 0; c < 10; c++) for (const i of byClass(c).slice(0, s.cleanPerClass)) list.push({ index: i, framed: false });
  const pixels = new Float32Array(list.length * PER);
  list.forEach((t, k) => pixels.set(t.framed ? framed(test, t.index) : test.images.subarray(t.index * PER, (t.index + 1) * PER), k * PER));
  const display = list.map(() => ({ width: 28, height: 28, data: new Uint8ClampedArray(PER * 4) }));
  const objects = list.map((t) => ({ mask: silhouetteMask(test.images.subarray(t.index * PER, (t.index + 1) * PER), 28, 28), height: 28, width: 28 }));
  const trueClasses = list.map((t) => test.labels[t.index]!);
  const model = s.model === 'gap-cnn' ? await gapCnn() : fashionCnn();
  model.initWeights(seed);
  const inputs = upload(pixels, [list.length, 28, 28, 1]);
  const rec = new CamRecorder({ images: display, inputs, trueClasses, classNames: test.classNames, masks: objects, cues: list.map(() => frameRegion), method: 'gradcam' });
  await rec.record(model, 0);
  await train(model, data, { epochs: s.epochs, batchSize: 32, optimizer: adam({ lr: 3e-3 }), seed, onEpochEnd: rec.onEpochEnd });
  const trainSeconds = (performance.now() - t0) / 1000;
  const probes = await occlusionProbes(model, pixels, [list.length, 28, 28, 1], trueClasses, objects, list.map(() => frameRegion));
  const verdicts = triage(rec.history, { probes });
  const testAccuracy = (await evaluate(model, test)).accuracy;
  let reliance: RunResult['reliance'] = null;
  if (planted !== null) {
    const idx = byClass(planted);
    const clean = new Float32Array(idx.length * PER), fr = new Float32Array(idx.length * PER);
    idx.forEach((i, k) => { clean.set(test.images.subarray(i * PER, (i + 1) * PER), k * PER); fr.set(framed(test, i), k * PER); });
    const stats = async (x: Float32Array) => {
      const p = await classProbs(model, x, [idx.length, 28, 28, 1]);
      let acc = 0, pt = 0;
      idx.forEach((_, k) => {
        const row = p.subarray(k * 10, k * 10 + 10);
        pt += row[planted]!;
        if (row.every((v) => v <= row[planted]!)) acc++;
      });
      return { acc: acc / idx.length, p: pt / idx.length };
    };
    const c = await stats(clean), f = await stats(fr);
    // The issue's definition: clean images of the class misclassified, or losing most of their probability.
    reliance = { n: idx.length, cleanAccuracy: c.acc, framedAccuracy: f.acc, cleanP: c.p, framedP: f.p, relies: c.acc < 0.5 || c.p < 0.5 * f.p };
  }
  inputs.dispose();
  model.dispose();
  return {
    arm: planted === null ? 'clean' : `frame on ${test.classNames[planted]}`, seed, planted: planted === null ? null : test.classNames[planted]!, trainSeconds, testAccuracy, reliance,
    images: list.map((t, k) => ({ index: t.index, trueClass: trueClasses[k]!, framed: t.framed, verdict: verdicts[k]!.verdict, rule: verdicts[k]!.rule, correct: verdicts[k]!.numbers.correct, emptyMap: verdicts[k]!.numbers.emptyMap, n: verdicts[k]!.numbers })),
  };
}

const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)} %` : '–');
const share = (rows: ImageRow[], v: string) => rows.filter((r) => r.verdict === v).length;

/** The confusion table's rows: which images, how many, and their verdict shares. */
function confusion(runs: RunResult[], classes: string[]) {
  const out: { group: string; seeds: string; n: number; good: number; bad: number; ugly: number; unknown: number; relies: string; rules: Record<string, number> }[] = [];
  const add = (group: string, rs: RunResult[], pick: (r: RunResult) => ImageRow[], relies = '') => {
    const rows = rs.flatMap(pick);
    const rules: Record<string, number> = {};
    for (const r of rows) rules[r.rule] = (rules[r.rule] ?? 0) + 1;
    out.push({ group, seeds: rs.map((r) => r.seed).join(','), n: rows.length, good: share(rows, 'good'), bad: share(rows, 'bad'), ugly: share(rows, 'ugly'), unknown: share(rows, 'unknown'), relies, rules });
  };
  for (const name of classes) {
    for (const r of runs.filter((x) => x.planted === name)) {
      const rel = r.reliance!;
      add(`frame on ${name}, seed ${r.seed}: framed ${name} test images`, [r], (x) => x.images.filter((i) => i.framed && i.trueClass === classIndex(name)),
        `${rel.relies ? 'yes' : 'no'} (clean acc ${rel.cleanAccuracy.toFixed(2)}, p ${rel.cleanP.toFixed(2)} vs framed ${rel.framedP.toFixed(2)})`);
    }
  }
  const clean = runs.filter((r) => r.planted === null);
  for (const r of clean) add(`clean model, seed ${r.seed}: correctly classified clean images`, [r], (x) => x.images.filter((i) => !i.framed && i.correct));
  for (const r of clean) add(`clean model, seed ${r.seed}: correctly classified FRAMED images (control)`, [r], (x) => x.images.filter((i) => i.framed && i.correct));
  for (const name of classes) {
    for (const r of runs.filter((x) => x.planted === name)) add(`frame on ${name}, seed ${r.seed}: correct clean images of other classes`, [r], (x) => x.images.filter((i) => !i.framed && i.correct && i.trueClass !== classIndex(name)));
  }
  return out;
}

const classIndex = (name: string) => ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'].indexOf(name);

export const suite: Suite = {
  name: 'triage',
  describe: 'the good/bad/ugly/unknown triage against planted frames and clean controls (accuracy, not time)',
  async run(opts: BenchOptions): Promise<number> {
    const s = settings(opts.quick);
    const rt = await init();
    const adapter = rt.adapterName;
    console.log(`  ${s.model}, ${s.limit} training images × ${s.epochs} epochs, seeds ${s.seeds.join(',')}, planted ${s.classes.join(', ')}; adapter: ${adapter}`);
    const trainSet = await loadFashionMnist({ split: 'train', limit: s.limit });
    const test = await loadFashionMnist({ split: 'test', limit: 2000 });
    const runs: RunResult[] = [];
    const arms: (number | null)[] = [null, ...s.classes.map((n) => test.classNames.indexOf(n))];
    for (const seed of s.seeds) {
      for (const planted of arms) {
        const r = await oneRun(s, trainSet, test, planted, seed);
        runs.push(r);
        const rel = r.reliance ? `; relies on the frame: ${r.reliance.relies ? 'yes' : 'no'} (clean p ${r.reliance.cleanP.toFixed(2)}, framed p ${r.reliance.framedP.toFixed(2)})` : '';
        console.log(`  ${r.arm}, seed ${seed}: ${r.trainSeconds.toFixed(0)} s, test accuracy ${r.testAccuracy.toFixed(3)}${rel}`);
      }
    }
    const table = confusion(runs, s.classes);
    printTable(['images', 'n', 'ugly', 'good', 'unknown', 'bad', 'relies on frame'],
      table.map((t) => [t.group, String(t.n), pct(t.ugly, t.n), pct(t.good, t.n), pct(t.unknown, t.n), pct(t.bad, t.n), t.relies]), ['left', 'right', 'right', 'right', 'right', 'right', 'left']);
    // The targets, over the pooled rows.
    const framedRelied = runs.filter((r) => r.reliance?.relies).flatMap((r) => r.images.filter((i) => i.framed && i.trueClass === classIndex(r.planted!)));
    const cleanCorrect = runs.filter((r) => r.planted === null).flatMap((r) => r.images.filter((i) => !i.framed && i.correct));
    const all = runs.flatMap((r) => r.images);
    const zeroUgly = all.filter((i) => i.emptyMap === 'zero' && i.verdict === 'ugly').length;
    const zeroMaps = all.filter((i) => i.emptyMap === 'zero').length;
    const uglyRelied = share(framedRelied, 'ugly') / Math.max(1, framedRelied.length);
    const uglyClean = share(cleanCorrect, 'ugly') / Math.max(1, cleanCorrect.length);
    let failed = 0;
    const check = (ok: boolean, what: string) => { if (!ok) { failed++; loud(`triage target missed: ${what}`); } else console.log(`  ok: ${what}`); };
    check(framedRelied.length > 0 && uglyRelied >= TARGET_UGLY_RELIED, `${pct(share(framedRelied, 'ugly'), framedRelied.length)} of ${framedRelied.length} framed images of relied-on planted classes called ugly (target ≥ ${100 * TARGET_UGLY_RELIED} %)`);
    check(uglyClean <= TARGET_UGLY_CLEAN, `${pct(share(cleanCorrect, 'ugly'), cleanCorrect.length)} of ${cleanCorrect.length} correctly classified images of clean models called ugly (target ≤ ${100 * TARGET_UGLY_CLEAN} %)`);
    check(zeroUgly === 0, `${zeroUgly} of ${zeroMaps} all-zero maps called ugly (target 0)`);
    const doc = {
      suite: 'triage', date: new Date().toISOString(), adapter, settings: s, thresholds: TRIAGE_THRESHOLDS,
      targets: { uglyRelied: { value: uglyRelied, n: framedRelied.length, target: `>= ${TARGET_UGLY_RELIED}` }, uglyClean: { value: uglyClean, n: cleanCorrect.length, target: `<= ${TARGET_UGLY_CLEAN}` }, zeroMapsUgly: { value: zeroUgly, of: zeroMaps, target: 0 } },
      table,
      // Per image, only the numbers the rules read (the window's maps are not kept).
      runs: runs.map((r) => ({ ...r, images: r.images.map(({ n, ...i }) => ({ ...i, n: round(pick(n)) })) })),
    };
    // One folder per adapter, as every suite (bench/results.ts): runs of two adapters never mix.
    const dir = join(RESULTS_DIR, adapterSlug(adapter, deviceAdapterInfo(rt.device)));
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `triage${opts.quick ? '-quick' : ''}${process.env.CAMLIGHT_BENCH_TRIAGE_TAG ? `-${process.env.CAMLIGHT_BENCH_TRIAGE_TAG}` : ''}.json`);
    writeFileSync(file, JSON.stringify(doc) + '\n');
    console.log(`  → ${resolve(file)}`);
    return failed;
  },
};

const KEPT = ['pFull', 'pNoObject', 'pNoCue', 'pBlank', 'energyInside', 'objectArea', 'objectRatio', 'cueEnergy', 'cueRatio', 'stability'] as const;
const pick = (n: TriageResult['numbers']) => Object.fromEntries(KEPT.map((k) => [k, n[k] === Infinity ? 'Infinity' : n[k]]));

/** Numbers to 4 decimals for the results file. */
function round<T extends object>(o: T): T {
  return JSON.parse(JSON.stringify(o, (_, v) => (typeof v === 'number' && !Number.isInteger(v) ? Math.round(v * 1e4) / 1e4 : v)));
}
