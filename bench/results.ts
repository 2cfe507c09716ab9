// Where a bench run's results go: one file per adapter and suite,
// bench/results/<adapter-slug>/<suite>[-quick][-<systems>].json, holding exactly one run and
// saying which commit, when, on what adapter, how (full or quick, budget, systems) and under
// what load it was measured. A run rewrites only its own file, so adapters and runs never mix.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import type { BenchOptions } from './index.ts';
import { runtime } from '../src/tensor/runtime-global.ts';

export const RESULTS_DIR = resolve(import.meta.dirname, 'results');

/** What a results file says about the run that produced it (everything but the records). */
export interface RunMetaBase {
  suite: string;
  /** GPUAdapterInfo.description (what `rt.adapterName` shows). */
  adapter: string;
  adapterInfo?: { vendor?: string; architecture?: string; device?: string; description?: string };
  /** Directory name under bench/results/. */
  adapterSlug: string;
  /** `git rev-parse HEAD` of the checkout that ran, null when unknown (no git). */
  commit: string | null;
  /** Tracked files outside bench/results/ differed from `commit` (the figures are of uncommitted code). */
  dirty: boolean | null;
  /** When the run started and ended (ISO 8601, UTC). */
  date: string;
  finished?: string;
  mode: 'full' | 'quick';
  /** Seconds of timed samples allowed per measurement (see measure.ts), as chosen for this run. */
  budgetS: number | null;
  systems: string[];
  /** How camlight waited for the GPU in this run (src/gpu/wait.ts): the runtime's mode as the results were written. */
  camlightWait: string;
  /** os.loadavg() (1, 5, 15 min) at the start and end: anything near or above `cpus` distorts times. */
  load: { start: number[]; end?: number[]; cpus: number; cpuModel: string };
  durationS?: number;
  /** CPU seconds this process used (user + system, all threads: on lavapipe that includes the "GPU"); less inflated by other load than durationS. */
  cpuS?: number;
  node: string;
  argv: string[];
}

export interface RunMeta extends RunMetaBase {
  [extra: string]: unknown;
}

export interface ResultsDoc extends RunMeta {
  records: unknown[];
}

/**
 * A directory name for an adapter: vendor and device when the adapter reports them (e.g.
 * 'mesa-llvmpipe-llvm-15-0-6-256-bits'), else its description, lower-case, dashes only.
 * @example
 *   adapterSlug('NVIDIA: 580.159.04', { vendor: 'nvidia', device: 'NVIDIA H200' }); // 'nvidia-h200'
 */
export function adapterSlug(description: string, info?: RunMeta['adapterInfo']): string {
  const parts = [info?.vendor, info?.device].filter((s): s is string => !!s && s.length > 0);
  const text = (parts.length === 2 ? parts.join(' ') : description.replace(/\(.*?\)/g, ' ')).toLowerCase();
  const words = text.split(/[^a-z0-9]+/).filter(Boolean);
  // 'nvidia nvidia-h200' → 'nvidia-h200': drop a word that repeats the previous one.
  const slug = words.filter((w, i) => w !== words[i - 1]).join('-').slice(0, 48).replace(/-+$/, '');
  return slug || 'unknown-adapter';
}

