// The CLI's conventions in child processes: --help on every command `camlight --help` lists,
// exit code 1 with one line naming the file or option for users' mistakes (a table per command),
// exit code 2 with the CAMLIGHT_DEBUG hint for an internal error (a TypeError planted by a
// preloaded module), the stack only with CAMLIGHT_DEBUG=1, and --json output that parses.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { isInternal, reportError } from '../../src/cli/errors.ts';
import { UsageError } from '../../src/cli/args.ts';
import { encodePng } from '../../src/io/image.ts';

const s = suite('cli/conventions');
const root = resolve(import.meta.dirname, '../..');
const MODEL = join(root, 'weights/fashion-mnist-cnn/model.json');
let dir = '';

/** Runs the CLI with stderr in a file (as from a shell; see test/cli/robust.test.ts). */
function camlight(args: string[], o: { env?: Record<string, string>; preload?: string } = {}) {
  const errFile = join(dir, `.stderr-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(errFile, 'w');
  try {
    const r = spawnSync(process.execPath, [...(o.preload ? ['--import', o.preload] : []), join(root, 'bin/camlight.js'), ...args], {
      cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', fd], timeout: 120_000,
      env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', CAMLIGHT_DEBUG: '', CAMLIGHT_CACHE: join(dir, 'cache'), ...o.env },
    });
    return { code: r.status, stdout: r.stdout, stderr: readFileSync(errFile, 'utf8').trimEnd() };
  } finally {
    closeSync(fd);
    rmSync(errFile, { force: true });
  }
}

s.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'camlight-conv-'));
  mkdirSync(join(dir, 'model'));
  for (const f of ['model.json', 'group1-shard1of1.bin']) copyFileSync(join(root, 'weights/fashion-mnist-cnn', f), join(dir, 'model', f));
  writeFileSync(join(dir, 'notes.txt'), 'not an image');
  writeFileSync(join(dir, 'file'), 'a file where a folder is expected');
  const data = new Uint8ClampedArray(28 * 28 * 4).map((_, i) => (i % 4 === 3 ? 255 : (i * 7) & 255));
  writeFileSync(join(dir, 'img.png'), encodePng({ width: 28, height: 28, data }));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('--help on every command listed by `camlight --help`: exit 0, its usage on stdout', () => {
  const top = camlight(['--help']);
  assert.is(top.code, 0);
  const names = [...top.stdout.matchAll(/^ {2}(\w+) {2,}/gm)].map((m) => m[1]!);
  for (const c of ['info', 'cam', 'train', 'serve', 'convert', 'bench']) assert.ok(names.includes(c), `${c} listed: ${names}`);
  for (const c of names) {
    const h = camlight([c, '--help']);
    assert.is(h.code, 0, `${c} --help: ${h.stderr}`);
    assert.match(h.stdout, new RegExp(`^usage: (camlight|npm run) ${c}`), `${c} --help prints its usage`);
  }
});

s('user errors: exit code 1, one line on stderr naming the file or option', () => {
  const cases: [string[], RegExp][] = [
    [['cam', 'notes.txt'], /--model is required/],
    [['cam', 'missing.png', '--model', MODEL], /missing\.png: no such file/],
    [['cam', 'notes.txt', '--model', MODEL, '--batch', 'x'], /--batch x: expected a number/],
    [['cam', 'notes.txt', '--model', 'model/nope.json'], /model\/nope\.json/],
    [['cam', 'notes.txt', '--model', MODEL, '--out', 'file'], /--out file/],
    [['info', 'missing.h5'], /missing\.h5: no such file/],
    [['info', '--bogus'], /unknown option --bogus/],
    [['info', 'notes.txt'], /notes\.txt: expected a \.h5 or model\.json/],
    [['convert', 'model/model.json'], /give the model file and the output folder/],
    [['convert', 'missing.h5', 'out'], /missing\.h5: no such file/],
    [['train', '--model', 'fashion-cnn'], /--data is required/],
    [['train', '--data', 'fashion-mnist', '--model', 'fashion-cnn', '--epochs', '0'], /--epochs 0: expected an integer/],
    [['serve', '--port', '99999'], /--port must be 0\.\.65535/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = camlight(args);
    const what = `camlight ${args.join(' ')}`;
    assert.is(r.code, 1, `${what}: exit ${r.code}: ${r.stderr}`);
    assert.match(r.stderr.split('\n')[0]!, re, what);
    if (args[0] !== 'frobnicate') assert.is(r.stderr.split('\n').length, 1, `${what}: one line, got: ${r.stderr}`);
    assert.not.match(r.stderr, /internal error|\n\s+at /, what);
  }
});

s('an internal error: exit code 2, one line with the CAMLIGHT_DEBUG=1 hint; the stack only with CAMLIGHT_DEBUG=1', () => {
  // The plant: JSON.stringify of anything naming this file throws (the model's path is in info's
  // and cam's JSON output, written after the model has loaded and, for cam, the images been run).
  copyFileSync(MODEL, join(dir, 'model/camlight-force-internal-error.json'));
  const planted = 'model/camlight-force-internal-error.json';
  const preload = join(root, 'test/fixtures/cli/force-internal-error.mjs');
  for (const args of [['info', planted, '--json'], ['cam', 'img.png', '--model', planted]]) {
    const r = camlight(args, { preload });
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.split('\n');
    assert.is(lines.length, 1, r.stderr);
    assert.match(lines[0]!, new RegExp(`^camlight ${args[0]}: internal error \\(TypeError: .*planted.*\\); this is a bug in camlight: rerun with CAMLIGHT_DEBUG=1 for the stack`));
    const d = camlight(args, { preload, env: { CAMLIGHT_DEBUG: '1' } });
    assert.is(d.code, 2);
    assert.match(d.stderr, /the stack follows[\s\S]*\n\s+at /, 'the stack with CAMLIGHT_DEBUG=1');
  }
  // The control: the same file without the planted bug loads (so the exit code 2 came from the plant).
  const ok = camlight(['info', planted, '--json']);
  assert.is(ok.code, 0, ok.stderr);
});

s('the classification itself: camlight\'s own error classes are the user\'s (1), the language\'s are internal (2)', () => {
  const lines: string[] = [];
  const err = (x: string) => lines.push(x);
  assert.is(reportError('x', new UsageError('--opt y: bad'), {}, err), 1);
  assert.is(reportError('x', Object.assign(new Error('cannot read a.png: permission denied'), { code: 'EACCES' }), {}, err), 1);
  assert.is(reportError('x', new SyntaxError('Unexpected token } in JSON'), {}, err), 1, 'a user\'s malformed JSON');
  assert.is(reportError('x', new RangeError('Invalid typed array length: -4'), {}, err), 2);
  assert.is(reportError('x', 'a string thrown', {}, err), 2);
  assert.ok(isInternal(new TypeError('x')) && !isInternal(new Error('x')));
  assert.equal(lines.slice(0, 3), ['camlight x: --opt y: bad', 'camlight x: cannot read a.png: permission denied', 'camlight x: Unexpected token } in JSON']);
  assert.match(lines[3]!, /internal error \(RangeError: Invalid typed array length: -4\).*CAMLIGHT_DEBUG=1/);
});

s('--json where the output is data: info (adapter and model), --version, convert', () => {
  const a = camlight(['info', '--json']);
  assert.is(a.code, 0, a.stderr);
  const facts = JSON.parse(a.stdout);
  assert.type(facts.adapter, 'string');
  assert.ok(facts.limits.maxBufferSize > 0);
  const m = JSON.parse(camlight(['info', MODEL, '--json']).stdout);
  assert.ok(m.parameters.trainable > 0 && typeof m.autoLayer.name === 'string');
  const v = JSON.parse(camlight(['--version', '--json']).stdout);
  assert.is(v.camlight, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  const c = camlight(['convert', 'model/model.json', 'converted', '--json']);
  assert.is(c.code, 0, c.stderr);
  const out = JSON.parse(c.stdout);
  assert.is(out.modelJson, join('converted', 'model.json'));
  assert.ok(out.weightBytes > 0 && out.files.length >= 2);
});

s.run();
