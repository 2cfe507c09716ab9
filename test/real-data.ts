// Where the real test data lives (DESIGN.md): Fashion-MNIST from the Debian package
// dataset-fashion-mnist, and photographs from python3-skimage, installed system-wide or unpacked
// by scripts/setup.sh --test-data into .cache/skimage/data. Environment variables override both.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Test } from 'uvu';

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

/** Why skimage's photographs are unavailable, or null when they are there. */
export const missingSkimage = (): string | null =>
  skimageDataDir() ? null : "skimage's photographs are missing: run `bash scripts/setup.sh --test-data` or set CAMLIGHT_SKIMAGE_DATA";

/** Why Fashion-MNIST is unavailable, or null when it is there. */
export const missingFashionMnist = (): string | null =>
  fashionMnistDir() ? null : 'Fashion-MNIST is missing: apt-get install dataset-fashion-mnist, or set CAMLIGHT_FASHION_MNIST';

/** Skipped tests and why, printed by test/run.ts before its summary. */
const skipped: { test: string; why: string }[] = ((globalThis as { CAMLIGHT_SKIPPED?: { test: string; why: string }[] }).CAMLIGHT_SKIPPED ??= []);

/**
 * Declares a test that needs a data set. With the data it is an ordinary test. Without it: in
 * CI (or CAMLIGHT_STRICT=1) it fails with `missing`'s message; elsewhere it is uvu's skip
 * (counted as skipped, not passed) and the runner lists it with the reason.
 * @example
 *   dataTest(s, 'decodes chelsea.png', missingSkimage, () => { … });
 */
export function dataTest<T>(s: Test<T>, name: string, missing: () => string | null, fn: (ctx: T) => unknown): void {
  const why = missing();
  if (why && !requireRealData) {
    s.skip(name, fn as never);
    skipped.push({ test: name, why });
    return;
  }
  s(name, async (ctx) => {
    if (why) throw new Error(`${why} (required here: CI=true or CAMLIGHT_STRICT=1)`);
    await fn(ctx as T);
  });
}
