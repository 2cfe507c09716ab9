// The tiled GEMM core's 'gpu' kernels in headless Chromium on SwiftShader WebGPU (the second
// software adapter, after lavapipe in gemm-tiled.test.ts, that checks them without a GPU): the
// page (gemm-browser-page.ts, bundled from src/ by esbuild) runs camlight's public kernels on a
// Runtime with adapterClass 'gpu'; every output is compared here with float64 host sums of the
// same seeded inputs, and every dispatch is recorded, so the test shows which tile, GEMV or
// split-K plan ran. Cases: conv2d forward (3×3 ragged, 1×1 shortcut, 1×1 and 3×3 stride 2, bias
// and activation), dInput, dWeight (split-K), matmul (ragged, transposed, batched, split-K), dense
// and GEMV (M ≤ 4); controls: the 'cpu' class runs no gemm.* program, a corrupted input is caught.
//
// Tolerance: |got - want| ≤ 1e-4·|want| + 1e-4·max|want| (as gemm-tiled.test.ts): fp32 sums of up
// to 2048 terms in another order than the float64 reference; a wrong tap, row or column is O(0.1).
// Few, small shapes: SwiftShader compiles each pipeline in ~1-2 s, and that is this test's time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { GemmPlan, GemmTile } from '../../src/kernels/gemm-tiled.ts';
import { GEMM_TILES } from '../../src/kernels/gemm-tiles.ts';
import type { Activation } from '../../src/kernels/program.ts';
import { assertClose, randn } from '../helpers.ts';
import { launchChromium, serveFolder, type Served } from '../package/browser.ts';
import type { PageArray, PageCase, PageDispatch, PageResult } from './gemm-browser-page.ts';
import { hostConv, hostEpilogue, hostMatmul, shapeSize, type ConvGeometryOpts } from './gemm-host.ts';

const s = suite('kernels/gemm-tiled-browser');
const ctx = { dir: '', server: null as Served | null, browser: null as Browser | null, page: null as Page | null };
const errors: string[] = [];
const blocked: string[] = [];
/** Every plan that ran on the 'gpu' class: '<program> <core> split:<n>' → cases. */
const ran = new Map<string, string[]>();
let adapter = '';
let seed = 1301;

