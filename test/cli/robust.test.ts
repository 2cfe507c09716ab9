// Issue 15 end to end on `camlight cam`, in child processes: folder runs that finish past bad
// files (exit code 1, failures in cams.json), unique overlay names, --out checked before work,
// labels and target checks, non-finite outputs, hostile model folders; stderr stays camlight's.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import jpeg from 'jpeg-js';
import { Model } from '../../src/nn/model.ts';
import { saveLayersModel } from '../../src/nn/loaders/index.ts';
import { encodePng } from '../../src/io/image.ts';
import { gpu } from '../helpers.ts';

const s = suite('cli/robust');
const root = resolve(import.meta.dirname, '../..');
let dir = '';
const LABELS = ['tee', 'trouser', 'pullover', 'dress', 'coat', 'sandal', 'shirt', 'sneaker', 'bag', 'boot'];

/**
 * Runs the CLI; stderr is returned whole (Dawn's adapter warnings must not be in it). stderr
 * goes to a file, as from a shell: Node's spawn pipes are sockets, which the warnings' silencing
 * cannot reopen (see src/gpu/node-adapter.ts).
 */
function camlight(...args: string[]) {
  const t0 = performance.now();
  const errFile = join(dir, `.stderr-${Math.random().toString(36).slice(2)}`);
  const fd = openSync(errFile, 'w');
  try {
    const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), ...args], {
      cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', fd], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp', CAMLIGHT_DEBUG: '' }, timeout: 120_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: readFileSync(errFile, 'utf8'), ms: performance.now() - t0 };
  } finally {
    closeSync(fd);
    rmSync(errFile, { force: true });
  }
}

/** No JavaScript-internal text and no stack trace in what a user sees. */
function clean(text: string): void {
  assert.not.match(text, /is not a function|Cannot read properties|Invalid typed array length|EISDIR|ENOENT|\n\s+at /, text);
  assert.not.match(text, /artificially reduced/, 'Dawn warnings are hidden');
}

function smallCnn(seed: number): Model {
  const m = Model.fromKerasConfig({
    class_name: 'Sequential',
    config: {
      name: 'small_cnn',
      layers: [
        { class_name: 'Conv2D', config: { name: 'c1', filters: 4, kernel_size: [3, 3], strides: [1, 1], padding: 'same', activation: 'relu', use_bias: true, batch_input_shape: [null, 28, 28, 1] } },
        { class_name: 'GlobalAveragePooling2D', config: { name: 'gap' } },
        { class_name: 'Dense', config: { name: 'out', units: 10, activation: 'softmax', use_bias: true } },
      ],
    },
  });
  m.initWeights(seed);
  return m;
}

const grey = (seed: number) => {
  const data = new Uint8ClampedArray(28 * 28 * 4);
  for (let i = 0; i < 28 * 28; i++) data.set([(i * seed * 31) & 255, (i * seed * 31) & 255, (i * seed * 31) & 255, 255], 4 * i);
  return { width: 28, height: 28, data };
};

