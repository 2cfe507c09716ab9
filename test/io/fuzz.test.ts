// A few hundred seeded fuzz cases per input format, in process (the bench runs 2,000 each with a
// hang watchdog: `npm run bench -- fuzz`): no case may end in a JavaScript-internal message, a
// stack trace, an error that names no file, or a silently wrong result.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { memoryFiles } from '../../src/io/files.ts';
import { loadLayersModel } from '../../src/nn/loaders/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { BAD, fuzzBase, gpuStage, H5_TIMEOUT_MS } from '../../bench/fuzz.ts';
import { classifyError, runCase, type Format, type Outcome } from '../../bench/fuzz-worker.ts';
import { gpu } from '../helpers.ts';

const s = suite('io/fuzz');
let base: Awaited<ReturnType<typeof fuzzBase>>;
let want: Float32Array;

let savedH5Timeout: string | undefined;
s.before(async () => {
  // .h5 files the deadline stops (libhdf5 looping) end as clean errors in 3 s, not the 60 s default.
  savedH5Timeout = process.env.CAMLIGHT_H5_TIMEOUT_MS;
  process.env.CAMLIGHT_H5_TIMEOUT_MS = String(H5_TIMEOUT_MS);
  await gpu();
  base = await fuzzBase();
  const m = await loadLayersModel({ source: memoryFiles({ 'model.json': base.modelJson, [base.shardPath]: base.shard }), path: 'model.json' });
  const x = upload(base.x, [1, 9, 9, 3]);
  const { output } = m.run(x);
  want = await output.data();
  for (const t of [x, output]) t.dispose();
  m.dispose();
});

s.after(() => {
  if (savedH5Timeout === undefined) delete process.env.CAMLIGHT_H5_TIMEOUT_MS;
  else process.env.CAMLIGHT_H5_TIMEOUT_MS = savedH5Timeout;
});

s('control: the classifier flags JavaScript errors, stack traces and errors naming no file', () => {
  assert.is(classifyError(new TypeError("Cannot read properties of undefined (reading 'shape')"), ['a.png']).outcome, 'internal message');
  assert.is(classifyError(new Error('a.png: e.shape.reduce is not a function'), ['a.png']).outcome, 'internal message');
  assert.is(classifyError(new Error('a.png: bad\n    at foo (x.ts:1:1)'), ['a.png']).outcome, 'stack trace');
  assert.is(classifyError(new Error('layer c1: bad'), ['a.png']).outcome, 'error without file name');
  assert.is(classifyError(new Error('a.png: corrupt PNG (no IEND chunk)'), ['a.png']).outcome, 'clean error');
});

async function fuzz(format: Format, n: number, seed0: number): Promise<{ counts: Record<string, number>; deadline: number[] }> {
  const counts: Record<string, number> = {};
  const bad: string[] = [];
  const deadline: number[] = [];
  for (let seed = seed0; seed < seed0 + n; seed++) {
    let r = await runCase(format, seed, base);
    if (r.cpuOk) r = await gpuStage(format, r, base, want);
    counts[r.outcome!] = (counts[r.outcome!] ?? 0) + 1;
    if (r.outcome === 'clean error' && r.message?.includes('did not finish parsing')) deadline.push(seed);
    if (BAD.includes(r.outcome as Outcome)) bad.push(`seed ${seed} (${r.op}): ${r.outcome}: ${r.message}`);
  }
  assert.equal(bad, [], `${format}: ${bad.slice(0, 3).join(' | ')}`);
  // The mutations reach both sides: some inputs are refused, some still read.
  assert.ok((counts['clean error'] ?? 0) > 0 && (counts['accepted, same output'] ?? 0) + (counts['accepted, output changed'] ?? 0) > 0, JSON.stringify(counts));
  return { counts, deadline };
}

for (const [format, n] of [['png', 300], ['jpeg', 300], ['model.json', 300], ['shard', 300]] as const) {
  s(`${n} seeded ${format} mutations: clean errors or correct reads only`, async () => {
    await fuzz(format, n, 5001);
  });
}

// .h5 files are parsed by libhdf5 (h5wasm), which loops on a few mutated files (seeds 71 and 128
// are two of them); Node parses them in a worker thread with a deadline (src/platform/node-h5.ts),
// so seeds 1–300 run here and those two end as clean errors naming the file.
s('300 seeded .h5 mutations (seeds 71 and 128 loop libhdf5): clean errors or correct reads only', async () => {
  const { deadline } = await fuzz('h5', 300, 1);
  assert.ok(deadline.includes(71) && deadline.includes(128), `seeds stopped at the deadline: ${deadline.join(', ') || 'none'}`);
});

s.run();
