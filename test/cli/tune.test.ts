// `camlight tune` (src/cli/tune.ts) on small shapes: every problem gets a choice among its
// candidates, only candidates matching the register-blocked output are kept, the file merges per
// adapter, and Node's tuning hook (src/platform/node-tuning.ts) reads the choices back so that
// planGemm follows them; a bad tuning file is ignored with a warning.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { candidateError, candidates, tune, writeTuning, type TuneShape } from '../../src/cli/tune.ts';
import { nodeGemmTuning } from '../../src/platform/node-tuning.ts';
import type { GemmTuning } from '../../src/kernels/gemm-tiles.ts';
import { gpu } from '../helpers.ts';

const s = suite('cli/tune');
let dir = '';
const saved = process.env.CAMLIGHT_CACHE;
s.before(() => { dir = mkdtempSync(join(tmpdir(), 'camlight-tune-')); process.env.CAMLIGHT_CACHE = dir; });
s.after(() => {
  if (saved === undefined) delete process.env.CAMLIGHT_CACHE; else process.env.CAMLIGHT_CACHE = saved;
  rmSync(dir, { recursive: true, force: true });
});

s('the candidate check: relative to the reference maximum; NaN and length mismatches fail', () => {
  const want = Float32Array.from([1, -4, 2]);
  assert.ok(Math.abs(candidateError(Float32Array.from([1, -4, 2.004]), want) - 0.001) < 1e-6);
  assert.is(candidateError(Float32Array.from([1, NaN, 2]), want), Infinity);
  assert.is(candidateError(Float32Array.from([1, -4]), want), Infinity);
});

s('tunes small shapes, writes per adapter, and the hook reads the choices back', async () => {
  const rt = await gpu();
  const shapes: TuneShape[] = [{ conv: [6, 4, 8] }, { matmul: [1, 16, 40] }];
  const results = await tune(rt, shapes, 1, () => {});
  assert.is(results.length, 4, 'conv2d, dInput, dWeight and matmul each get a choice');
  for (const r of results) {
    const [op, , dims] = r.key.split(':');
    const [batch, M, N, K] = dims!.split('x').map(Number) as [number, number, number, number];
    const cands = candidates(rt, op as 'matmul', { batch, M, N, K }).map((c) => JSON.stringify(c));
    assert.ok(cands.includes(JSON.stringify(r.choice)), `${r.key}: ${JSON.stringify(r.choice)} is not a candidate`);
    assert.ok(typeof r.ms[JSON.stringify(r.choice)] === 'number', `${r.key}: the choice was timed and passed its check`);
    assert.ok(Object.keys(r.ms).length === cands.length, `${r.key}: every candidate was tried`);
  }
  const file = join(dir, 'gemm-tuning.json');
  writeFileSync(file, JSON.stringify({ version: 1, adapters: { 'other adapter': { adapterClass: 'gpu', date: 'x', choices: { k: 'legacy' } } } }));
  await writeTuning(file, rt, results);
  const t = JSON.parse(readFileSync(file, 'utf8')) as GemmTuning;
  assert.ok(t.adapters['other adapter'], 'other adapters are kept');
  const back = nodeGemmTuning(rt.adapterName)!;
  for (const r of results) assert.equal(back[r.key], r.choice);
  writeFileSync(file, '{ not json');
  const warn = console.warn;
  let warned = '';
  console.warn = (m: string) => { warned += m; };
  try {
    assert.is(nodeGemmTuning(rt.adapterName), null);
  } finally {
    console.warn = warn;
  }
  assert.match(warned, /gemm-tuning\.json/);
});

s.run();