s.before(async () => {
  await gpu();
  dir = mkdtempSync(join(tmpdir(), 'camlight-robust-'));
  const m = smallCnn(3);
  await saveLayersModel(m, join(dir, 'model'));
  m.dispose();
  writeFileSync(join(dir, 'model/camlight.json'), JSON.stringify({ preprocess: 'unit', labels: 'labels.txt' }));
  writeFileSync(join(dir, 'model/labels.txt'), LABELS.join('\n'));
  for (const d of ['a', 'b', 'c', 'mixed']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'a/x.png'), encodePng(grey(1)));
  writeFileSync(join(dir, 'b/x.png'), encodePng(grey(2)));
  writeFileSync(join(dir, 'c/x.png'), encodePng(grey(3)));
  writeFileSync(join(dir, 'c/x.jpg'), jpeg.encode({ ...grey(4), data: new Uint8Array(grey(4).data.buffer) }, 90).data);
  // A folder with one good image and bad ones of every kind.
  writeFileSync(join(dir, 'mixed/good.png'), encodePng(grey(5)));
  const flipped = encodePng(grey(6));
  flipped[flipped.length - 20]! ^= 0xff;
  writeFileSync(join(dir, 'mixed/crc.png'), flipped);
  writeFileSync(join(dir, 'mixed/text.png'), 'not an image');
  const wide = encodePng(grey(7)).slice();
  writeFileSync(join(dir, 'mixed/wide.png'), wide);
  // IHDR width 2^31−1 with a matching CRC: the 68-byte PNG that spun the decoder.
  new DataView(wide.buffer).setUint32(16, 2 ** 31 - 1);
  const { crc32 } = await import('node:zlib');
  new DataView(wide.buffer).setUint32(29, crc32(wide.subarray(12, 29)));
  writeFileSync(join(dir, 'mixed/wide.png'), wide);
  execFileSync('mkfifo', [join(dir, 'mixed/pipe.png')]);
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('a folder run finishes past bad files: each reported and skipped, cams.json lists them, exit code 1', () => {
  const r = camlight('cam', 'mixed', '/dev/zero', '--model', 'model/model.json', '--out', 'out-mixed');
  assert.is(r.code, 1, r.stderr);
  clean(r.stderr);
  const doc = JSON.parse(readFileSync(join(dir, 'out-mixed/cams.json'), 'utf8'));
  assert.equal(doc.images.map((i: { file: string }) => i.file), ['mixed/good.png']);
  assert.ok(existsSync(join(dir, 'out-mixed', doc.images[0].overlay)));
  const why = Object.fromEntries(doc.failures.map((f: { file: string; error: string }) => [f.file, f.error]));
  assert.equal(Object.keys(why).sort(), ['/dev/zero', 'mixed/crc.png', 'mixed/pipe.png', 'mixed/text.png', 'mixed/wide.png']);
  assert.match(why['mixed/crc.png'], /CRC of chunk/);
  assert.match(why['mixed/pipe.png'], /named pipe/);
  assert.match(why['/dev/zero'], /a device/);
  assert.match(why['mixed/text.png'], /not a PNG or JPEG/);
  assert.match(why['mixed/wide.png'], /2147483647×28 \(60129\.5 megapixels\), over the limit/);
  for (const f of Object.keys(why)) assert.match(r.stderr, new RegExp(`skipped ${f.replace(/[./]/g, '\\$&')}`));
  assert.match(r.stderr, /5 of 6 input\(s\) failed and were skipped/);
});

s('overlays of same-named inputs do not collide: relative paths kept, x.jpg beside x.png', () => {
  const r = camlight('cam', 'a/x.png', 'b/x.png', 'c/x.png', 'c/x.jpg', '--model', 'model/model.json', '--out', 'out-names');
  assert.is(r.code, 0, r.stderr);
  clean(r.stderr);
  assert.is(r.stderr.trim().split('\n').length, 1, `one line on stderr: ${r.stderr}`);
  const doc = JSON.parse(readFileSync(join(dir, 'out-names/cams.json'), 'utf8'));
  const overlays = doc.images.map((i: { overlay: string }) => i.overlay);
  assert.equal(overlays, ['a/x.cam.png', 'b/x.cam.png', 'c/x.png.cam.png', 'c/x.jpg.cam.png']);
  const sizes = overlays.map((o: string) => statSync(join(dir, 'out-names', o)).size);
  assert.is(new Set(overlays).size, 4);
  assert.ok(sizes.every((n: number) => n > 100));
  // Control: a single input keeps its plain name.
  const one = camlight('cam', 'a/x.png', '--model', 'model/model.json', '--out', 'out-one');
  assert.is(JSON.parse(readFileSync(join(dir, 'out-one/cams.json'), 'utf8')).images[0].overlay, 'x.cam.png');
});

s('--out is checked before any work: /proc fails fast, a file is refused, nothing is written', () => {
  const r = camlight('cam', 'a/x.png', '--model', 'model/model.json', '--out', '/proc/camlight-x');
  assert.is(r.code, 1);
  assert.match(r.stderr, /^camlight cam: --out \/proc\/camlight-x: cannot create the folder/);
  assert.ok(r.ms < 60_000, `${r.ms} ms`);
  writeFileSync(join(dir, 'a-file'), 'x');
  const f = camlight('cam', 'a/x.png', '--model', 'model/does-not-matter.json', '--out', 'a-file/sub');
  assert.is(f.code, 1);
  assert.match(f.stderr, /--out a-file\/sub: .*a-file exists and is a file, not a folder/);
  clean(f.stderr);
});

s('labels must match the output count; --target=-1 and a class name without labels are usage errors', () => {
  writeFileSync(join(dir, 'short.txt'), LABELS.slice(0, 7).join('\n'));
  const r = camlight('cam', 'a/x.png', '--model', 'model/model.json', '--labels', 'short.txt', '--out', 'o1');
  assert.is(r.code, 1);
  assert.match(r.stderr, /--labels short\.txt: 7 class names for a model with 10 outputs/);
  const t = camlight('cam', 'a/x.png', '--model', 'model/model.json', '--target=-1', '--out', 'o2');
  assert.is(t.code, 1);
  assert.match(t.stderr, /--target -1: a class index is 0 or more/);
  // A bare model folder (no camlight.json): a class name cannot be resolved.
  mkdirSync(join(dir, 'bare'), { recursive: true });
  for (const f of ['model.json', JSON.parse(readFileSync(join(dir, 'model/model.json'), 'utf8')).weightsManifest[0].paths[0]]) {
    writeFileSync(join(dir, 'bare', f), readFileSync(join(dir, 'model', f)));
  }
  const n = camlight('cam', 'a/x.png', '--model', 'bare/model.json', '--target', 'coat', '--out', 'o3');
  assert.is(n.code, 1);
  assert.match(n.stderr, /--target coat: a class name needs class names; give --labels FILE/);
  const big = camlight('cam', 'a/x.png', '--model', 'bare/model.json', '--target', '10', '--out', 'o4');
  assert.match(big.stderr, /--target 10: the model has 10 classes \(0…9\)/);
  // A labels path that is a folder: a message, not EISDIR.
  const d = camlight('cam', 'a/x.png', '--model', 'model/model.json', '--labels', 'a', '--out', 'o5');
  assert.is(d.code, 1);
  assert.match(d.stderr, /it is a folder/);
  clean(d.stderr);
});

/** A copy of model/ whose shard is rewritten by `edit` (float32 view) and whose model.json by `json`. */
function variant(name: string, edit: (w: Float32Array) => void, json: (j: { weightsManifest: { paths: string[] }[] }) => void = () => {}): string {
  const j = JSON.parse(readFileSync(join(dir, 'model/model.json'), 'utf8'));
  const shard = new Uint8Array(readFileSync(join(dir, 'model', j.weightsManifest[0].paths[0])));
  edit(new Float32Array(shard.buffer));
  mkdirSync(join(dir, name), { recursive: true });
  writeFileSync(join(dir, name, j.weightsManifest[0].paths[0]), shard);
  json(j);
  writeFileSync(join(dir, name, 'model.json'), JSON.stringify(j));
  writeFileSync(join(dir, name, 'camlight.json'), JSON.stringify({ preprocess: 'unit', labels: LABELS }));
  return `${name}/model.json`;
}

s('a NaN weight stops the run naming the weight; overflowing logits warn naming the image, never "null"', () => {
  const nan = camlight('cam', 'a/x.png', '--model', variant('nanw', (w) => { w[5] = NaN; }), '--out', 'o-nan');
  assert.is(nan.code, 1);
  assert.match(nan.stderr, /weight 'c1\/kernel' holds NaN at index 5/);
  // Finite weights whose logits overflow to ±Inf: the softmax is NaN for every image.
  // c1's bias (after its 3·3·1·4 kernel) at 1e30 and the dense kernel at 3e38: the logits overflow.
  const huge = variant('huge', (w) => {
    for (let i = 36; i < 40; i++) w[i] = 1e30;
    for (let i = w.length - 50; i < w.length - 10; i++) w[i] = 3e38;
  });
  const r = camlight('cam', 'a/x.png', 'b/x.png', '--model', huge, '--out', 'o-inf');
  // Both images fail, so nothing was explained: exit code 1 (2 is for some inputs failing).
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /warning: a\/x\.png: the model's output for this image holds NaN or Inf/);
  assert.match(r.stderr, /warning: b\/x\.png: /);
  assert.match(r.stderr, /camlight cam: none of the 2 inputs could be explained/);
  const text = readFileSync(join(dir, 'o-inf/cams.json'), 'utf8');
  assert.not.match(text, /null/);
  assert.is(JSON.parse(text).failures.length, 2);
});

s('a model folder cannot make camlight read outside it: ../ shards, symlinked shards, /dev/zero', () => {
  mkdirSync(join(dir, 'outside'), { recursive: true });
  const j = JSON.parse(readFileSync(join(dir, 'model/model.json'), 'utf8'));
  writeFileSync(join(dir, 'outside/secret.bin'), readFileSync(join(dir, 'model', j.weightsManifest[0].paths[0])));
  const up = camlight('cam', 'a/x.png', '--model', variant('up', () => {}, (m) => { m.weightsManifest[0]!.paths = ['../outside/secret.bin']; }), '--out', 'o-up');
  assert.is(up.code, 1);
  assert.match(up.stderr, /the weight shard path "\.\.\/outside\/secret\.bin" leads out of the folder/);
  const link = variant('link', () => {});
  rmSync(join(dir, 'link', j.weightsManifest[0].paths[0]));
  symlinkSync('/dev/zero', join(dir, 'link', j.weightsManifest[0].paths[0]));
  const z = camlight('cam', 'a/x.png', '--model', link, '--out', 'o-link');
  assert.is(z.code, 1);
  assert.match(z.stderr, /is a link to a file outside the model's folder/);
  assert.ok(z.ms < 60_000);
  const p = camlight('cam', 'a/x.png', '--model', variant('lab', () => {}), '--labels', '/etc/passwd', '--out', 'o-lab');
  // --labels is the user's own choice (allowed), and /etc/passwd has far more lines than 10 outputs.
  assert.is(p.code, 1);
  assert.match(p.stderr, /class names for a model with 10 outputs/);
  writeFileSync(join(dir, 'lab/camlight.json'), JSON.stringify({ labels: '../../etc/passwd' }));
  const q = camlight('cam', 'a/x.png', '--model', 'lab/model.json', '--out', 'o-lab2');
  assert.is(q.code, 1);
  assert.match(q.stderr, /the labels path "\.\.\/\.\.\/etc\/passwd" leads out of the folder/);
});

s.run();
