// `camlight train`: trains a classifier while recording the CAMs of a few tracked images after every
// epoch; writes the checkpoint, one APNG per tracked image, history.json and report.html.
import { join } from 'node:path';
import { METHOD_NAMES } from '../cam/methods/index.ts';
import type { CamMethodName } from '../cam/types.ts';
import { atomicWrite, safeMkdir } from '../io/node-files.ts';
import { loadLayersModel } from '../nn/loaders/index.ts';
import type { Model } from '../nn/model.ts';
import { init } from '../tensor/runtime-global.ts';
import { upload, type Tensor } from '../tensor/tensor.ts';
import { renderReport, type ReportAnimation } from '../report/index.ts';
import { animations, sideBySide } from '../report/animation.ts';
import { injectShortcut } from '../train/shortcut.ts';
import { adam } from '../train/optimizers.ts';
import { CamRecorder, historyFromJSON, historyToJSON, type HistoryJson } from '../train/recorder.ts';
import { train, type EpochRecord, type History } from '../train/trainer.ts';
import { triage, type TriageResult } from '../train/triage.ts';
import { occlusionProbes } from '../train/occlusion.ts';
import { cueMask } from '../train/shortcut.ts';
import type { Dataset } from '../train/data.ts';
import { parseArgs, UsageError } from './args.ts';
import { buildModel, loadData, parseShortcut, planData, trackedImages, ZOO_MODELS, type DataPlan, type Tracked } from './train-setup.ts';
import { Progress } from './progress.ts';
import { checkpointDir, prepareOut, readTrainState, writeCheckpoint } from './train-state.ts';

export const TRAIN_USAGE = `usage: camlight train --data fashion-mnist|DIR --model ${ZOO_MODELS.join('|')}|model.json [options]

  --data D             fashion-mnist (/usr/share/datasets/fashion-mnist; evaluated on its test split)
                       or a folder with one sub-folder of PNG/JPEG images per class (20 % held out)
  --model M            fashion-cnn (28×28 grey), vgg19 / inception_v3 (image folders only: 3 channels,
                       at least 32×32 / 75×75; random weights), or a TensorFlow.js model.json
  --freeze LAYER       freeze --model's layers up to and including LAYER (fine-tune a pretrained base)
  --epochs N           default 5
  --batch N            default 32
  --lr X               Adam's learning rate (default 0.001)
  --limit N            use only the first N training images (and at most N evaluation images)
  --shortcut C[:P]     plant a bright frame in class C's training images with probability P (default 1);
                       C is an index or a class name; tracked images of C get the frame too
  --track N|FILES      N test images spread over the classes (default 8), or FILE[=CLASS],… files
  --method NAME        ${METHOD_NAMES.join(' | ')} (default gradcam)
  --compare M2         train a second model on the same data; side-by-side animations
  --size HxW           input size for vgg19 / inception_v3 on an image folder (default 32x32 / 75x75)
  --seed N             shuffling, initial weights and the validation split (default 1)
  --out DIR            default camlight-train; must be new or empty (checked before any work)
  --force              replace a previous run's --out folder whole
  --resume DIR         continue an interrupted run in DIR with its options (optimiser state, epoch count
                       and random streams restored); --epochs N may raise the run's epoch count

Writes DIR/checkpoint/ (TensorFlow.js layers format, with camlight.json: preprocessing and class names)
and DIR/history.json after every epoch, each replaced whole; at the end DIR/animations/*.png (APNG:
the untrained model's frame, epoch 0, then one frame per epoch) and DIR/report.html. Ctrl-C or
SIGTERM finishes the current step and leaves the last complete epoch's checkpoint (exit code 130/143).
Progress goes to stderr: images, images/s and ETA within an epoch (redrawn in place on a terminal),
then one line per epoch.
  --quiet              only the per-epoch lines (no progress within an epoch)`;

function intOpt(name: string, v: string | undefined, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new UsageError(`--${name} ${v}: expected an integer in [${lo}, ${hi}]`);
  return n;
}