/** A GEMM program's core from its pipeline key: the tile's fields, or GEMV's row count. */
function coreOf(d: PageDispatch): string {
  const core = /core:\{([^}]*)\}/.exec(d.key)?.[1] ?? '?';
  const f = Object.fromEntries([...core.matchAll(/(\w+):(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
  return 'gemvRows' in f ? `gemv(rows ${f.gemvRows})` : `${f.wgx}x${f.wgy}·${f.tm}x${f.tn}·k${f.tk}`;
}
const tileName = (t: GemmTile) => `${t.wgx}x${t.wgy}·${t.tm}x${t.tn}·k${t.tk}`;
const splitsOf = (d: PageDispatch) => Number(/splits:(\d+)/.exec(d.shapes)?.[1] ?? 1);
/** The tiled core's programs (gemm.*) and the split-K reduction it shares with matmul. */
const onGemmPath = (ds: PageDispatch[]) => ds.length > 0 && ds.every((d) => d.name.startsWith('gemm.') || d.name === 'matmul.split-reduce');

const arr = (data: Float32Array, shape: number[]): PageArray => ({ shape, data: Array.from(data) });

/** Runs one case in the page (60 s at most: a hung compile fails the test instead of stalling CI). */
async function runPage(c: PageCase): Promise<PageResult> {
  const page = ctx.page!;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, fail) => { timer = setTimeout(() => fail(new Error(`${c.name}: no result from Chromium in 60 s`)), 60_000); });
  try {
    return await Promise.race([page.evaluate((cc) => (window as unknown as { gemmRun(c: PageCase): Promise<PageResult> }).gemmRun(cc), c), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function close(got: ArrayLike<number>, want: Float64Array, what: string) {
  const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return assertClose(got, want, { rtol: 1e-4, atol: 1e-4 * Math.max(scale, 1e-3), what });
}

/**
 * Runs `c` on the 'gpu' class, checks its output against `want`, that only the tiled core (and
 * its split-K reduction) ran, and, when forced, that the plan's tile and splits are what ran.
 */
async function check(c: PageCase, want: Float64Array, wantShape: readonly number[]): Promise<PageResult> {
  const r = await runPage(c);
  adapter = r.adapter;
  assert.is(r.adapterClass, 'gpu', `${c.name}: runtime class`);
  assert.equal(r.shape, [...wantShape], `${c.name}: output shape`);
  const rep = close(r.out, want, `${c.name} on ${r.adapter}`);
  assert.ok(onGemmPath(r.dispatches), `${c.name}: ran ${r.dispatches.map((d) => d.name).join(', ')}; want only the tiled core`);
  const main = r.dispatches.filter((d) => d.name.startsWith('gemm.'));
  assert.is(main.length, 1, `${c.name}: one GEMM dispatch`);
  const d = main[0]!;
  if (c.plan) {
    if (c.plan.kind === 'tiled') assert.is(coreOf(d), tileName(c.plan.tile), `${c.name}: the forced tile ran`);
    else assert.match(coreOf(d), /^gemv/, `${c.name}: the forced GEMV ran`);
    assert.is(splitsOf(d) > 1, c.plan.splits > 1, `${c.name}: split-K as forced`);
  }
  assert.is(r.dispatches.some((x) => x.name === 'matmul.split-reduce'), splitsOf(d) > 1, `${c.name}: a split-K reduce pass iff split`);
  const tag = `${d.name} ${coreOf(d)} split:${splitsOf(d)}`;
  ran.set(tag, [...(ran.get(tag) ?? []), c.name]);
  console.log(`  ${c.name}: ${tag}, max |Δ| ${rep.maxAbs.toExponential(1)}, ${r.ms.toFixed(0)} ms`);
  return r;
}

s.before(async () => {
  ctx.dir = mkdtempSync(join(tmpdir(), 'camlight-gemm-browser-'));
  await build({
    entryPoints: [join(import.meta.dirname, 'gemm-browser-page.ts')], bundle: true, format: 'esm', platform: 'browser',
    outfile: join(ctx.dir, 'page.js'), logLevel: 'warning',
  });
  writeFileSync(join(ctx.dir, 'index.html'), '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><title>gemm</title><script type="module" src="./page.js"></script>');
  ctx.server = await serveFolder(ctx.dir);
  ctx.browser = await launchChromium();
  const page = await ctx.browser.newPage();
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('pageerror', (e) => errors.push(String(e)));
  // Nothing leaves the machine: only the local server's files load.
  await page.route('**/*', (route) => {
    if (route.request().url().startsWith(ctx.server!.url)) return route.continue();
    blocked.push(route.request().url());
    return route.abort();
  });
  await page.goto(`${ctx.server.url}/index.html`);
  await page.waitForFunction(() => typeof (window as { gemmRun?: unknown }).gemmRun === 'function');
  ctx.page = page;
});

s.after(async () => {
  await ctx.browser?.close();
  await ctx.server?.close();
  if (ctx.dir) rmSync(ctx.dir, { recursive: true, force: true });
});

interface ConvCase { name: string; xs: number[]; ws: number[]; o: ConvGeometryOpts; act: Activation; bias: boolean }

/** Seeded inputs and the float64 references of all three ops for one layer. */
function convData(c: ConvCase) {
  const xd = randn(shapeSize(c.xs), seed++), wd = randn(shapeSize(c.ws), seed++, -0.5, 0.5);
  const k = c.ws[3]!;
  const bd = c.bias ? randn(k, seed++) : undefined;
  const ref0 = hostConv(xd, c.xs, wd, c.ws, c.o);
  const dyd = randn(shapeSize(ref0.outShape), seed++);
  const ref = hostConv(xd, c.xs, wd, c.ws, c.o, dyd);
  return { xd, wd, bd, dyd, ref, y: hostEpilogue(ref.y, bd, c.act) };
}

/** conv2d forward with the epilogue, dInput and dWeight of one layer, each under `plans[op]`. */
async function convOps(c: ConvCase, plans: { f?: GemmPlan; dx?: GemmPlan; dw?: GemmPlan } = {}, which = { f: true, dx: true, dw: true }) {
  const d = convData(c);
  const tag = (op: string, p?: GemmPlan) => `${op} ${c.name}${p ? ` [forced ${p.kind === 'tiled' ? tileName(p.tile) : 'gemv'}${p.splits > 1 ? ` split ${p.splits}` : ''}]` : ''}`;
  if (which.f) {
    await check({
      name: tag('conv2d', plans.f), op: 'conv2d', plan: plans.f, x: arr(d.xd, c.xs), w: arr(d.wd, c.ws),
      bias: d.bd && arr(d.bd, [c.ws[3]!]), opts: { ...c.o, activation: c.act },
    }, d.y, d.ref.outShape);
  }
  if (which.dx) {
    await check({ name: tag('dInput', plans.dx), op: 'conv2dInputGrad', plan: plans.dx, dy: arr(d.dyd, d.ref.outShape), w: arr(d.wd, c.ws), xShape: c.xs, opts: c.o }, d.ref.dx, c.xs);
  }
  if (which.dw) {
    await check({ name: tag('dWeight', plans.dw), op: 'conv2dWeightGrad', plan: plans.dw, x: arr(d.xd, c.xs), dy: arr(d.dyd, d.ref.outShape), wShape: c.ws, opts: c.o }, d.ref.dw, c.ws);
  }
}

// 3×3 'same' over 9×11: M = 99 output pixels, ragged against every block; C = 8, K = 12 (vec4).
const ragged: ConvCase = { name: '3×3 x:(1,9,11,8) w:(3,3,8,12) same, bias+relu', xs: [1, 9, 11, 8], ws: [3, 3, 8, 12], o: { padding: 'same' }, act: 'relu', bias: true };

s('conv2d forward, dInput and dWeight of a ragged 3×3 layer under every tile of the gpu table', async () => {
  for (const tile of GEMM_TILES.gpu) {
    const p: GemmPlan = { kind: 'tiled', tile, splits: 1 };
    await convOps(ragged, { f: p, dx: p, dw: p });
  }
});

s('conv2d by selection: 1×1 shortcut, 1×1 stride-2 projection, 3×3 stride 2 with scalar channels; split-K dWeight', async () => {
  // A stride-1 1×1 forward reads x as a plain matrix (the pointwise reader); its gradients are
  // the general readers' (run above and below), so they are left out to save compiles.
  await convOps({ name: '1×1 x:(2,5,5,12) w:(1,1,12,20), bias+relu6', xs: [2, 5, 5, 12], ws: [1, 1, 12, 20], o: {}, act: 'relu6', bias: true }, {}, { f: true, dx: false, dw: false });
  await convOps({ name: '1×1 stride 2 x:(1,8,8,8) w:(1,1,8,16), bias', xs: [1, 8, 8, 8], ws: [1, 1, 8, 16], o: { strides: 2 }, act: 'linear', bias: true });
  await convOps({ name: '3×3 stride 2 x:(2,7,9,5) w:(3,3,5,7) same, bias+sigmoid', xs: [2, 7, 9, 5], ws: [3, 3, 5, 7], o: { padding: 'same', strides: 2 }, act: 'sigmoid', bias: true });
  // dWeight's reduction runs over every output pixel (K = 32·32 = 1024): selection splits it.
  await convOps({ name: '3×3 x:(1,32,32,4) w:(3,3,4,8) same', xs: [1, 32, 32, 4], ws: [3, 3, 4, 8], o: { padding: 'same' }, act: 'linear', bias: false }, {}, { f: false, dx: false, dw: true });
  // Forced split-K on every conv user, with scalar channels (K = 3·3·5 = 45: two splits of 16·2).
  const p: GemmPlan = { kind: 'tiled', tile: GEMM_TILES.gpu[3]!, splits: 2 };
  await convOps({ name: '3×3 stride 2 x:(2,7,9,5) w:(3,3,5,7) same, bias+tanh', xs: [2, 7, 9, 5], ws: [3, 3, 5, 7], o: { padding: 'same', strides: 2 }, act: 'tanh', bias: true }, { f: p, dx: p, dw: p });
  assert.ok([...ran.keys()].some((k) => k.startsWith('gemm.conv2d-dw') && !k.endsWith('split:1') && ran.get(k)!.some((n) => !n.includes('forced'))),
    `selection did not split dWeight's 1024-long reduction: ${[...ran.keys()].join('; ')}`);
});

interface MmCase { name: string; as: number[]; bs: number[]; ta?: boolean; tb?: boolean; bias?: boolean; act?: Activation; plan?: GemmPlan; dense?: boolean }

async function mm(c: MmCase) {
  const ad = randn(shapeSize(c.as), seed++), bd = randn(shapeSize(c.bs), seed++);
  const n = c.tb ? c.bs[c.bs.length - 2]! : c.bs[c.bs.length - 1]!;
  const biasd = c.bias ? randn(n, seed++) : undefined;
  const ref = hostMatmul(ad, c.as, bd, c.bs, { ta: c.ta, tb: c.tb, bias: biasd, act: c.act });
  const bias = biasd && arr(biasd, [n]);
  const pc: PageCase = c.dense
    ? { name: c.name, op: 'dense', plan: c.plan, x: arr(ad, c.as), w: arr(bd, c.bs), bias, activation: c.act ?? 'linear' }
    : { name: c.name, op: 'matmul', plan: c.plan, a: arr(ad, c.as), b: arr(bd, c.bs), bias, opts: { transposeA: c.ta, transposeB: c.tb, activation: c.act } };
  return check(pc, ref.y, ref.shape);
}

s('matmul and dense: ragged and transposed under forced tiles; batched, split-K and GEMV (M ≤ 4) by selection', async () => {
  await mm({ name: 'matmul (33,65)·(65,17) bias+tanh [forced 8x8·8x8·k8]', as: [33, 65], bs: [65, 17], bias: true, act: 'tanh', plan: { kind: 'tiled', tile: GEMM_TILES.gpu[0]!, splits: 1 } });
  await mm({ name: 'matmul (65,33)ᵀ·(17,65)ᵀ [forced 16x16·4x4·k16]', as: [65, 33], bs: [17, 65], ta: true, tb: true, plan: { kind: 'tiled', tile: GEMM_TILES.gpu[1]!, splits: 1 } });
  await mm({ name: 'matmul (2,37,70)·(70,36) broadcast, bias+relu', as: [2, 37, 70], bs: [70, 36], bias: true, act: 'relu' });
  // A small output with a long reduction: selection splits K (2048 / 512 → up to 4 splits).
  await mm({ name: 'matmul (24,2048)·(2048,20) bias+sigmoid', as: [24, 2048], bs: [2048, 20], bias: true, act: 'sigmoid' });
  // Batch-1 dense: GEMV, split over K for the 2048-long reduction; M = 3 with scalar columns.
  await mm({ name: 'dense (1,2048)·(2048,40) bias+relu', as: [1, 2048], bs: [2048, 40], bias: true, act: 'relu', dense: true });
  await mm({ name: 'matmul (3,300)·(300,37) bias', as: [3, 300], bs: [300, 37], bias: true });
  const gemv = [...ran.keys()].filter((k) => k.includes('gemv'));
  assert.ok(gemv.some((k) => !k.endsWith('split:1')) && gemv.some((k) => k.endsWith('split:1')), `GEMV ran split and unsplit: ${gemv.join('; ')}`);
  assert.ok([...ran.keys()].some((k) => k.startsWith('gemm.matmul') && !k.includes('gemv') && !k.endsWith('split:1')), 'selection split the tiled matmul over K');
});

s('controls: the cpu class runs the register-blocked kernels (no gemm.*); a corrupted input is caught', async () => {
  const d = convData(ragged);
  const r = await runPage({ name: 'control', op: 'conv2d', adapterClass: 'cpu', x: arr(d.xd, ragged.xs), w: arr(d.wd, ragged.ws), bias: arr(d.bd!, [12]), opts: { ...ragged.o, activation: ragged.act } });
  assert.is(r.adapterClass, 'cpu');
  close(r.out, d.y, 'control: conv2d on the cpu class');
  assert.not.ok(onGemmPath(r.dispatches), `the cpu class ran ${r.dispatches.map((x) => x.name).join(', ')}; the gpu-path check must reject it`);
  // The same output against the reference of an input with one value moved by 0.25 must fail.
  const bad = Float32Array.from(d.xd);
  bad[5 * 11 * 8 + 4 * 8 + 3] = bad[5 * 11 * 8 + 4 * 8 + 3]! + 0.25;
  const wrong = hostEpilogue(hostConv(bad, ragged.xs, d.wd, ragged.ws, ragged.o).y, d.bd, ragged.act);
  let caught = '';
  try {
    close(r.out, wrong, 'control');
  } catch (e) {
    caught = (e as Error).message;
  }
  assert.match(caught, /element \d+ is .*reference/, 'a corrupted input passed the tolerance');
});

s('every tile of the gpu table, GEMV and split-K ran on SwiftShader; no page errors, nothing fetched', () => {
  console.log(`  ${adapter}: the plans that ran, by program and core:`);
  for (const [k, v] of [...ran].sort()) console.log(`    ${k}: ${v.length} case${v.length > 1 ? 's' : ''}`);
  assert.match(adapter, /swiftshader/i, 'the adapter is SwiftShader');
  const keys = [...ran.keys()];
  for (const t of GEMM_TILES.gpu) {
    for (const user of ['gemm.conv2d ', 'gemm.conv2d-dx ', 'gemm.conv2d-dw ']) {
      assert.ok(keys.some((k) => k.startsWith(user) && k.includes(tileName(t))), `${user.trim()} never ran tile ${tileName(t)}`);
    }
  }
  for (const user of ['gemm.conv2d ', 'gemm.conv2d-dx ', 'gemm.conv2d-dw ', 'gemm.matmul ']) {
    assert.ok(keys.some((k) => k.startsWith(user) && !k.endsWith('split:1')), `${user.trim()} never ran split-K`);
  }
  assert.equal(errors, [], 'console errors in the page');
  assert.equal(blocked, [], 'requests outside the local server');
});

s.run();
