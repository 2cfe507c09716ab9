// Node parses Keras .h5 files in a worker thread with a deadline (src/platform/node-h5.ts):
// the three mutated files the fuzz bench found libhdf5 looping on (seeds 71, 128, 659) now end
// in a one-line error naming the file once the deadline passes, and a valid file reads exactly
// as it does in the calling thread, before and after a worker was terminated.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fuzzBaseH5 } from '../../bench/fuzz.ts';
import { h5Mutation } from '../../bench/fuzz-worker.ts';
import { ModelLoadError } from '../../src/nn/loaders/errors.ts';
import { readH5, readH5InThread, type H5Contents } from '../../src/nn/loaders/h5.ts';
import { DEFAULT_H5_TIMEOUT_MS, h5TimeoutMs } from '../../src/platform/node-h5.ts';
import { platform } from '../../src/platform/hooks.ts';

const s = suite('platform/node-h5');
const DEADLINE_MS = 2000;
let base: Uint8Array;
let saved: string | undefined;
let tmp = '';

s.before(async () => {
  base = await fuzzBaseH5();
  saved = process.env.CAMLIGHT_H5_TIMEOUT_MS;
  process.env.CAMLIGHT_H5_TIMEOUT_MS = String(DEADLINE_MS);
  tmp = await mkdtemp(join(tmpdir(), 'camlight-node-h5-'));
});
s.after(async () => {
  if (saved === undefined) delete process.env.CAMLIGHT_H5_TIMEOUT_MS;
  else process.env.CAMLIGHT_H5_TIMEOUT_MS = saved;
  await rm(tmp, { recursive: true, force: true });
});

/** Runs `fn` under another deadline (valid files get the default: a loaded machine may take seconds). */
async function withDeadline<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  process.env.CAMLIGHT_H5_TIMEOUT_MS = String(ms);
  try {
    return await fn();
  } finally {
    process.env.CAMLIGHT_H5_TIMEOUT_MS = String(DEADLINE_MS);
  }
}

/** Every field of two parses, weights bit for bit. */
function assertSame(got: H5Contents, want: H5Contents): void {
  assert.is(got.kind, want.kind);
  assert.equal(got.modelConfig, want.modelConfig);
  assert.is(got.kerasVersion, want.kerasVersion);
  assert.equal(got.layers.map((l) => [l.name, l.weights.map((w) => [w.name, w.short, w.shape])]), want.layers.map((l) => [l.name, l.weights.map((w) => [w.name, w.short, w.shape])]));
  got.layers.forEach((l, i) => l.weights.forEach((w, j) => {
    const v = want.layers[i]!.weights[j]!.data;
    assert.ok(w.data instanceof Float32Array && w.data.length === v.length && w.data.every((x, k) => Object.is(x, v[k])), `${l.name}/${w.name} differs`);
  }));
}

s('Node routes .h5 parsing through the worker hook (control for the tests below)', () => {
  assert.type(platform().readH5, 'function');
  assert.is(h5TimeoutMs(), DEADLINE_MS);
});

s('a valid .h5 reads identically through the worker and in this thread', async () => {
  const want = await readH5InThread(base.slice(), 'base.h5');
  assert.ok(want.layers.some((l) => l.weights.length > 0), 'the fixture has weights');
  const bytes = base.slice();
  assertSame(await withDeadline(DEFAULT_H5_TIMEOUT_MS, () => readH5(bytes, 'base.h5')), want);
  assert.equal(bytes, base, 'the caller keeps its bytes');
});

for (const seed of [71, 128, 659]) {
  s(`fuzz seed ${seed}: libhdf5 loops on the file; the worker is stopped at the deadline with a one-line error naming it`, async () => {
    const { bytes } = h5Mutation(seed, base);
    const t0 = performance.now();
    const err = await readH5(bytes, `seed-${seed}.h5`).then(() => null, (e: unknown) => e);
    const ms = performance.now() - t0;
    assert.instance(err, ModelLoadError, `seed ${seed}: expected the deadline error, got ${String(err)}`);
    const msg = (err as Error).message;
    assert.match(msg, new RegExp(`^seed-${seed}\\.h5 did not finish parsing in ${DEADLINE_MS / 1000} s: the file is probably corrupt`));
    assert.match(msg, /CAMLIGHT_H5_TIMEOUT_MS/);
    assert.not.match(msg, /\n/);
    // It waited for the deadline (the file really loops: no quick error) and not much longer
    // (worker start-up, seconds on a loaded 2-core machine, counts outside the deadline).
    assert.ok(ms >= DEADLINE_MS - 50 && ms < DEADLINE_MS + 60_000, `${ms.toFixed(0)} ms`);
    // The next file gets a fresh worker and reads as before.
    assertSame(await withDeadline(DEFAULT_H5_TIMEOUT_MS, () => readH5(base.slice(), 'base.h5')), await readH5InThread(base.slice(), 'base.h5'));
  });
}

s('CAMLIGHT_H5_TIMEOUT_MS: default when unset, an error naming it when it is not a positive number', async () => {
  delete process.env.CAMLIGHT_H5_TIMEOUT_MS;
  try {
    assert.is(h5TimeoutMs(), DEFAULT_H5_TIMEOUT_MS);
    for (const bad of ['abc', '-5', '0', 'Infinity']) {
      process.env.CAMLIGHT_H5_TIMEOUT_MS = bad;
      const err = await readH5(base.slice(), 'base.h5').then(() => null, (e: unknown) => e);
      assert.match(String((err as Error)?.message), /^CAMLIGHT_H5_TIMEOUT_MS=".*": expected the \.h5 parse deadline in milliseconds/, bad);
    }
  } finally {
    process.env.CAMLIGHT_H5_TIMEOUT_MS = String(DEADLINE_MS);
  }
});

s('the idle worker does not keep a process alive: a script that reads an .h5 exits by itself', async () => {
  const file = join(tmp, 'base.h5');
  await writeFile(file, base);
  const script = `import '${new URL('../../src/platform/node.ts', import.meta.url).href}';
import { readFile } from 'node:fs/promises';
import { readH5 } from '${new URL('../../src/nn/loaders/h5.ts', import.meta.url).href}';
const h5 = await readH5(new Uint8Array(await readFile(${JSON.stringify(file)})), 'base.h5');
console.log('layers', h5.layers.length);`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 120_000 });
  assert.match(stdout, /^layers \d+/);
});

s.run();