/** One trained model and its CAM history. */
interface Run {
  spec: string;
  model: Model;
  history: History;
  recorder: CamRecorder;
  verdicts: TriageResult[];
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** A run's folder state to continue from (--resume): records so far and the optimiser's state. */
interface Resume {
  epochs: EpochRecord[];
  cam: HistoryJson;
  optimizer: Awaited<ReturnType<typeof readTrainState>>['optimizer'];
}

/** Stops training at the next step once set (SIGINT/SIGTERM). */
const stop = { signal: null as NodeJS.Signals | null };

async function trainOne(spec: string, label: string, model: Model, data: Dataset, test: Dataset, tracked: Tracked, inputs: Tensor, o: {
  epochs: number; batch: number; lr: number; seed: number; method: CamMethodName; freeze?: string; out: string; argv: string[];
  plan: DataPlan; resume: Resume | null; quiet: boolean;
}): Promise<Run> {
  // Within an epoch: images done (steps × batch, the last batch may be smaller), rate and ETA.
  const n = data.labels.length;
  const progress = new Progress({ label: `${label}epoch 1/${o.epochs}`, total: n, unit: 'images', out: o.quiet ? null : process.stderr });
  let progressEpoch = 0;
  const recorder = new CamRecorder({
    images: tracked.display, inputs, trueClasses: tracked.trueClasses, classNames: data.classNames, method: o.method, masks: tracked.masks, names: tracked.names,
    cues: tracked.cue.map((planted) => (planted ? cueMask(inputs.shape[1]!, inputs.shape[2]!, { kind: 'frame' }) : null)),
  });
  const before: EpochRecord[] = o.resume?.epochs ?? [];
  if (o.resume) {
    const h = historyFromJSON(o.resume.cam, tracked.display);
    recorder.history.layer = h.layer;
    recorder.history.epochs.push(...h.epochs);
  } else await recorder.record(model, 0);
  // camlight.json beside the checkpoint: `camlight cam` then prepares inputs as training did.
  const camlightJson = { preprocess: o.plan.preprocess, labels: o.plan.classNames, inputSize: [o.plan.shape[0], o.plan.shape[1]], description: `trained by camlight train ${o.argv.join(' ')}` };
  const history = await train(model, data, {
    epochs: o.epochs, batchSize: o.batch, optimizer: adam({ lr: o.lr }), validation: test, seed: o.seed, freezeUpTo: o.freeze,
    resume: o.resume ? { epochsDone: before.length, optimizerState: o.resume.optimizer } : undefined,
    shouldStop: () => stop.signal !== null,
    onStep: (st) => {
      if (st.epoch !== progressEpoch) {
        progressEpoch = st.epoch;
        progress.restart(n, `${label}epoch ${st.epoch}/${o.epochs}`);
      }
      progress.update(Math.min(n, (st.step + 1) * o.batch));
    },
    onEpochEnd: async (e) => {
      progress.clear();
      await recorder.onEpochEnd(e);
      const camMs = recorder.history.epochs.at(-1)!.ms;
      const val = e.valLoss === undefined ? '' : `  val_loss ${e.valLoss.toFixed(4)}  val_accuracy ${e.valAccuracy!.toFixed(4)}`;
      const bad = !Number.isFinite(e.loss) ? '  (warning: the loss is not finite: lower --lr)' : '';
      console.error(`${label}epoch ${e.epoch}/${o.epochs}  loss ${e.loss.toFixed(4)}  accuracy ${e.accuracy.toFixed(4)}${val}  time ${secs(e.ms)} (+ cams ${secs(camMs)})${bad}`);
      // The checkpoint, its optimiser state and the history so far, as one folder swapped in.
      const cam = historyToJSON(recorder.history);
      await writeCheckpoint(o.out, e.model, camlightJson, { argv: o.argv, epochs: [...before, ...e.history.epochs], cam }, await e.optimizerState());
      await atomicWrite(join(o.out, 'history.json'), JSON.stringify({ model: spec, epochs: [...before, ...e.history.epochs], cam }, null, 1));
    },
  });
  history.epochs = [...before, ...history.epochs];
  // The triage's causal check: the final model on each tracked image with its object / cue / both filled with the background.
  const t = recorder.history.tracked;
  const probes = await occlusionProbes(model, tracked.inputs, inputs.shape as [number, number, number, number], tracked.trueClasses, t.map((x) => x.region), t.map((x) => x.cue ?? null));
  return { spec, model, history, recorder, verdicts: triage(recorder.history, { probes }) };
}

/** history.json: the run's settings, the per-epoch curves and, per tracked image, its records and triage. */
function historyDoc(run: Run, tracked: Tracked) {
  const cam = historyToJSON(run.recorder.history);
  return {
    model: run.spec,
    epochs: run.history.epochs,
    trainable: run.history.trainable,
    ...(run.history.frozenUpTo ? { frozenUpTo: run.history.frozenUpTo, cachedFeatures: run.history.cachedFeatures } : {}),
    cam: {
      ...cam,
      images: cam.images.map((im, i) => ({ ...im, cue: tracked.cue[i]!, triage: run.verdicts[i]! })),
    },
  };
}

/**
 * Runs `camlight train`; resolves to the exit code.
 * @example
 *   await trainCommand(['--data', 'fashion-mnist', '--model', 'fashion-cnn', '--epochs', '5', '--shortcut', 'Trouser']);
 */
export async function trainCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  stop.signal = null;
  const VALUED = ['data', 'model', 'freeze', 'epochs', 'batch', 'lr', 'limit', 'shortcut', 'track', 'method', 'compare', 'size', 'seed', 'out', 'resume'];
  const given = parseArgs(argv, VALUED, ['force', 'quiet']);
  if (given.positional.length) throw new UsageError(`unexpected argument '${given.positional[0]}'; see --help`);
  // --resume DIR replays the run's own command line (only --epochs may change) into DIR.
  const resumeDir = given.values.get('resume');
  let runArgv = argv;
  let saved: Awaited<ReturnType<typeof readTrainState>> | null = null;
  if (resumeDir !== undefined) {
    const other = [...given.values.keys(), ...given.flags].filter((k) => k !== 'resume' && k !== 'epochs' && k !== 'quiet');
    if (other.length) throw new UsageError(`--resume continues a run with its own options; only --epochs may be given with it (not --${other[0]})`);
    const ckpt = await checkpointDir(resumeDir);
    if (!ckpt) throw new UsageError(`--resume ${resumeDir}: no checkpoint/train-state.json there (no epoch was completed, or not a camlight train folder); start the run again`);
    saved = await readTrainState(ckpt);
    const keep = saved.state.argv.filter((x, i, all) => x !== '--out' && x !== '--force' && !x.startsWith('--out=') && all[i - 1] !== '--out');
    runArgv = [...keep, '--out', resumeDir, ...(given.values.has('epochs') ? ['--epochs', given.values.get('epochs')!] : []),
      ...(given.flags.has('quiet') && !keep.includes('--quiet') ? ['--quiet'] : [])];
  }
  const a = parseArgs(runArgv, VALUED, ['force', 'quiet']);
  const data = a.values.get('data');
  if (!data) throw new UsageError('--data is required (fashion-mnist or a folder of class folders); see --help');
  const spec = a.values.get('model');
  if (!spec) throw new UsageError(`--model is required (${ZOO_MODELS.join(', ')} or a model.json); see --help`);
  const compare = a.values.get('compare');
  const epochs = intOpt('epochs', a.values.get('epochs'), 1, 10000, 5);
  const batch = intOpt('batch', a.values.get('batch'), 1, 4096, 32);
  const seed = intOpt('seed', a.values.get('seed'), 0, 2 ** 31 - 1, 1);
  const limit = a.values.has('limit') ? intOpt('limit', a.values.get('limit'), 1, 1e9, 0) : undefined;
  const lrText = a.values.get('lr');
  const lr = lrText === undefined ? 1e-3 : Number(lrText);
  if (!(lr > 0 && lr < 10)) throw new UsageError(`--lr ${lrText}: expected a positive number`);
  const method = (a.values.get('method') ?? 'gradcam') as CamMethodName;
  if (!METHOD_NAMES.includes(method)) throw new UsageError(`--method ${method}: use one of ${METHOD_NAMES.join(', ')}`);
  const sizeText = a.values.get('size');
  let size: [number, number] | null = null;
  if (sizeText !== undefined) {
    const m = /^(\d+)x(\d+)$/i.exec(sizeText);
    if (!m) throw new UsageError(`--size ${sizeText}: expected HxW, e.g. 75x75`);
    size = [Number(m[1]), Number(m[2])];
  }
  const out = a.values.get('out') ?? 'camlight-train';
  const freeze = a.values.get('freeze');
  if (saved && epochs < saved.state.epochs.length) throw new UsageError(`--epochs ${epochs}: the run in ${out} has already done ${saved.state.epochs.length}`);
  // --out first: a run is never thrown away because its folder turns out unusable at the end.
  await prepareOut(out, { force: a.flags.has('force'), resume: saved !== null });
  const baseArgv = saved ? saved.state.argv : argv.filter((x) => x !== '--force');

