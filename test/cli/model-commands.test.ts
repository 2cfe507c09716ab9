// `camlight convert`, `camlight info <model>` and `camlight --version` in child processes: a
// whole-model .h5 built here converts to a model.json that predicts as the .h5 does, info reports
// the parameter count and the layer `auto` picks, and --version prints package.json's version.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { autoLayer } from '../../src/cam/layer-select.ts';
import { loadH5Model, loadLayersModel } from '../../src/nn/loaders/index.ts';
import { assertClose, gpu } from '../helpers.ts';
import { artifactsOf, functionalModel, h5LayersOf, input, kerasH5, predict } from '../nn/loader-fixtures.ts';

const s = suite('cli/model-commands');
const root = resolve(import.meta.dirname, '../..');
let dir = '';

function camlight(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 240_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n') };
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-modelcmd-'));
  const tm = functionalModel(31);
  writeFileSync(join(dir, 'm.h5'), await kerasH5(h5LayersOf(tm), (await artifactsOf(tm)).modelTopology));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('convert: a whole-model .h5 becomes a layers-format folder that predicts the same', async () => {
  const r = camlight('convert', 'm.h5', 'out');
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /m\.h5 → out\/model\.json/);
  const a = await loadH5Model(join(dir, 'm.h5'));
  const b = await loadLayersModel(join(dir, 'out/model.json'));
  const shape = [2, ...(a.inputShape.slice(1) as number[])];
  const x = input(shape, 5);
  assertClose(await predict(b, x, shape), await predict(a, x, shape), { rtol: 0, atol: 0, what: 'converted vs .h5' });
  a.dispose();
  b.dispose();
});

s('info <model> --json: parameters and the auto layer; errors are one line with exit code 1', async () => {
  const r = camlight('info', 'm.h5', '--json');
  assert.is(r.code, 0, r.stderr);
  const facts = JSON.parse(r.stdout);
  const m = await loadH5Model(join(dir, 'm.h5'));
  assert.is(facts.autoLayer.name, autoLayer(m));
  assert.equal(facts.parameters, m.parameterCount());
  m.dispose();
  const bad = camlight('info', 'missing.json');
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /missing\.json/);
});

s('--version and --help on every command', () => {
  const v = camlight('--version');
  assert.is(v.code, 0);
  assert.ok(v.stdout.startsWith(`camlight ${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version} `), v.stdout);
  for (const c of ['info', 'cam', 'train', 'convert']) {
    const h = camlight(c, '--help');
    assert.is(h.code, 0, `${c} --help: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`usage: camlight ${c}`));
  }
});

s.run();
