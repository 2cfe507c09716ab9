// The package as a user gets it: build, `npm pack`, install the tarball into a scratch project
// outside the repository, then use it from plain Node (no tsx), type-check a consumer with
// nodenext and bundler resolution (no skipLibCheck), bundle it for the browser with esbuild and
// Vite, run Grad-CAM in headless Chromium (SwiftShader WebGPU) and in Deno 2, and run the
// README's three examples. The maps of every runtime are compared with Node's on real
// photographs. The expensive set-up (build, pack, install) happens once, in before().
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { skimagePhoto } from '../real-data.ts';
import { launchChromium, serveFolder, type Served } from './browser.ts';
import { readmeExample } from './readme.ts';

const root = resolve(import.meta.dirname, '../..');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const PHOTOS = ['chelsea.png', 'coffee.png', 'astronaut.png'];
/** Gzipped size goal for core + CAM without the h5 loader (issue 12). */
const GZIP_BUDGET = 300 * 1024;

interface Maps {
  adapter: string;
  maps: Record<string, { layer: string; target: number; map: number[]; upsampled: number[] }>;
}

const ctx = { scratch: '', node: null as Maps | null, server: null as Served | null };
const Package = suite('package/consumer');

function sh(cmd: string, args: string[], cwd: string, timeoutMs = 300_000): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, NO_COLOR: '1' }, maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) exited ${r.status ?? r.signal}:\n${(r.stdout ?? '').slice(-3000)}\n${(r.stderr ?? '').slice(-3000)}`);
  }
  return r.stdout;
}

/** Largest |a - b| over two maps of the same length. */
function maxDiff(a: number[], b: number[]): number {
  assert.is(a.length, b.length, 'map sizes differ');
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
}

function compareMaps(got: Maps, tol: number, who: string): number {
  let worst = 0;
  for (const name of PHOTOS) {
    const ref = ctx.node!.maps[name]!;
    const m = got.maps[name];
    assert.ok(m, `${who} returned no map for ${name}`);
    assert.is(m.layer, ref.layer, `${who}: layer for ${name}`);
    assert.is(m.target, ref.target, `${who}: target for ${name}`);
    worst = Math.max(worst, maxDiff(m.map, ref.map), maxDiff(m.upsampled, ref.upsampled));
  }
  // Control: the same comparison between two different photographs' maps must fail by far.
  const control = maxDiff(got.maps[PHOTOS[0]!]!.map, ctx.node!.maps[PHOTOS[1]!]!.map);
  assert.ok(control > 0.05, `control: ${who}'s map of ${PHOTOS[0]} vs Node's of ${PHOTOS[1]} differ by only ${control}`);
  console.log(`  ${who} (${got.adapter}) vs Node (${ctx.node!.adapter}): max |Δ| ${worst.toExponential(2)} (bound ${tol}; control ${control.toFixed(2)})`);
  assert.ok(worst <= tol, `${who}'s maps differ from Node's by ${worst} > ${tol}`);
  return worst;
}

Package.before(() => {
  console.log('  building and packing camlight (npm run build; npm pack)…');
  sh(process.execPath, [join(root, 'scripts/build.mjs')], root);
  ctx.scratch = mkdtempSync(join(tmpdir(), 'camlight-consumer-'));
  const out = sh('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', ctx.scratch], root);
  const tarball = (JSON.parse(out) as { filename: string }[])[0]!.filename;
  writeFileSync(join(ctx.scratch, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  sh('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', `./${tarball}`], ctx.scratch);
  // The consumer's own dev tools (tsc, esbuild, Vite, Deno, Chromium's driver) run from this
  // repository's node_modules; @types/node is the one thing tsc looks for in the project.
  mkdirSync(join(ctx.scratch, 'node_modules/@types'), { recursive: true });
  symlinkSync(join(root, 'node_modules/@types/node'), join(ctx.scratch, 'node_modules/@types/node'), 'dir');
  cpSync(join(import.meta.dirname, 'fixtures'), ctx.scratch, { recursive: true });
  for (const p of PHOTOS) cpSync(skimagePhoto(p), join(ctx.scratch, p));
});

Package.after(async () => {
  await ctx.server?.close();
  if (ctx.scratch && !process.env.CAMLIGHT_KEEP_SCRATCH) rmSync(ctx.scratch, { recursive: true, force: true });
});

Package('the tarball holds dist/ and bin/ only, no sources, tests or benches', () => {
  const files = sh('tar', ['tzf', readdirTarball()], ctx.scratch).split('\n').filter(Boolean);
  const top = new Set(files.map((f) => f.split('/')[1]));
  assert.equal([...top].sort(), ['README.md', 'bin', 'dist', 'package.json']);
  assert.ok(files.includes('package/dist/node/cam.js') && files.includes('package/dist/index.d.ts'));
});

Package('publint --strict and arethetypeswrong (ESM-only profile) find no problem in the tarball', () => {
  sh(bin('publint'), ['--strict', '--pack', 'false'], join(ctx.scratch, 'node_modules/camlight'));
  // attw exits non-zero on any problem in the resolutions an ESM-only package supports.
  sh(bin('attw'), [readdirTarball(), '--profile', 'esm-only', '--format', 'table-flipped'], ctx.scratch);
});

Package('plain Node (no tsx) imports the package and computes Grad-CAM on photographs', () => {
  const log = sh(process.execPath, ['make-model.mjs', 'model', 'maps.json', ...PHOTOS], ctx.scratch);
  assert.match(log, /node: 3 maps on /);
  ctx.node = JSON.parse(readFileSync(join(ctx.scratch, 'maps.json'), 'utf8')) as Maps;
  for (const name of PHOTOS) {
    const m = ctx.node.maps[name]!;
    assert.is(m.map.length, 32 * 32);
    // Normalised to max 1, and covering the photo (not a map ReLU zeroed out).
    assert.ok(Math.abs(Math.max(...m.map) - 1) < 1e-6, `${name}: map max ${Math.max(...m.map)}`);
    assert.ok(m.map.filter((v) => v > 0.05).length > 256, `${name}: map nearly empty`);
  }
});

Package('the installed bin runs the built CLI: camlight info names the adapter', () => {
  assert.match(sh(join(ctx.scratch, 'node_modules/.bin/camlight'), ['info'], ctx.scratch), /adapter/i);
});

Package('README "Use it from Node" runs as written', () => {
  writeFileSync(join(ctx.scratch, 'readme-node.mjs'), readmeExample(join(root, 'README.md'), 'Use it from Node'));
  const out = sh(process.execPath, ['readme-node.mjs'], ctx.scratch);
  assert.match(out, /conv2d_2: 32×32 map of class \d+ \(p=0\.\d+\)/);
});

for (const mode of ['nodenext', 'bundler'] as const) {
  Package(`tsc --moduleResolution ${mode}: a consumer type-checks with no errors (no skipLibCheck)`, () => {
    const out = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', `tsconfig.${mode}.json`], { cwd: ctx.scratch, encoding: 'utf8' });
    assert.is(out.status, 0, `tsc (${mode}) reported:\n${out.stdout}${out.stderr}`);
  });
}

Package('esbuild and Vite bundle the browser entry: no Node modules, core + CAM under 300 KB gzipped', () => {
  sh(bin('esbuild'), ['browser-entry.mjs', '--bundle', '--format=esm', '--platform=browser', '--minify', '--log-level=warning', '--outfile=web-esbuild/bundle.js'], ctx.scratch);
  writeFileSync(join(ctx.scratch, 'index.html'), readFileSync(join(ctx.scratch, 'page.html'), 'utf8').replace('./bundle.js', './browser-entry.mjs'));
  sh(bin('vite'), ['build', '.', '--base', './', '--outDir', 'web-vite', '--emptyOutDir', '--logLevel', 'warn'], ctx.scratch);
  const viteJs = sh('find', ['web-vite/assets', '-name', '*.js'], ctx.scratch).trim().split('\n');
  for (const [tool, files] of [['esbuild', ['web-esbuild/bundle.js']], ['vite', viteJs]] as const) {
    const code = files.map((f) => readFileSync(join(ctx.scratch, f), 'utf8')).join('\n');
    assert.not.match(code, /(from|import\(|require\()\s*["']node:/, `${tool}: bundle imports a node: module`);
    assert.not.match(code, /["']webgpu["']/, `${tool}: bundle references the webgpu package`);
    const gz = gzipSync(code).length;
    console.log(`  ${tool}: ${(code.length / 1024).toFixed(1)} KB, ${(gz / 1024).toFixed(1)} KB gzipped (${files.length} file${files.length > 1 ? 's' : ''})`);
    assert.ok(gz < GZIP_BUDGET, `${tool}: ${gz} bytes gzipped > ${GZIP_BUDGET}`);
  }
});

Package('Chromium (SwiftShader WebGPU) runs the Vite-bundled page (maps within 1e-4 of Node) and the README example bundled by esbuild, no console errors', async () => {
  assert.ok(ctx.node, 'needs the Node run');
  ctx.server = await serveFolder(ctx.scratch);
  const browser = await launchChromium();
  try {
    // The Vite bundle's page is compared map by map; the esbuild bundle runs below as the README's
    // example (each page compiles every shader again, ~30 s on SwiftShader under load).
    for (const tool of ['vite']) {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on('console', (m) => m.type() === 'error' && errors.push(`${m.text()} (${m.location().url})`));
      page.on('pageerror', (e) => errors.push(String(e)));
      await page.goto(`${ctx.server.url}/web-${tool}/index.html`);
      await page.waitForFunction(() => typeof (window as { camlightRun?: unknown }).camlightRun === 'function');
      const photos = PHOTOS.map((name) => ({ name, url: `/${name}`, target: ctx.node!.maps[name]!.target }));
      const got = (await page.evaluate(
        ([m, p]) => (window as unknown as { camlightRun(m: string, p: unknown): Promise<unknown> }).camlightRun(m, p),
        ['/model/model.json', photos] as const,
      )) as Maps & { firstCallMs: number; warmMs: number; pipelines: number };
      compareMaps(got, 1e-4, `Chromium/${tool}`);
      console.log(`  Chromium/${tool}: first Grad-CAM call ${got.firstCallMs.toFixed(0)} ms (${got.pipelines} pipelines compiled), warm call ${got.warmMs.toFixed(0)} ms`);
      mkdirSync(join(root, '.ci/artifacts'), { recursive: true });
      await page.screenshot({ path: join(root, `.ci/artifacts/chromium-${tool}.png`) });
      assert.equal(errors, [], `console errors in Chromium/${tool}`);
      await page.close();
    }
    // README "Use it in a browser": bundled as a user would, its page prints the top class.
    writeFileSync(join(ctx.scratch, 'readme-browser.mjs'), readmeExample(join(root, 'README.md'), 'Use it in a browser'));
    sh(bin('esbuild'), ['readme-browser.mjs', '--bundle', '--format=esm', '--platform=browser', '--log-level=warning', '--outfile=readme-web/main.js'], ctx.scratch);
    writeFileSync(join(ctx.scratch, 'readme-web/index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>readme</title><body><script type="module" src="./main.js"></script></body>');
    cpSync(join(ctx.scratch, 'model'), join(ctx.scratch, 'readme-web/model'), { recursive: true });
    cpSync(join(ctx.scratch, 'chelsea.png'), join(ctx.scratch, 'readme-web/chelsea.png'));
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${ctx.server.url}/readme-web/index.html`);
    await page.waitForFunction(() => /class \d+/.test(document.body.textContent ?? ''), undefined, { timeout: 120_000 });
    assert.match((await page.textContent('body')) ?? '', /conv2d_2: 32×32 map of class \d+ \(p=0\.\d+\)/);
    assert.equal(errors, []);
    await page.close();
  } finally {
    await browser.close();
  }
});