  await init();
  const specs = compare ? [spec, compare] : [spec];
  const { plan, loaded } = await planData(data, specs, size);
  const shortcut = a.values.has('shortcut') ? parseShortcut(a.values.get('shortcut')!, plan.classNames) : null;
  const models = specs.map((s, k) => buildModel(s, plan, loaded, seed, k ? '--compare' : '--model'));
  const m0 = models[0]!;
  if (freeze && !m0.layers.some((l) => l.name === freeze)) {
    throw new UsageError(`--freeze ${freeze}: model '${m0.name}' has no such layer (layers: ${m0.layers.slice(0, 8).map((l) => l.name).join(', ')}${m0.layers.length > 8 ? ', …' : ''})`);
  }
  const t0 = performance.now();
  const sets = await loadData(plan, limit, seed);
  let trainSet = sets.train;
  let planted = 0;
  if (shortcut) {
    const r = injectShortcut(trainSet, { target: shortcut.target, probability: shortcut.probability, kind: 'frame', seed });
    trainSet = r.data;
    planted = r.modified.length;
  }
  const tracked = await trackedImages(plan, sets.test, a.values.get('track') ?? '8', shortcut ? { target: shortcut.target, kind: 'frame' } : null);
  const [h, w, c] = plan.shape;
  const inputs = upload(tracked.inputs, [tracked.names.length, h, w, c]);
  console.error(`camlight train: ${trainSet.labels.length} training and ${sets.test.labels.length} evaluation images (${h}×${w}×${c}, ${plan.classNames.length} classes)` +
    `${shortcut ? `; cue planted in ${planted} '${plan.classNames[shortcut.target]}' training images` : ''}; tracking ${tracked.names.length}; loaded in ${secs(performance.now() - t0)}`);

