// renderGallery on hand-written cams.json documents: a file written before the gallery (no method,
// original or metrics fields) still renders; names are escaped; a missing or escaping path is
// shown as missing, never read; columns follow methods × target ranks; the readings appear with metrics.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeGallery } from '../../src/cli/cam-gallery.ts';
import { encodePng } from '../../src/io/image.ts';
import { renderGallery, type GalleryDoc } from '../../src/report/gallery.ts';

const s = suite('report/gallery');
const png = encodePng(new Uint8Array(4 * 4 * 4).fill(200), 4, 4);
const topk = [{ index: 1, label: 'Trouser', prob: 0.9 }, { index: 3, label: 'Dress', prob: 0.1 }];

s('a cams.json from before the gallery renders: one column per image and the top-level method', () => {
  const doc: GalleryDoc = { model: 'm.json', method: 'gradcam', images: [{ file: 'a.png', topk, target: 1, overlay: 'a.cam.png' }] };
  const read: string[] = [];
  const html = renderGallery(doc, (p) => { read.push(p); return p === 'a.cam.png' ? png : null; });
  assert.equal(read, ['a.cam.png']);
  assert.match(html, /<th>image<\/th><th>gradcam<\/th>/);
  assert.match(html, /no copy of the image/);
  assert.is((html.match(/<img /g) ?? []).length, 1);
  assert.match(html, /src="data:image\/png;base64,/);
  assert.not.match(html, /Reading the figures/);
});

s('methods × top-K columns, escaping, metrics readings, a skipped attack', () => {
  const e = (method: string, target: number, extra = {}) => ({ file: '<b>x</b>.png', topk, target, overlay: `x.${method}.${target}.cam.png`, method, original: 'originals/x.png', ...extra });
  const metrics = { deletionAuc: 0.1, insertionAuc: 0.7, randomisation: { spearman: null, ssim: 0, layers: ['d'] }, fragility: { random: { n: 8, tried: 9, topK: 0.9, spearman: 0.99, centreShift: 0.2 }, attack: { skipped: 'layercam: its map is not differentiable through the tape' } } };
  const doc: GalleryDoc = { model: 'm', method: 'gradcam', methods: ['gradcam', 'layercam'], images: [e('gradcam', 1), e('gradcam', 3), e('layercam', 1, { metrics }), e('layercam', 3)] };
  const html = renderGallery(doc, () => png);
  assert.match(html, /<th>gradcam · target 1<\/th><th>gradcam · target 2<\/th><th>layercam · target 1<\/th><th>layercam · target 2<\/th>/);
  assert.not.match(html, /<b>x<\/b>/);
  assert.match(html, /&lt;b&gt;x&lt;\/b&gt;\.png/);
  assert.match(html, /Reading the figures/);
  assert.match(html, />flat</);
  assert.match(html, /not run: layercam: its map is not differentiable/);
  assert.match(html, /<td>0\.90<\/td><td>0\.99<\/td><td>0\.2<\/td>/);
  assert.is((html.match(/<img /g) ?? []).length, 5);
});

s('writeGallery reads only inside DIR: an absolute or ../ path in cams.json is shown as missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlight-gallery-unit-'));
  try {
    writeFileSync(join(dir, 'a.cam.png'), png);
    const doc = { model: 'm', method: 'gradcam', images: [
      { file: 'a', topk, target: 1, overlay: 'a.cam.png', original: '../secret.png' },
      { file: 'b', topk, target: 1, overlay: '/etc/hostname' },
    ] };
    writeFileSync(join(dir, 'cams.json'), JSON.stringify(doc));
    const { readFileSync } = await import('node:fs');
    const html = readFileSync(await writeGallery(dir), 'utf8');
    assert.match(html, /missing: \.\.\/secret\.png/);
    assert.match(html, /missing: \/etc\/hostname/);
    assert.is((html.match(/<img /g) ?? []).length, 1);
    writeFileSync(join(dir, 'cams.json'), '{"images": 3}');
    await writeGallery(dir).then(() => assert.unreachable('no images list'), (err: Error) => assert.match(err.message, /no "images" list/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
