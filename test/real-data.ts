// Where the real test data lives (DESIGN.md): Fashion-MNIST from the Debian package
// dataset-fashion-mnist, and photographs from python3-skimage, installed system-wide or unpacked
// by scripts/setup.sh --test-data into .cache/skimage/data. Environment variables override both.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');

/** True where missing data must fail a test rather than skip it (CI, or CAMLIGHT_STRICT=1). */
export const requireRealData = process.env.CI === 'true' || process.env.CAMLIGHT_STRICT === '1';

function firstHolding(file: string, dirs: (string | undefined)[]): string | null {
  for (const d of dirs) if (d && existsSync(join(d, file))) return d;
  return null;
}

/**
 * The folder with skimage's sample photographs (chelsea.png, astronaut.png, coffee.png, …),
 * or null when none is installed.
 * @example
 *   const dir = skimageDataDir(); if (dir) readFileSync(join(dir, 'chelsea.png'));
 */
export function skimageDataDir(): string | null {
  return firstHolding('chelsea.png', [
    process.env.CAMLIGHT_SKIMAGE_DATA,
    join(root, '.cache/skimage/data'),
    '/usr/lib/python3/dist-packages/skimage/data',
  ]);
}

/** The folder with Fashion-MNIST's IDX files (train-images-idx3-ubyte.gz, …), or null. */
export function fashionMnistDir(): string | null {
  return firstHolding('t10k-images-idx3-ubyte.gz', [process.env.CAMLIGHT_FASHION_MNIST, '/usr/share/datasets/fashion-mnist']);
}

/**
 * The path of one skimage photograph; throws saying how to get it when it is missing.
 * @example
 *   const png = readFileSync(skimagePhoto('chelsea.png'));
 */
export function skimagePhoto(name: string): string {
  const dir = skimageDataDir();
  if (!dir) throw new Error(`skimage's photographs are missing (wanted ${name}): run \`bash scripts/setup.sh --test-data\` or set CAMLIGHT_SKIMAGE_DATA`);
  const p = join(dir, name);
  if (!existsSync(p)) throw new Error(`${p} does not exist; skimage's data folder holds no ${name}`);
  return p;
}

/** The path of one Fashion-MNIST file; throws saying how to get it when it is missing. */
export function fashionMnistFile(name: string): string {
  const dir = fashionMnistDir();
  if (!dir) throw new Error(`Fashion-MNIST is missing (wanted ${name}): apt-get install dataset-fashion-mnist, or set CAMLIGHT_FASHION_MNIST`);
  const p = join(dir, name);
  if (!existsSync(p)) throw new Error(`${p} does not exist`);
  return p;
}
