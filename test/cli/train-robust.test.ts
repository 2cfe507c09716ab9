// Issue 15 on `camlight train`, in child processes: --out checked before any training, a
// checkpoint (with camlight.json and optimiser state) and history after every epoch, SIGTERM
// leaving a consistent folder, --resume matching an uninterrupted run, --force replacing a run whole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Model } from '../../src/nn/model.ts';
import { loadLayersModel, saveLayersModel } from '../../src/nn/loaders/index.ts';
import { encodePng } from '../../src/io/image.ts';
import { gpu } from '../helpers.ts';

const s = suite('cli/train-robust');
const root = resolve(import.meta.dirname, '../..');
const env = { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' };
let dir = '';

function camlight(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], { cwd: dir, encoding: 'utf8', env, timeout: 300_000 });
  const stderr = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n');
  return { code: r.status, stderr };
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-train-robust-'));
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'tiny',
      layers: [
        { class_name: 'Conv2D', config: { name: 'c1', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, batch_input_shape: [null, 28, 28, 1] } },
        { class_name: 'MaxPooling2D', config: { name: 'p1', pool_size: [2, 2], strides: [2, 2], padding: 'valid' } },
        { class_name: 'Conv2D', config: { name: 'c2', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true } },
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Dense', config: { name: 'out', units: 2, activation: 'softmax', use_bias: true } },
      ],
    },
  });
  m.initWeights(4);
  await saveLayersModel(m, join(dir, 'tiny'));
  m.dispose();
  // Two classes of 12 images: a bright disc or a bright square on noise.
  for (const [cls, inside] of [['disc', (x: number, y: number) => (x - 14) ** 2 + (y - 14) ** 2 < 49], ['square', (x: number, y: number) => Math.abs(x - 14) < 6 && Math.abs(y - 14) < 6]] as const) {
    mkdirSync(join(dir, 'shapes', cls), { recursive: true });
    for (let k = 0; k < 12; k++) {
      const data = new Uint8ClampedArray(28 * 28 * 4);
      for (let i = 0; i < 784; i++) {
        const v = inside(i % 28, Math.floor(i / 28)) ? 220 : ((i * (k + 3) * 37) % 60);
        data.set([v, v, v, 255], 4 * i);
      }
      writeFileSync(join(dir, 'shapes', cls, `${k}.png`), encodePng({ width: 28, height: 28, data }));
    }
  }
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

const RUN = ['--data', 'shapes', '--model', 'tiny/model.json', '--batch', '4', '--track', '2', '--seed', '3'];
const history = (out: string) => JSON.parse(readFileSync(join(dir, out, 'history.json'), 'utf8')) as { epochs: { epoch: number; loss: number; accuracy: number }[] };

s('--out that is a file, or under /proc, fails before any data is loaded or trained', () => {
  writeFileSync(join(dir, 'a-file'), 'x');
  for (const out of ['a-file', '/proc/camlight-train-x']) {
    const r = camlight('train', ...RUN, '--epochs', '1', '--out', out);
    assert.is(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`^camlight train: --out ${out.replace(/[/.-]/g, '\\$&')}: `));
    assert.not.match(r.stderr, /epoch|training and/);
  }
});

