// Sharded `camlight cam` runs (src/cli/shard.ts) and `camlight merge` (src/cli/merge.ts): the split
// is a partition that does not depend on the list's order; 3 shards run as 3 processes on 9
// images with the committed Fashion-MNIST CNN, merged, equal a single run (cams.json number for
// number, overlays byte for byte); missing, doubled and disagreeing shards are refused by name.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, cpSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { assignShard, parseShard, shardOfKey } from '../../src/cli/shard.ts';
import { encodePng } from '../../src/io/image.ts';

const s = suite('cli/shard');
const root = resolve(import.meta.dirname, '../..');
const MODEL = join(root, 'weights/fashion-mnist-cnn/model.json');
let dir = '';

/** Runs the CLI (asynchronously, so shards can run side by side); stderr via a file as from a shell. */
async function camlight(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const errFile = join(dir, `.stderr-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(errFile, 'w');
  const child = spawn(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
    cwd: dir, stdio: ['ignore', 'pipe', fd], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', CAMLIGHT_DEBUG: '' },
  });
  closeSync(fd);
  let stdout = '';
  child.stdout!.on('data', (d) => (stdout += String(d)));
  const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const stderr = readFileSync(errFile, 'utf8').trimEnd();
  rmSync(errFile, { force: true });
  return { code, stdout, stderr };
}

const files = Array.from({ length: 9 }, (_, k) => `in/item-${k}.png`);

s.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'camlight-shard-'));
  mkdirSync(join(dir, 'in'));
  files.forEach((f, k) => {
    const data = new Uint8ClampedArray(28 * 28 * 4);
    for (let i = 0; i < 28 * 28; i++) {
      const v = Math.round(127.5 + 127.5 * Math.sin((i % 28) * (0.2 + 0.05 * k) + Math.floor(i / 28) * 0.11 * k));
      data.set([v, v, v, 255], 4 * i);
    }
    writeFileSync(join(dir, f), encodePng({ width: 28, height: 28, data }));
  });
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('the split: a partition of the inputs, the same whatever the order of the list; --shard is checked', () => {
  const list = Array.from({ length: 300 }, (_, k) => `photos/sub${k % 3}/p${k}.jpg`);
  const parts = [0, 1, 2].map((index) => assignShard(list, { index, count: 3 }));
  const keys = parts.flatMap((p) => p.map((x) => x.key)).sort();
  assert.equal(keys, list.map((f) => f.slice('photos/'.length)).sort(), 'each input in exactly one shard');
  for (const p of parts) assert.ok(p.length > 60 && p.length < 140, `balanced enough: ${parts.map((q) => q.length)}`);
  const shuffled = [...list].reverse();
  for (const index of [0, 1, 2]) {
    const again = assignShard(shuffled, { index, count: 3 });
    assert.equal(again.map((x) => x.key).sort(), parts[index]!.map((x) => x.key).sort(), `shard ${index} is the same for the reversed list`);
    assert.ok(again.every((x) => shuffled[x.position] === x.file), 'positions index the given list');
  }
  assert.is(shardOfKey('a.png', 1), 0);
  assert.equal(parseShard('2/3'), { index: 2, count: 3 });
  assert.throws(() => parseShard('3/3'), /--shard 3\/3: I counts from 0/);
  assert.throws(() => parseShard('1/0'), /--shard 1\/0: N must be/);
  assert.throws(() => parseShard('one'), /--shard one: expected I\/N/);
});

s('3 shards as 3 processes, merged, equal one run: cams.json number for number, overlays byte for byte', async () => {
  const common = ['in', '--model', MODEL, '--target', 'top2', '--batch', '4', '--quiet'];
  const [single, ...shards] = await Promise.all([
    camlight('cam', ...common, '--out', 'single'),
    ...[0, 1, 2].map((i) => camlight('cam', ...common, '--shard', `${i}/3`, '--out', `part${i}`)),
  ]);
  assert.is(single!.code, 0, single!.stderr);
  shards.forEach((r, i) => assert.is(r.code, 0, `shard ${i}: ${r.stderr}`));
  const counts = [0, 1, 2].map((i) => JSON.parse(readFileSync(join(dir, `part${i}/cams.json`), 'utf8')).shard.assigned.length);
  assert.is(counts.reduce((x, y) => x + y, 0), 9);
  assert.ok(counts.filter((c) => c > 0).length >= 2, `the 9 images are spread over the shards: ${counts}`);
  const p1 = JSON.parse(readFileSync(join(dir, 'part1/cams.json'), 'utf8'));
  assert.equal({ index: p1.shard.index, count: p1.shard.count, inputs: p1.shard.inputs }, { index: 1, count: 3, inputs: 9 });

  // Given in another order than the shards' index.
  const m = await camlight('merge', 'part2', 'part0', 'part1', '--out', 'merged', '--json');
  assert.is(m.code, 0, m.stderr);
  const merged = JSON.parse(readFileSync(join(dir, 'merged/cams.json'), 'utf8'));
  assert.equal(JSON.parse(m.stdout), merged, '--json prints the merged cams.json');
  assert.equal(merged.merged, { shards: 3, inputs: 9, from: ['part0', 'part1', 'part2'] });
  const one = JSON.parse(readFileSync(join(dir, 'single/cams.json'), 'utf8'));
  delete merged.merged;
  assert.is(one.images.length, 18, 'two targets per image');
  assert.equal(merged, one, 'the merged cams.json is the single run\'s');
  const pngs = (d: string) => readdirSync(join(dir, d)).filter((f) => f.endsWith('.cam.png')).sort();
  assert.equal(pngs('merged'), pngs('single'));
  for (const f of pngs('single')) assert.ok(readFileSync(join(dir, 'merged', f)).equals(readFileSync(join(dir, 'single', f))), `${f} identical`);
  // The gallery's input copies travel too, and the merged folder has its gallery page.
  assert.equal(readdirSync(join(dir, 'merged/originals')).sort(), readdirSync(join(dir, 'single/originals')).sort());
  assert.match(readFileSync(join(dir, 'merged/index.html'), 'utf8'), /item-8/);
});

s('merge refuses, naming the shard: a missing shard, one given twice, an image in two shards or in none, other options, an interrupted one', async () => {
  // Variants of the parts above, edited as a mistaken or mismatched run would have left them.
  const variant = (from: string, to: string, edit: (doc: any) => void) => {
    cpSync(join(dir, from), join(dir, to), { recursive: true });
    const doc = JSON.parse(readFileSync(join(dir, to, 'cams.json'), 'utf8'));
    edit(doc);
    writeFileSync(join(dir, to, 'cams.json'), JSON.stringify(doc));
  };
  const moved = [0, 1, 2].find((i) => JSON.parse(readFileSync(join(dir, `part${i}/cams.json`), 'utf8')).shard.assigned.length > 0)!;
  const other = (moved + 1) % 3;
  const stolen = JSON.parse(readFileSync(join(dir, `part${moved}/cams.json`), 'utf8')).shard.assigned[0];
  variant(`part${other}`, 'doubled', (d) => d.shard.assigned.push(stolen));
  variant(`part${moved}`, 'short', (d) => (d.shard.assigned = d.shard.assigned.filter((x: { key: string }) => x.key !== stolen.key)));
  variant('part1', 'viridis', (d) => (d.shard.options.colormap = 'viridis'));
  variant('part1', 'cut', (d) => (d.interrupted = { signal: 'SIGINT', inputsDone: 0, inputs: d.shard.assigned.length }));
  const parts = (swap: Record<number, string>) => [0, 1, 2].map((i) => swap[i] ?? `part${i}`);
  const cases: [string[], RegExp][] = [
    [['part0', 'part2'], /shard 1\/3 missing: give the --out folders of all 3 shards/],
    [['part0', 'part1', 'part2', 'part1'], /shard 1\/3 is given twice: part1 and part1/],
    [parts({ [other]: 'doubled' }), new RegExp(`input ${stolen.key.replace('.', '\\.')} is in two shards, shard ${moved}/3 \\(part${moved}\\) and shard ${other}/3 \\(doubled\\)|input ${stolen.key.replace('.', '\\.')} is in two shards, shard ${other}/3 \\(doubled\\) and shard ${moved}/3 \\(part${moved}\\)`)],
    [parts({ [moved]: 'short' }), /short\/cams\.json: .* is listed but was not assigned to shard|1 of the run's 9 inputs are in no shard/],
    [parts({ 1: 'viridis' }), /shard 1\/3 \(viridis\) differs from shard 0\/3 \(part0\) in --colormap \(viridis vs not given\)/],
    [parts({ 1: 'cut' }), /shard 1\/3 \(cut\) was interrupted \(SIGINT\)/],
    [['in'], /in\/cams\.json: no such file/],
  ];
  for (const [dirs, re] of cases) {
    const r = await camlight('merge', ...dirs, '--out', 'bad');
    assert.is(r.code, 1, `${dirs.join(' ')}: ${r.stderr}`);
    assert.is(r.stderr.split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  }
});

s.run();
