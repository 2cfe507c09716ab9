// Issue 15 cases checked end to end on the `camlight` command where the other tests check them
// one level down: a Keras .h5 that makes libhdf5 loop (the fuzz bench's seed 71) ends in a one-line
// error at the deadline, `/dev/zero` as an image and `--out ''` are one-line errors, and Dawn's
// "artificially reduced" warnings stay off stderr through a shell pipe unless CAMLIGHT_DEBUG=1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fuzzBaseH5 } from '../../bench/fuzz.ts';
import { h5Mutation } from '../../bench/fuzz-worker.ts';
import { encodePng } from '../../src/io/image.ts';

const s = suite('cli/robust-more');
const root = resolve(import.meta.dirname, '../..');
const bin = join(root, 'bin/camlight.js');
let dir = '';

/** Runs `camlight …` through bash with stdout and stderr joined into a real pipe, as in a shell. */
function shell(args: string[], env: Record<string, string> = {}) {
  const t0 = performance.now();
  const q = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const r = spawnSync('bash', ['-c', `${q(process.execPath)} ${q(bin)} ${args.map(q).join(' ')} 2>&1 | cat; exit \${PIPESTATUS[0]}`], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', CAMLIGHT_DEBUG: '', ...env }, timeout: 180_000,
  });
  return { code: r.status, out: r.stdout, ms: performance.now() - t0 };
}

/** No JavaScript-internal text, stack trace or Dawn warning in what a user sees. */
function clean(text: string): void {
  assert.not.match(text, /is not a function|Cannot read properties|Invalid typed array length|EISDIR|ENOENT|\n\s+at /, text);
  assert.not.match(text, /artificially reduced/, 'Dawn warnings are hidden');
}

s.before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'camlight-robust-more-'));
  const data = new Uint8ClampedArray(9 * 9 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 37) & 255));
  writeFileSync(join(dir, 'x.png'), encodePng({ width: 9, height: 9, data }));
  const base = await fuzzBaseH5();
  writeFileSync(join(dir, 'base.h5'), base);
  writeFileSync(join(dir, 'loop.h5'), h5Mutation(71, base).bytes);
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('cam --model on an .h5 that loops libhdf5: one line naming the file at the deadline, exit 1 (control: the intact file explains the image)', () => {
  // The intact file under the default deadline (60 s): a loaded machine may take seconds.
  const ok = shell(['cam', 'x.png', '--model', 'base.h5', '--out', 'o-base']);
  assert.is(ok.code, 0, ok.out);
  assert.is(JSON.parse(readFileSync(join(dir, 'o-base/cams.json'), 'utf8')).images.length, 1);
  clean(ok.out);
  const r = shell(['cam', 'x.png', '--model', 'loop.h5', '--out', 'o-loop'], { CAMLIGHT_H5_TIMEOUT_MS: '2000' });
  assert.is(r.code, 1, r.out);
  assert.match(r.out, /^camlight cam: \S*\/loop\.h5 did not finish parsing in 2 s: the file is probably corrupt .*CAMLIGHT_H5_TIMEOUT_MS/);
  assert.is(r.out.trim().split('\n').length, 1, r.out);
  assert.ok(r.ms < 120_000, `${r.ms} ms`);
  clean(r.out);
});

s("/dev/zero as an image and --out '' are one-line errors naming them, exit 1", () => {
  const z = shell(['cam', '/dev/zero', '--model', 'base.h5', '--out', 'o-zero']);
  assert.is(z.code, 1, z.out);
  assert.match(z.out, /cannot read \/dev\/zero: it is a device; camlight reads only regular files/);
  clean(z.out);
  const e = shell(['cam', 'x.png', '--model', 'base.h5', '--out', '']);
  assert.is(e.code, 1, e.out);
  assert.match(e.out, /^camlight cam: --out : an empty folder name was given; name the folder to write to\n$/);
  clean(e.out);
});

s("Dawn's adapter warnings are not on stderr through a shell pipe; CAMLIGHT_DEBUG=1 shows them (control, on lavapipe)", () => {
  const r = shell(['info']);
  assert.is(r.code, 0, r.out);
  assert.match(r.out, /^adapter: /);
  clean(r.out);
  // Lavapipe reports 1,000,000 dynamic buffers, which Dawn reduces with the two warnings.
  if (/llvmpipe/.test(r.out)) assert.match(shell(['info'], { CAMLIGHT_DEBUG: '1' }).out, /artificially reduced/);
});

s.run();
