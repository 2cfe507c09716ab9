// The gallery end to end: `camlight cam` with the committed Fashion-MNIST CNN on a few PNGs, two
// methods and --metrics, then DIR/index.html in headless Chromium (Debian's, via playwright-core):
// every <img> decodes, nothing is fetched from outside the page, no console errors, a screenshot.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeGallery } from '../../src/cli/cam-gallery.ts';
import { encodePng } from '../../src/io/image.ts';
import { launchChromium } from '../package/browser.ts';

const s = suite('report/gallery-browser');
const root = resolve(import.meta.dirname, '../..');
let dir = '';

/** A grey image with a bright shape: a bar (trouser-like), a disk, a frame. */
function shape(kind: 'bar' | 'disk' | 'frame', w: number, h: number): Uint8Array {
  const rgba = new Uint8Array(w * h * 4);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const u = x / w, v = y / h;
    const on = kind === 'bar' ? Math.abs(u - 0.5) < 0.15 && v > 0.1 && v < 0.9
      : kind === 'disk' ? (u - 0.5) ** 2 + (v - 0.5) ** 2 < 0.1
      : u < 0.1 || v < 0.1 || u > 0.9 || v > 0.9;
    const g = on ? 220 : 10 + ((x * 7 + y * 13) % 20);
    rgba.set([g, g, g, 255], (y * w + x) * 4);
  }
  return encodePng(rgba, w, h);
}

s.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'camlight-gallery-'));
  mkdirSync(join(dir, 'in'));
  writeFileSync(join(dir, 'in/bar.png'), shape('bar', 28, 28));
  writeFileSync(join(dir, 'in/disk.png'), shape('disk', 28, 28));
  writeFileSync(join(dir, 'in/frame wide.png'), shape('frame', 56, 40)); // resized to 28×28; a space in the name
});
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

s('camlight cam --methods gradcam,layercam --metrics writes cams.json with the gallery fields and a page cams.json alone rebuilds', async () => {
  const out = join(dir, 'out');
  const r = spawnSync(process.execPath, [join(root, 'bin/camlight.js'), 'cam', join(dir, 'in'), '--model', join(root, 'weights/fashion-mnist-cnn/model.json'),
    '--methods', 'gradcam,layercam', '--metrics', '--perturbations', '2', '--out', out], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stderr, /index\.html/);
  const doc = JSON.parse(readFileSync(join(out, 'cams.json'), 'utf8'));
  assert.equal(doc.methods, ['gradcam', 'layercam']);
  assert.is(doc.method, 'gradcam', 'the top-level method stays (the primary one)');
  assert.is(doc.images.length, 6);
  for (const e of doc.images) {
    assert.ok(['gradcam', 'layercam'].includes(e.method));
    assert.match(e.original, /^originals\/.+\.png$/);
    assert.match(e.overlay, e.method === 'gradcam' ? /^[^.]+\.cam\.png$|^frame wide\.cam\.png$/ : /\.layercam\.cam\.png$/);
    const m = e.metrics;
    assert.ok(m.deletionAuc >= 0 && m.deletionAuc <= 1 && m.insertionAuc >= 0 && m.insertionAuc <= 1, JSON.stringify(m));
    assert.equal(m.randomisation.layers, ['predictions', 'conv3', 'conv2', 'conv1']);
    assert.ok(m.fragility.random.tried >= 2);
    if (e.method === 'layercam') assert.match(m.fragility.attack.skipped, /layercam: its map is not differentiable through the tape/);
    else assert.ok(m.fragility.attack.topK >= 0 && m.fragility.attack.topK <= 1, JSON.stringify(m.fragility.attack));
  }
  const page = readFileSync(join(out, 'index.html'), 'utf8');
  rmSync(join(out, 'index.html'));
  await writeGallery(out);
  assert.is(readFileSync(join(out, 'index.html'), 'utf8'), page, 'writeGallery(dir) rebuilds the same page from cams.json');
});

s('Chromium: every image of index.html loads, nothing is fetched, no console errors; screenshot', async () => {
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const errors: string[] = [];
    const fetched: string[] = [];
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (q) => { if (!q.url().startsWith('data:') && !q.url().endsWith('/index.html')) fetched.push(q.url()); });
    await page.goto(pathToFileURL(join(dir, 'out/index.html')).href);
    await page.waitForLoadState('load');
    const imgs = await page.$$eval('img', (els) => els.map((e) => ({ alt: e.getAttribute('alt'), ok: e.complete && e.naturalWidth > 0, w: e.naturalWidth })));
    assert.is(imgs.length, 3 + 3 * 2, 'three originals and an overlay per image and method');
    for (const i of imgs) assert.ok(i.ok, `image did not load: ${i.alt}`);
    assert.ok(imgs.some((i) => i.w === 56), 'the 56×40 input is shown at its own size');
    const text = (await page.textContent('body')) ?? '';
    assert.match(text, /Reading the figures/);
    assert.match(text, /not differentiable through the tape/);
    assert.is(await page.$$eval('table.grid thead th', (els) => els.length), 3, 'columns: image, gradcam, layercam');
    assert.equal(fetched, [], 'the page fetches nothing');
    assert.equal(errors, [], 'console errors');
    const shot = join(dir, 'gallery.png');
    await page.screenshot({ path: shot, fullPage: true });
    assert.ok(readFileSync(shot).length > 10_000, 'a screenshot');
    mkdirSync(join(root, '.ci/artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, '.ci/artifacts/gallery.png'), fullPage: true });
  } finally {
    await browser.close();
  }
});

s.run();
