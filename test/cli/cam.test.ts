// `camlight cam` end to end in a child process: the oracle's small-cnn (test/fixtures/oracle) and
// its photographs in, overlays and cams.json out in the documented shape with pytorch-grad-cam's
// Grad-CAM maps; mistakes are one line on stderr and exit code 1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeImage } from '../../src/io/image.ts';
import { gpu } from '../helpers.ts';

const s = suite('cli/cam');
const root = resolve(import.meta.dirname, '../..');
const oracleDir = join(root, 'test/fixtures/oracle/small-cnn');
interface OracleImage { file: string; targets: { kind: string; index: number; raw: Record<string, number[]> }[] }
const oracle = JSON.parse(readFileSync(join(oracleDir, 'cams.json'), 'utf8')) as { images: OracleImage[] };
let dir = '';

function camlight(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
    cwd: dir, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 240_000,
  });
  // Dawn prints adapter warnings on stderr; they are not camlight's output.
  const stderr = r.stderr.split('\n').filter((l) => l && !l.startsWith('Warning:')).join('\n');
  return { code: r.status, stdout: r.stdout, stderr };
}

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-cli-'));
  mkdirSync(join(dir, 'model'));
  for (const f of ['model.json', 'group1-shard1of1.bin']) copyFileSync(join(oracleDir, f), join(dir, 'model', f));
  writeFileSync(join(dir, 'model/camlight.json'), JSON.stringify({ preprocess: 'unit', labels: 'labels.txt' }));
  writeFileSync(join(dir, 'model/labels.txt'), ['tee', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'].join('\n'));
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s("writes an overlay per image and target and cams.json in the documented shape, with pytorch-grad-cam's Grad-CAM maps (atol 1e-4)", async () => {
  const ims = oracle.images.slice(0, 2);
  const photos = ims.map((im) => join(oracleDir, im.file));
  const r = camlight('cam', ...photos, '--model', 'model/model.json', '--target', 'top2', '--out', 'out', '--json');
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'out/cams.json'), 'utf8'));
  assert.equal(JSON.parse(r.stdout), doc, '--json prints cams.json');
  assert.is(doc.method, 'gradcam');
  assert.is(doc.model, 'model/model.json');
  assert.is(doc.preprocess, 'unit', 'preset from camlight.json');
  assert.equal(doc.layer, { name: 'conv3', height: 16, width: 16, channels: 64 }, "'auto' picks the oracle's CAM layer");
  assert.is(doc.images.length, 4, 'two targets per image');
  doc.images.forEach((im: { target: number; topk: { index: number; label: string; prob: number }[]; map: { height: number; width: number; values: number[] }; overlay: string; file: string }, k: number) => {
    assert.is(im.topk.length >= 2, true);
    assert.type(im.topk[0]!.label, 'string');
    assert.ok(im.topk[0]!.prob >= im.topk[1]!.prob);
    assert.is(im.map.height, 16);
    assert.is(im.map.values.length, 16 * 16);
    // The oracle's top-1 and second class of this image, and pytorch-grad-cam's map for it.
    const t = ims[Math.floor(k / 2)]!.targets.find((x) => x.kind === (k % 2 ? 'second' : 'top1'))!;
    assert.is(im.target, t.index);
    const raw = t.raw.gradcam!;
    const peak = Math.max(...raw);
    assert.ok(peak > 0, 'the oracle map is not all zero');
    const worst = Math.max(...im.map.values.map((v, i) => Math.abs(v - raw[i]! / peak)));
    assert.ok(worst <= 1e-4, `image ${k >> 1} class ${t.index}: max |cams.json − pytorch-grad-cam| ${worst}`);
    assert.is(Math.max(...im.map.values), 1, 'normalised by its maximum');
    const png = decodeImage(new Uint8Array(readFileSync(join(dir, 'out', im.overlay))));
    const src = decodeImage(new Uint8Array(readFileSync(im.file)));
    assert.equal([png.width, png.height], [src.width, src.height], 'overlay at the photo\'s size');
  });
  assert.equal(doc.images.slice(0, 2).map((i: { target: number }) => i.target), doc.images[0].topk.slice(0, 2).map((t: { index: number }) => t.index));
});

s('mistakes are one line naming the option or file, exit code 1', () => {
  const cases: [string[], RegExp][] = [
    [['cam', 'x.png'], /--model is required/],
    [['cam', 'nope.png', '--model', 'model/model.json'], /nope\.png: no such file/],
    [['cam', 'model/labels.txt', '--model', 'model/model.json', '--method', 'magic'], /--method magic: use one of/],
    [['cam', 'model/labels.txt', '--model', 'model/model.json', '--bogus'], /unknown option --bogus/],
    [['cam', 'model/labels.txt', '--model', 'model/model.json'], /labels\.txt: not a PNG or JPEG/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ];
  for (const [args, re] of cases) {
    const r = camlight(...args);
    assert.is(r.code, 1, `${args.join(' ')} exits 1`);
    assert.match(r.stderr.split('\n')[0]!, re);
    if (args[0] === 'cam') assert.is(r.stderr.split('\n').length, 1, `one line: ${r.stderr}`);
  }
});

s.run();
