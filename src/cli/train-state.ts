// `camlight train`'s folder discipline: --out checked before any work (a new folder, a previous
// run replaced whole with --force, or one continued with --resume), and a checkpoint after every
// epoch that is written as a whole folder and swapped in, so an interrupt leaves one run's state.
import { readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { utf8 } from '../io/files.ts';
import { atomicWrite, checkWritableFolder, nodeFiles, readRegularFile, safeMkdir } from '../io/node-files.ts';
import { saveLayersModel } from '../nn/loaders/save.ts';
import type { Model } from '../nn/model.ts';
import type { OptimizerState } from '../train/optimizers.ts';
import type { EpochRecord } from '../train/trainer.ts';
import { UsageError } from './args.ts';

/** What train-state.json holds: enough to continue the run exactly. */
export interface TrainState {
  /** The command line the run was started with (--resume replays it). */
  argv: string[];
  /** Epochs completed and their records. */
  epochs: EpochRecord[];
  optimizer: { rule: string; iterations: number; acc1: number; acc2: number; slots: number[][] };
  /** The run's CAM history (history.json's `cam` part) so far. */
  cam: unknown;
}

/** Files a `camlight train` folder holds; a folder with other files is not replaced by --force. */
const OURS = new Set(['checkpoint', 'animations', 'history.json', 'report.html', 'compare', 'checkpoint.old']);
const isOurs = (name: string) => OURS.has(name) || name.startsWith('.checkpoint.') || name.startsWith('.camlight-');

/**
 * Makes --out ready before any data is loaded: a new or empty folder is created and probed for
 * writing; a previous run's folder is refused (or, with --force, emptied of that run's files);
 * with --resume the folder must hold a checkpoint.
 * @example
 *   await prepareOut('runs/a', { force: false, resume: false });
 */
export async function prepareOut(out: string, o: { force: boolean; resume: boolean }): Promise<void> {
  const s = await stat(out).catch(() => null);
  if (s && !s.isDirectory()) throw new UsageError(`--out ${out}: exists and is not a folder; choose another path`);
  if (o.resume) {
    if (!s) throw new UsageError(`--resume ${out}: no such folder`);
    await checkWritableFolder(out, '--resume');
    return;
  }
  const names = s ? await readdir(out) : [];
  if (names.length) {
    if (!o.force) {
      throw new UsageError(`--out ${out}: the folder is not empty (a previous run?); continue it with --resume ${out}, replace it with --force, or choose a new folder`);
    }
    const foreign = names.filter((n) => !isOurs(n));
    if (foreign.length) {
      throw new UsageError(`--out ${out}: holds files camlight train did not write (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', …' : ''}); --force replaces only a camlight train folder: choose a new folder`);
    }
    // The previous run goes whole, before anything of the new one is written.
    for (const n of names) await rm(join(out, n), { recursive: true, force: true });
  }
  await checkWritableFolder(out, '--out');
}

/**
 * Writes DIR/checkpoint/ as one unit: model.json and shards, camlight.json (preprocessing and
 * class names, so `camlight cam` explains the model as it was trained), train-state.json and
 * optimizer.bin go to a fresh folder, which then replaces the old checkpoint by two renames.
 * A reader (or --resume) that finds no checkpoint/ takes checkpoint.old/.
 */
export async function writeCheckpoint(dir: string, model: Model, camlightJson: object, state: Omit<TrainState, 'optimizer'>, opt: OptimizerState): Promise<void> {
  await safeMkdir(dir);
  const tmp = join(dir, `.checkpoint.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await safeMkdir(tmp);
  await saveLayersModel(model, nodeFiles(tmp));
  await atomicWrite(join(tmp, 'camlight.json'), JSON.stringify(camlightJson, null, 1));
  // Optimiser slots as one float32 stream, in parameter and slot order (sizes in train-state.json).
  const sizes = opt.slots.map((ps) => ps.map((d) => d.length));
  const total = sizes.flat().reduce((a, b) => a + b, 0);
  const bin = new Float32Array(total);
  let o = 0;
  for (const ps of opt.slots) {
    for (const d of ps) {
      bin.set(d, o);
      o += d.length;
    }
  }
  await atomicWrite(join(tmp, 'optimizer.bin'), new Uint8Array(bin.buffer));
  const full: TrainState = { ...state, optimizer: { rule: opt.rule, iterations: opt.iterations, acc1: opt.acc1, acc2: opt.acc2, slots: sizes } };
  await atomicWrite(join(tmp, 'train-state.json'), JSON.stringify(full));
  const cur = join(dir, 'checkpoint'), old = join(dir, 'checkpoint.old');
  await rm(old, { recursive: true, force: true });
  if (await stat(cur).catch(() => null)) await rename(cur, old);
  await rename(tmp, cur);
  await rm(old, { recursive: true, force: true });
}

/** The checkpoint folder of a run: checkpoint/, or checkpoint.old/ when a swap was interrupted. */
export async function checkpointDir(dir: string): Promise<string | null> {
  for (const n of ['checkpoint', 'checkpoint.old']) {
    if ((await stat(join(dir, n, 'train-state.json')).catch(() => null))?.isFile()) return join(dir, n);
  }
  return null;
}

/**
 * Reads a run's saved state (for --resume): the record, and the optimiser state with its slots.
 * Errors name the file and say what to do.
 */
export async function readTrainState(ckpt: string): Promise<{ state: TrainState; optimizer: OptimizerState }> {
  const where = join(ckpt, 'train-state.json');
  let state: TrainState;
  try {
    state = JSON.parse(utf8(await readRegularFile(where, { maxBytes: 1 << 30 }))) as TrainState;
  } catch (e) {
    throw new UsageError(`--resume: ${where} cannot be read (${(e as Error).message}); the checkpoint is damaged: start again with --force`);
  }
  if (!Array.isArray(state.argv) || !Array.isArray(state.epochs) || !state.optimizer || !Array.isArray(state.optimizer.slots)) {
    throw new UsageError(`--resume: ${where} is not a camlight train state; start again with --force`);
  }
  const bin = await readRegularFile(join(ckpt, 'optimizer.bin'), { maxBytes: 2 ** 34 });
  const total = state.optimizer.slots.flat().reduce((a, b) => a + b, 0);
  if (bin.length !== total * 4) throw new UsageError(`--resume: ${join(ckpt, 'optimizer.bin')} holds ${bin.length} bytes, train-state.json expects ${total * 4}; start again with --force`);
  const all = new Float32Array(bin.slice().buffer);
  let o = 0;
  const slots = state.optimizer.slots.map((ps) => ps.map((n) => all.subarray(o, (o += n))));
  const { rule, iterations, acc1, acc2 } = state.optimizer;
  return { state, optimizer: { rule: rule as OptimizerState['rule'], iterations, acc1, acc2, slots } };
}
