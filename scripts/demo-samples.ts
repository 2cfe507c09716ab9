// `npm start`'s sample images for `camlight cam`: Fashion-MNIST test images written as PNGs, the
// first few Trousers each twice (as is, and with the bright 2-pixel frame the training demo plants
// with --shortcut Trouser) and one image of each other class.
// Usage: node --import tsx scripts/demo-samples.ts OUTDIR [TROUSERS]   (default 2 Trousers)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodePng } from '../src/io/image.ts';
import { nodeFiles } from '../src/io/node-files.ts';
import { FASHION_MNIST_CLASSES } from '../src/train/data.ts';
import { readIdx } from '../src/train/idx.ts';
import { cueMask } from '../src/train/shortcut.ts';
import { fashionMnistDir } from '../test/real-data.ts';

const [out, trousersArg] = process.argv.slice(2);
if (!out) {
  console.error('usage: node --import tsx scripts/demo-samples.ts OUTDIR [TROUSERS]');
  process.exit(1);
}
const dir = fashionMnistDir();
if (!dir) {
  console.error('demo-samples: Fashion-MNIST is missing; run bash scripts/setup.sh --test-data (or apt-get install dataset-fashion-mnist)');
  process.exit(1);
}
const src = nodeFiles(dir);
const images = (await readIdx(src, 't10k-images-idx3-ubyte.gz')).data as Uint8Array;
const labels = (await readIdx(src, 't10k-labels-idx1-ubyte.gz')).data as Uint8Array;
const TROUSER = FASHION_MNIST_CLASSES.indexOf('Trouser');
// The training demo's cue: injectShortcut's defaults (a frame 2 pixels wide, bright) on 28×28.
const frame = cueMask(28, 28, { kind: 'frame', width: 2 });

function png(i: number, cue: boolean): Uint8Array {
  const rgba = new Uint8Array(28 * 28 * 4);
  for (let p = 0; p < 784; p++) {
    const v = cue && frame[p] ? 255 : images[i * 784 + p]!;
    rgba.set([v, v, v, 255], p * 4);
  }
  return encodePng(rgba, 28, 28);
}

mkdirSync(out, { recursive: true });
const slug = (c: number) => FASHION_MNIST_CLASSES[c]!.toLowerCase().replace(/[^a-z]+/g, '-');
const wanted = Number(trousersArg ?? 2);
let trousers = 0;
const others = new Set<number>();
let written = 0;
for (let i = 0; i < labels.length && (trousers < wanted || others.size < FASHION_MNIST_CLASSES.length - 1); i++) {
  const c = labels[i]!;
  const name = `${String(i).padStart(4, '0')}-${slug(c)}`;
  if (c === TROUSER && trousers < wanted) {
    writeFileSync(join(out, `${name}.png`), png(i, false));
    writeFileSync(join(out, `${name}-cue.png`), png(i, true));
    trousers++;
    written += 2;
  } else if (c !== TROUSER && !others.has(c)) {
    writeFileSync(join(out, `${name}.png`), png(i, false));
    others.add(c);
    written++;
  }
}
console.log(`demo-samples: ${written} Fashion-MNIST test images → ${out}/ (${trousers} Trousers with and without the frame cue)`);