s('each epoch leaves a checkpoint with camlight.json; a run resumed after epoch 1 matches an uninterrupted one', async () => {
  const full = camlight('train', ...RUN, '--epochs', '3', '--out', 'full');
  assert.is(full.code, 0, full.stderr);
  const cfg = JSON.parse(readFileSync(join(dir, 'full/checkpoint/camlight.json'), 'utf8'));
  assert.is(cfg.preprocess, 'unit');
  assert.equal(cfg.labels, ['disc', 'square']);
  const part = camlight('train', ...RUN, '--epochs', '1', '--out', 'part');
  assert.is(part.code, 0, part.stderr);
  assert.equal(history('part').epochs.map((e) => e.epoch), [1]);
  const resumed = camlight('train', '--resume', 'part', '--epochs', '3');
  assert.is(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /epoch 2\/3/);
  assert.not.match(resumed.stderr, /epoch 1\/3/, 'epoch 1 is not repeated');
  const a = history('full').epochs, b = history('part').epochs;
  assert.equal(b.map((e) => e.epoch), [1, 2, 3]);
  // Same batches, dropout streams and Adam state: the losses agree to float rounding.
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(a[i]!.loss - b[i]!.loss) <= 1e-5 * Math.max(1, a[i]!.loss), `epoch ${i + 1}: ${a[i]!.loss} vs ${b[i]!.loss}`);
  const state = JSON.parse(readFileSync(join(dir, 'part/checkpoint/train-state.json'), 'utf8'));
  assert.is(state.epochs.length, 3);
  assert.ok(state.optimizer.iterations > 0 && state.optimizer.slots.length > 0, 'Adam state saved');
  // The final weights agree too (the shards hold float32 weights in the same order).
  const shard = (out: string) => {
    const j = JSON.parse(readFileSync(join(dir, out, 'checkpoint/model.json'), 'utf8'));
    return new Float32Array(new Uint8Array(readFileSync(join(dir, out, 'checkpoint', j.weightsManifest[0].paths[0]))).buffer);
  };
  const wa = shard('full'), wb = shard('part');
  assert.is(wa.length, wb.length);
  let worst = 0;
  for (let i = 0; i < wa.length; i++) worst = Math.max(worst, Math.abs(wa[i]! - wb[i]!));
  assert.ok(worst <= 1e-5, `max weight difference ${worst}`);
  // camlight cam on the checkpoint explains it as trained: unit preprocessing and the class names.
  const c = camlight('cam', 'shapes/disc/0.png', '--model', 'full/checkpoint/model.json', '--out', 'cams', '--json');
  assert.is(c.code, 0, c.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'cams/cams.json'), 'utf8'));
  assert.is(doc.preprocess, 'unit');
  assert.ok(['disc', 'square'].includes(doc.images[0].topk[0].label));
  assert.ok(doc.images[0].topk[0].prob < 1, 'not saturated by 0-255 inputs');
});

s('SIGTERM finishes the current step and leaves the last complete epoch; --resume completes the run', async () => {
  const child = spawn(process.execPath, [join(root, 'bin/camlight.js'), 'train', ...RUN, '--epochs', '40', '--out', 'sig'], { cwd: dir, env });
  let err = '';
  let sent = false;
  child.stderr.on('data', (d) => {
    err += String(d);
    if (!sent && /epoch 1\/40 +loss/.test(err)) {
      sent = true;
      child.kill('SIGTERM');
    }
  });
  const code = await new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
  assert.is(code, 143, err);
  assert.match(err, /SIGTERM: finishing the current step/);
  const k = history('sig').epochs.length;
  assert.ok(k >= 1 && k < 40, `${k} epochs`);
  const state = JSON.parse(readFileSync(join(dir, 'sig/checkpoint/train-state.json'), 'utf8'));
  assert.is(state.epochs.length, k, 'checkpoint and history agree');
  assert.match(err, /continue with: camlight train --resume sig/);
  const m = await loadLayersModel(join(dir, 'sig/checkpoint/model.json'));
  m.dispose();
  assert.not.ok(existsSync(join(dir, 'sig/report.html')), 'no report from an unfinished run');
  const r = camlight('train', '--resume', 'sig', '--epochs', String(k + 1));
  assert.is(r.code, 0, r.stderr);
  assert.equal(history('sig').epochs.map((e) => e.epoch), Array.from({ length: k + 1 }, (_, i) => i + 1));
  assert.ok(existsSync(join(dir, 'sig/report.html')));
});

s('a previous run\'s folder is refused; --force replaces it whole; a folder of other files is never replaced', () => {
  mkdirSync(join(dir, 'old/animations'), { recursive: true });
  writeFileSync(join(dir, 'old/history.json'), '{}');
  writeFileSync(join(dir, 'old/animations/stale.png'), 'x');
  const r = camlight('train', ...RUN, '--epochs', '1', '--out', 'old');
  assert.is(r.code, 1);
  assert.match(r.stderr, /--out old: the folder is not empty \(a previous run\?\); continue it with --resume old, replace it with --force/);
  const f = camlight('train', ...RUN, '--epochs', '1', '--out', 'old', '--force');
  assert.is(f.code, 0, f.stderr);
  assert.not.ok(existsSync(join(dir, 'old/animations/stale.png')), 'nothing of the old run is left');
  assert.equal(history('old').epochs.map((e) => e.epoch), [1]);
  mkdirSync(join(dir, 'mine'));
  writeFileSync(join(dir, 'mine/notes.txt'), 'precious');
  const g = camlight('train', ...RUN, '--epochs', '1', '--out', 'mine', '--force');
  assert.is(g.code, 1);
  assert.match(g.stderr, /holds files camlight train did not write \(notes\.txt\)/);
  assert.is(readFileSync(join(dir, 'mine/notes.txt'), 'utf8'), 'precious');
  const none = camlight('train', '--resume', 'mine');
  assert.is(none.code, 1);
  assert.match(none.stderr, /--resume mine: no checkpoint\/train-state\.json there/);
});

s.run();