  const runs: Run[] = [];
  const onSignal = (sig: NodeJS.Signals) => {
    if (stop.signal) process.exit(sig === 'SIGINT' ? 130 : 143);
    stop.signal = sig;
    console.error(`camlight train: ${sig}: finishing the current step; the last complete epoch's checkpoint stays in ${out}/ (again to quit at once)`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    for (const [k, s] of specs.entries()) {
      const dir = k ? join(out, 'compare') : out;
      let model = models[k]!;
      let resume: Resume | null = null;
      const ckpt = saved ? await checkpointDir(dir) : null;
      if (ckpt) {
        const st = k === 0 ? saved! : await readTrainState(ckpt);
        model.dispose();
        model = await loadLayersModel(join(ckpt, 'model.json'));
        models[k] = model;
        resume = { epochs: st.state.epochs, cam: st.state.cam as HistoryJson, optimizer: st.optimizer };
      }
      runs.push(await trainOne(s, compare ? `[${s}] ` : '', model, trainSet, sets.test, tracked, inputs, {
        epochs, batch, lr, seed, method, freeze: k ? undefined : freeze, out: dir, argv: baseArgv, plan, resume, quiet: a.flags.has('quiet'),
      }));
      if (stop.signal) break;
    }
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (stop.signal) {
    const done = runs.at(-1)?.history.epochs.length ?? 0;
    console.error(`camlight train: interrupted after ${done} complete epoch(s); ${done ? `continue with: camlight train --resume ${out}` : 'nothing was saved'}`);
    inputs.dispose();
    for (const m of models) m.dispose();
    return stop.signal === 'SIGINT' ? 130 : 143;
  }

  const animDir = join(out, 'animations');
  await safeMkdir(animDir);
  const main = runs[0]!;
  const pngs = await animations(main.recorder.history);
  const anims: ReportAnimation[] = [];
  for (const [i, png] of pngs.entries()) {
    const name = tracked.names[i]!;
    await atomicWrite(join(animDir, `${name}.png`), png);
    anims.push({ name, png, trueLabel: plan.classNames[tracked.trueClasses[i]!], triage: main.verdicts[i]!, ...(tracked.cue[i] ? { caption: 'cue planted' } : {}) });
  }
  const comparisons: ReportAnimation[] = [];
  if (runs[1]) {
    const both = await sideBySide(main.recorder.history, runs[1].recorder.history, [spec, runs[1].spec]);
    for (const [i, png] of both.entries()) {
      const name = `${tracked.names[i]!}.compare`;
      await atomicWrite(join(animDir, `${name}.png`), png);
      comparisons.push({ name, png, trueLabel: plan.classNames[tracked.trueClasses[i]!], caption: `${spec} (left) vs ${runs[1].spec} (right); ${runs[1].spec}: ${runs[1].verdicts[i]!.verdict}` });
    }
  }
  const config = {
    command: `camlight train ${baseArgv.join(' ')}`, data, model: spec, ...(compare ? { compare } : {}), ...(freeze ? { freeze } : {}),
    epochs, batch, optimizer: `adam (lr ${lr})`, limit: limit ?? 'none', seed, method,
    shortcut: shortcut ? { class: shortcut.target, label: plan.classNames[shortcut.target], probability: shortcut.probability, kind: 'frame', planted } : 'none',
    trainImages: trainSet.labels.length, evalImages: sets.test.labels.length, inputShape: plan.shape, classes: plan.classNames,
  };
  const doc = { config, ...historyDoc(main, tracked), ...(runs[1] ? { compare: historyDoc(runs[1], tracked) } : {}) };
  await atomicWrite(join(out, 'history.json'), JSON.stringify(doc, null, 1));
  const recordMs = main.recorder.history.epochs.slice(1).map((e) => e.ms);
  const epochMs = main.history.epochs.map((e) => e.ms);
  const notes = [
    `${spec} on ${data}: ${trainSet.labels.length} training images, ${epochs} epoch(s). Frame 0 of each animation is the untrained model.`,
    `Recording the CAMs of ${tracked.names.length} images took ${secs(recordMs.reduce((x, y) => x + y, 0))} over ${recordMs.length} epochs, ` +
      `${(100 * recordMs.reduce((x, y) => x + y, 0) / Math.max(1, epochMs.reduce((x, y) => x + y, 0))).toFixed(1)} % of the epochs' time.`,
  ];
  await atomicWrite(join(out, 'report.html'), renderReport({
    title: `camlight train: ${spec} on ${data}`, config, curves: main.history.epochs, animations: anims, comparisons, notes,
  }));
  inputs.dispose();
  for (const m of models) m.dispose();
  const counts = ['good', 'bad', 'ugly', 'unknown'].map((v) => `${main.verdicts.filter((t) => t.verdict === v).length} ${v}`).join(', ');
  console.error(`camlight train: done in ${secs(performance.now() - t0)}; triage ${counts} → ${out}/ (checkpoint/, animations/, history.json, report.html)`);
  return 0;
}
