// `camlight cam` end to end in a child process: a saved model and real photos in, overlays and
// cams.json out in the documented shape; mistakes are one line on stderr and exit code 1.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fashionCnn } from '../../src/nn/zoo/index.ts';
import { saveLayersModel } from '../../src/nn/loaders/index.ts';
import { decodeImage } from '../../src/io/image.ts';
import { gpu } from '../helpers.ts';
import { requireRealData, skimagePhoto } from '../real-data.ts';

const s = suite('cli/cam');
const root = resolve(import.meta.dirname, '../..');
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
  const m = fashionCnn();
  m.initWeights(3);
  await saveLayersModel(m, join(dir, 'model'));
  writeFileSync(join(dir, 'model/camlight.json'), JSON.stringify({ preprocess: 'unit', labels: 'labels.txt' }));
  writeFileSync(join(dir, 'model/labels.txt'), ['tee', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'].join('\n'));
  m.dispose();
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('writes an overlay per image and target and cams.json in the documented shape', async () => {
  const photos = ['chelsea.png', 'coffee.png'].map((p) => skimagePhoto(p));
  if (photos.some((p) => !p)) {
    if (requireRealData) assert.unreachable('scikit-image photos missing (run scripts/setup.sh --test-data)');
    return;
  }
  const r = camlight('cam', ...(photos as string[]), '--model', 'model/model.json', '--target', 'top2', '--out', 'out', '--json');
  assert.is(r.code, 0, r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'out/cams.json'), 'utf8'));
  assert.equal(JSON.parse(r.stdout), doc, '--json prints cams.json');
  assert.is(doc.method, 'gradcam');
  assert.is(doc.model, 'model/model.json');
  assert.is(doc.preprocess, 'unit', 'preset from camlight.json');
  // fashionCnn's last layer with spatial extent is its second max pool… or conv: 'auto' decides;
  // whichever it is, its size is reported.
  assert.type(doc.layer.name, 'string');
  assert.ok(doc.layer.height >= 1 && doc.layer.width >= 1 && doc.layer.channels >= 1);
  assert.is(doc.images.length, 4, 'two targets per image');
  for (const im of doc.images) {
    assert.is(im.topk.length >= 2, true);
    assert.type(im.topk[0].label, 'string');
    assert.ok(im.topk[0].prob >= im.topk[1].prob);
    assert.is(im.map.height, doc.layer.height);
    assert.is(im.map.values.length, im.map.height * im.map.width);
    const max = Math.max(...im.map.values);
    assert.ok(max === 1 || max === 0, `map normalised by its maximum (max ${max})`);
    assert.ok(Math.min(...im.map.values) >= 0, 'after ReLU');
    const png = decodeImage(new Uint8Array(readFileSync(join(dir, 'out', im.overlay))));
    const src = decodeImage(new Uint8Array(readFileSync(im.file)));
    assert.equal([png.width, png.height], [src.width, src.height], 'overlay at the photo\'s size');
  }
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
