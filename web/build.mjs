// Bundles the static page (web/) into dist/web with esbuild: app.js for the browser (camlight's
// web build: no Node modules), h5wasm split into its own chunk loaded on the first .h5, plus the
// HTML and CSS. Run by scripts/build.mjs; `camlight serve` serves the result.
import { cpSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const root = resolve(import.meta.dirname, '..');
const out = join(root, 'dist/web');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'web/app.ts')],
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  outdir: out,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
});
for (const f of ['index.html', 'style.css']) cpSync(join(root, 'web', f), join(out, f));
