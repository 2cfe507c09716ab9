// One list of image extensions (src/io/image.ts IMAGE_EXTENSIONS): the CLI's folder expansion
// (cli/cam-inputs.ts) and train's image folders (train/image-folder.ts) pick up exactly the files
// it names, in any case, and leave every other file alone.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { collectImages } from '../../src/cli/cam-inputs.ts';
import { encodePng, hasImageExtension, IMAGE_EXTENSIONS } from '../../src/io/image.ts';
import { loadImageFolder } from '../../src/train/image-folder.ts';

const s = suite('io/image-extensions');

s('the list names the formats decodeImage reads', () => {
  assert.equal([...IMAGE_EXTENSIONS].sort(), ['.jpeg', '.jpg', '.png']);
  assert.ok(hasImageExtension('Cat.JPG') && hasImageExtension('a.b.png'));
  assert.not.ok(hasImageExtension('.png'), 'a bare dot-file is no image');
  assert.not.ok(hasImageExtension('x.png.bak') || hasImageExtension('jpg') || hasImageExtension('x.gif'));
});

s('the CLI and the image-folder loader accept exactly the listed extensions, in any case', async () => {
  const root = mkdtempSync(join(tmpdir(), 'camlight-ext-'));
  try {
    const cls = join(root, 'cls');
    mkdirSync(cls);
    // PNG bytes under every name: the decoder tells formats apart by magic bytes, the names decide only what is listed.
    const png = encodePng({ width: 2, height: 2, data: new Uint8ClampedArray(16).fill(200) });
    const want = IMAGE_EXTENSIONS.flatMap((e, i) => [`lower${i}${e}`, `upper${i}${e.toUpperCase()}`]).sort();
    const decoys = ['x.gif', 'x.webp', 'x.bmp', 'x.tiff', 'x.txt', 'x.png.bak', 'png', 'x.jpgx'];
    for (const n of [...want, ...decoys]) writeFileSync(join(cls, n), png);
    const cli = (await collectImages([cls])).map((p) => basename(p));
    assert.equal(cli, want, 'cli/cam-inputs collectImages');
    const ds = await loadImageFolder(root, { size: [2, 2] });
    assert.equal(ds.names, want.map((n) => `cls/${n}`), 'train/image-folder loadImageFolder');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

s.run();