Package('camlight serve: the web page loads the demo model, explains a dropped photograph, no console errors', async () => {
  assert.ok(ctx.node, 'needs the Node run');
  const demos = join(ctx.scratch, 'demos');
  cpSync(join(ctx.scratch, 'model'), join(demos, 'consumer-cnn'), { recursive: true });
  const server = spawn(process.execPath, [join(root, 'bin/camlight.js'), 'serve', demos, '--port', '0'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  const browser = await launchChromium();
  try {
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      server.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /camlight page on (http:\/\/\S+)/.exec(out);
        if (m) ok(m[1]!);
      });
      server.stderr.on('data', (d: Buffer) => (out += d.toString()));
      server.once('exit', (code) => fail(new Error(`camlight serve exited ${code}: ${out}`)));
    });
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    const errors: string[] = [];
    // camlight.json beside model.json is optional: its 404 is the page asking, not a fault.
    const optional404 = (m: { text(): string; location(): { url: string } }) => /404/.test(m.text()) && m.location().url.endsWith('/camlight.json');
    page.on('console', (m) => m.type() === 'error' && !optional404(m) && errors.push(`${m.text()} (${m.location().url})`));
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => /WebGPU adapter: /.test(document.getElementById('gpu')?.textContent ?? ''), undefined, { timeout: 60_000 });
    await page.waitForFunction(() => (document.getElementById('demo') as HTMLSelectElement).options.length > 1);
    await page.selectOption('#demo', 'consumer-cnn');
    await page.waitForFunction(() => /consumer-cnn: input 64×64×3/.test(document.getElementById('model-info')?.textContent ?? ''));
    assert.is(await page.textContent('#layer option:first-child'), 'auto (conv2d_2)');
    await page.setInputFiles('#images', [join(ctx.scratch, 'chelsea.png'), join(ctx.scratch, 'coffee.png')]);
    await page.click('#run');
    await page.waitForFunction(() => document.getElementById('status')?.textContent === 'done', undefined, { timeout: 180_000 });
    assert.is(await page.locator('.card').count(), 2);
    assert.match((await page.textContent('.card table')) ?? '', /conv2d_2 \(32×32\)/);
    mkdirSync(join(root, '.ci/artifacts'), { recursive: true });
    await page.screenshot({ path: join(root, '.ci/artifacts/web-page.png'), fullPage: true });
    assert.equal(errors, [], 'console errors on the web page');
  } finally {
    await browser.close();
    server.kill('SIGTERM');
  }
});

