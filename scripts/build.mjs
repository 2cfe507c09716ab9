// `npm run build`: the package as published. tsc turns src/ into ES modules and .d.ts in dist/
// (imports rewritten .ts -> .js); then this script fixes up what tsc leaves (.ts specifiers in
// .d.ts, the hand-written opentype.js types, the @webgpu/types reference), writes the Node and
// Deno entry points that install their platform hooks before re-exporting a subpath, and
// bundles the static page in web/ into dist/web. Plain Node, no tsx: it runs on a fresh clone.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
const SUBPATHS = ['index', 'nn', 'cam', 'train', 'report', 'io', 'gpu', 'kernels'];

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error(`build: ${cmd} ${args.join(' ')} failed (exit ${r.status})`);
    process.exit(1);
  }
}

function walk(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

rmSync(dist, { recursive: true, force: true });
run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json']);

// tsc rewrites .ts specifiers in .js but keeps them in .d.ts; consumers without
// allowImportingTsExtensions need .js there too.
for (const f of walk(dist).filter((p) => p.endsWith('.d.ts'))) {
  const text = readFileSync(f, 'utf8');
  const fixed = text.replace(/((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g, '$1$2.js$3');
  if (fixed !== text) writeFileSync(f, fixed);
}

// opentype.js ships no types: camlight's own declaration travels with text.d.ts.
cpSync(join(root, 'src/report/opentype-js.d.ts'), join(dist, 'report/opentype-js.d.ts'));
prepend(join(dist, 'report/text.d.ts'), '/// <reference path="./opentype-js.d.ts" />\n');

// Every public entry brings the WebGPU types (GPUDevice, GPUBuffer, …) its signatures use.
for (const s of SUBPATHS) prepend(join(dist, s === 'index' ? 'index.d.ts' : `${s}/index.d.ts`), '/// <reference types="@webgpu/types" />\n');

// Platform entry points: import the platform's hooks first, then the subpath itself.
for (const plat of ['node', 'deno']) {
  mkdirSync(join(dist, plat), { recursive: true });
  for (const s of SUBPATHS) {
    const target = s === 'index' ? '../index.js' : `../${s}/index.js`;
    writeFileSync(
      join(dist, plat, `${s}.js`),
      `// camlight/${s === 'index' ? '' : s} for ${plat === 'node' ? 'Node' : 'Deno'}: install the platform hooks, then the subpath.\n` +
        `import '../platform/${plat}.js';\nexport * from '${target}';\n`,
    );
  }
}

// The static page (web/): one ES module bundle for the browser, plus its HTML and the font.
if (existsSync(join(root, 'web/build.mjs'))) run(process.execPath, [join(root, 'web/build.mjs')]);

console.log(`build: dist/ written (${walk(dist).length} files)`);

function prepend(file, line) {
  writeFileSync(file, line + readFileSync(file, 'utf8'));
}