/** The results file of a run: quick runs and runs of a subset of the systems get their own name. */
export function resultsPath(suite: string, slug: string, opts: Pick<BenchOptions, 'quick' | 'systems' | 'out' | 'adapterClass'> & { match?: string[] | null }, allSystems: readonly string[]): string {
  if (opts.out) return resolve(opts.out);
  const subset = opts.systems.length < allSystems.length ? `-${opts.systems.join('+')}` : '';
  const match = opts.match?.length ? `-match-${opts.match.join('+').toLowerCase().replace(/[^a-z0-9.+]+/g, '-')}` : '';
  // A forced kernel class (--adapter-class) is another set of kernels on the same adapter: its own file.
  const cls = opts.adapterClass ? `-class-${opts.adapterClass}` : '';
  return join(RESULTS_DIR, slug, `${suite}${opts.quick ? '-quick' : ''}${subset}${match}${cls}.json`);
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { cwd: resolve(import.meta.dirname, '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);

/** The systems a run measures when no --only is given (set by index.ts, which owns the list). */
let ALL_SYSTEMS: readonly string[] = [];
export function setAllSystems(s: readonly string[]): void {
  ALL_SYSTEMS = s;
}

/** The run a suite is in: set by index.ts before each suite, read when the suite writes its results. */
let current: { suite: string; opts: BenchOptions; meta: Omit<RunMetaBase, 'adapter' | 'adapterSlug'>; t0: number; cpu0: NodeJS.CpuUsage } | null = null;

/**
 * Notes the start of `suite` (commit, time, load); index.ts calls it before running the suite.
 * @example
 *   beginRun('kernels', opts, budgetS);
 */
export function beginRun(suite: string, opts: BenchOptions, budgetS: number | null): void {
  const commit = git(['rev-parse', 'HEAD']);
  const status = commit ? git(['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)bench/results']) : null;
  current = {
    suite,
    opts,
    t0: performance.now(),
    cpu0: process.cpuUsage(),
    meta: {
      suite,
      commit,
      dirty: status == null ? null : status.length > 0,
      date: new Date().toISOString(),
      mode: opts.quick ? 'quick' : 'full',
      budgetS,
      systems: [...opts.systems],
      ...(opts.match ? { match: opts.match } : {}),
      ...(opts.adapterClass ? { adapterClassForced: opts.adapterClass } : {}),
      camlightWait: opts.wait,
      load: { start: round2(loadavg()), cpus: cpus().length, cpuModel: cpus()[0]?.model ?? 'unknown' },
      node: process.version,
      argv: process.argv.slice(2),
    },
  };
}

/** The adapter's info as Dawn reports it on the device (GPUDevice.adapterInfo), when it does. */
export function deviceAdapterInfo(device: GPUDevice): RunMeta['adapterInfo'] | undefined {
  const i = (device as unknown as { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  return i ? { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description } : undefined;
}

/**
 * Writes one run's records to its file (replacing that file only), with the run's metadata and
 * `extra` (suite-specific: geomeans, tolerances, settings). Returns the path written.
 * @example
 *   const file = writeRun('kernels', rt.adapterName, records, { geomeans }, deviceAdapterInfo(rt.device));
 */
export function writeRun(suite: string, adapter: string, records: unknown[], extra: Record<string, unknown> = {}, info?: RunMeta['adapterInfo']): string {
  const run = current;
  if (!run || run.suite !== suite) throw new Error(`bench: writeRun('${suite}') outside a run of that suite; run it through bench/index.ts (npm run bench -- ${suite})`);
  const slug = adapterSlug(adapter, info);
  const file = resultsPath(suite, slug, run.opts, ALL_SYSTEMS);
  const doc: ResultsDoc = {
    ...run.meta,
    adapter,
    ...(info ? { adapterInfo: info } : {}),
    adapterSlug: slug,
    finished: new Date().toISOString(),
    durationS: Math.round((performance.now() - run.t0) / 100) / 10,
    cpuS: cpuSince(run.cpu0),
    load: { ...run.meta.load, end: round2(loadavg()) },
    // --wait auto: the mode the runtime chose for this adapter.
    camlightWait: run.opts.wait === 'auto' ? waitModeNow() : run.opts.wait,
    ...extra,
    records,
  };
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
  return file;
}

/** The default runtime's wait mode, or 'auto' for a suite that never started one. */
function waitModeNow(): string {
  try {
    return runtime().waitMode;
  } catch {
    return 'auto';
  }
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return Math.round((u.user + u.system) / 1e5) / 10;
}

/** Reads a results file; throws naming the file when it is not one. */
export function readResults(file: string): ResultsDoc {
  let doc: Partial<ResultsDoc>;
  try {
    doc = JSON.parse(readFileSync(file, 'utf8')) as Partial<ResultsDoc>;
  } catch (e) {
    throw new Error(`${file}: not a readable JSON results file (${(e as Error).message})`);
  }
  if (!Array.isArray(doc.records) || typeof doc.adapter !== 'string') throw new Error(`${file}: not a bench results file (no 'adapter' and 'records')`);
  return doc as ResultsDoc;
}

/** Every results file under bench/results/<slug>/, as [path, doc]. */
export function allResults(dir = RESULTS_DIR): [string, ResultsDoc][] {
  if (!existsSync(dir)) return [];
  const out: [string, ResultsDoc][] = [];
  for (const slug of readdirSync(dir, { withFileTypes: true })) {
    if (!slug.isDirectory()) continue;
    for (const f of readdirSync(join(dir, slug.name)).sort()) {
      if (!f.endsWith('.json')) continue;
      const file = join(dir, slug.name, f);
      // The triage suite writes an experiment report (settings, verdict table), not timing records.
      if (f === 'triage.json') continue;
      out.push([file, readResults(file)]);
    }
  }
  return out;
}