Package('Deno 2 (npm:camlight, --allow-read only) matches Node within 1e-5; deno check is clean', () => {
  assert.ok(ctx.node, 'needs the Node run');
  const deno = bin('deno');
  const env = { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' };
  const run = (args: string[]) => {
    const r = spawnSync(deno, args, { cwd: ctx.scratch, encoding: 'utf8', env, timeout: 300_000, maxBuffer: 64 << 20 });
    assert.is(r.status, 0, `deno ${args.join(' ')}:\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  };
  run(['check', 'deno-maps.ts']);
  const got = JSON.parse(run(['run', `--allow-read=model,maps.json,${PHOTOS.join(',')}`, 'deno-maps.ts', 'model', 'maps.json', ...PHOTOS])) as Maps;
  compareMaps(got, 1e-5, 'Deno');
  writeFileSync(join(ctx.scratch, 'readme-deno.ts'), readmeExample(join(root, 'README.md'), 'Use it from Deno'));
  run(['check', 'readme-deno.ts']);
  assert.match(run(['run', '--allow-read=model,chelsea.png', 'readme-deno.ts']), /conv2d_2: 32×32 map of class \d+ \(p=0\.\d+\)/);
});

function readdirTarball(): string {
  const t = execFileSync('sh', ['-c', 'ls camlight-*.tgz'], { cwd: ctx.scratch, encoding: 'utf8' }).trim();
  assert.ok(existsSync(join(ctx.scratch, t)));
  return t;
}

Package.run();
