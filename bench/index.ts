// Entry point of `npm run bench [-- suite ...] [--quick] [--budget S] [--only a,b] [--match a,b] [--wait nap|sleep|spin] [--out FILE]`:
// runs the named suites (the speed suites when none is named) one after another and exits non-zero when any
// output failed its check; `npm run bench -- compare A.json B.json` and `npm run bench -- report`
// read results files instead (bench/compare.ts, bench/report.ts).
//
// The suite contract (a new suite is one file and one line in SUITES):
// - the file exports `suite: Suite` (below): a name, a one-line description, optionally its
//   default budget, and `run(opts)` resolving to the number of outputs that failed their check;
// - budget: `opts.budgetS` is the seconds of timed samples allowed per measurement (--budget,
//   else the suite's `defaultBudgetS`, else 2 s full / 0.5 s quick). Check an output first, then
//   time it with `timeLaunches(run, planFor(opts.budgetS))` or `timeCalls(once, 1000 * opts.budgetS)`
//   (bench/measure.ts): a slow system gets fewer samples, never a different check;
// - progress: `const p = new Progress(weights)` (bench/progress.ts) with one weight per planned
//   measurement, and `p.step(text)` after each: it prints elapsed and estimated remaining time;
// - results: `writeRun(suite.name, rt.adapterName, records, extra, deviceAdapterInfo(rt.device))`
//   (bench/results.ts) writes bench/results/<adapter-slug>/<suite>[-quick].json with the commit,
//   date, adapter, mode, budget, systems and load average; give each record `ms: { system: ms }`
//   and `timing: { system: timingRecord(t) }` (measure.ts) so that `bench compare` can pair and
//   compare it, and the fields that name it (op/shape, model/size/batch/method, or `key`).
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { loadavg } from 'node:os';
import { pathToFileURL } from 'node:url';
import { beginRun, setAllSystems } from './results.ts';
import type { WaitMode } from '../src/gpu/wait.ts';

export const SYSTEMS = ['camlight', 'tfjs-webgpu', 'tfjs-wasm'] as const;
export type System = (typeof SYSTEMS)[number];
setAllSystems(SYSTEMS);

export interface BenchOptions {
  /** Fewer shapes and samples: a smoke run of the whole path. */
  quick: boolean;
  /** Systems to measure, in order. */
  systems: System[];
  /** How camlight waits for the GPU (see src/gpu/wait.ts); 'auto': the runtime's default for the adapter. Peers always await tfjs directly. */
  wait: 'auto' | WaitMode;
  /** --budget: seconds of timed samples per measurement; null: the suite's default. */
  budgetS: number | null;
  /** --out: write the results here instead of bench/results/<adapter-slug>/<suite>….json. */
  out: string | null;
  /** --match: measure only the cases whose name contains one of these (suites that support it: kernels). */
  match: string[] | null;
  /** --adapter-class (or CAMLIGHT_ADAPTER_CLASS): the kernel family forced on the adapter; results get a file of their own. */
  adapterClass?: 'cpu' | 'gpu' | null;
  /** --profile: models and cam also run one pass under the GPU profiler and print time per op kind. */
  profile: boolean;
}

/** What a suite's run() receives: the options with the budget resolved for that suite. */
export interface SuiteOptions extends BenchOptions {
  budgetS: number;
}

export interface Suite {
  name: string;
  describe: string;
  /** Seconds per measurement when --budget is not given (default 2 full, 0.5 quick). */
  defaultBudgetS?: { full: number; quick: number };
  /** Runs and prints the suite; resolves to the number of failed checks. */
  run(opts: SuiteOptions): Promise<number>;
}

const SUITES: Record<string, () => Promise<Suite>> = {
  kernels: async () => (await import('./kernels.ts')).suite,
  models: async () => (await import('./models.ts')).suite,
  cam: async () => (await import('./cam.ts')).suite,
  train: async () => (await import('./train.ts')).suite,
  triage: async () => (await import('./triage.ts')).suite,
  fuzz: async () => (await import('./fuzz.ts')).suite,
  soak: async () => (await import('./soak.ts')).suite,
  onnx: async () => (await import('./onnx.ts')).suite,
};

/**
 * What `npm run bench` runs when no suite is named: the speed comparisons with TensorFlow.js a
 * kernel author reruns between two edits (about 25 minutes idle on a 2-core lavapipe machine).
 * triage (a detector experiment that trains models), onnx (needs the exported torchvision
 * models), fuzz and soak (robustness: thousands of mutated files, thousands of images) take far
 * longer and measure other things, so they run when named.
 */
export const DEFAULT_SUITES = ['kernels', 'models', 'cam', 'train'] as const;

export const USAGE = `usage: npm run bench [-- <suite>...] [--quick] [--budget S] [--only ${SYSTEMS.join(',')}] [--wait nap|sleep|spin] [--match a,b] [--profile] [--out FILE]
       npm run bench -- compare BEFORE.json AFTER.json [--system camlight]
       npm run bench -- report [--markdown] [FILE...]
suites: ${Object.keys(SUITES).join(', ')} (${DEFAULT_SUITES.join(', ')} when none is named)
  --quick   fewer shapes and samples (a smoke run)
  --budget  seconds of timed samples per measurement (each suite has a default; a slow system gets
            fewer samples, at least one; every output is checked before it is timed whatever the budget)
  --only    measure only these systems (comma-separated)
  --wait    how camlight waits for the GPU (default: the runtime's, 'nap' on CPU adapters in Node, else 'sleep'):
            'nap' (block ≤ 1 ms between single polls), 'sleep' (a calibrated timer, then await) or 'spin' (await)
  --match   kernels only: measure the cases whose 'op shape' contains one of these (comma-separated), e.g. conv2d.dWeight,matmul
  --profile models, cam: one more pass per row under the GPU profiler, time per op kind (bench/profile.ts)
  --out     results file to write (one suite only); default bench/results/<adapter>/<suite>[-quick][-systems][-match][-class-X].json
  --adapter-class cpu|gpu  run the other class's kernels on this adapter (e.g. the tiled GPU core on lavapipe; also
            CAMLIGHT_ADAPTER_CLASS); the results file gets a -class-X suffix so the two never mix
compare: per-measurement time ratio AFTER/BEFORE of two results files of the same adapter, with a noise estimate
report:  the tables of the README from bench/results/*/*.json (or the files named)`;

/** Parses bench arguments; throws with the usage text on anything it does not know. */
export function parseArgs(argv: string[]): { suites: string[]; opts: BenchOptions } {
  const suites: string[] = [];
  const opts: BenchOptions = { quick: false, systems: [...SYSTEMS], wait: 'auto', budgetS: null, out: null, match: null, profile: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--quick') opts.quick = true;
    else if (flag === '--profile') opts.profile = true;
    else if (flag === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !(SYSTEMS as readonly string[]).includes(n));
      if (unknown.length || !names.length) throw new Error(`--only: unknown system(s) ${unknown.join(', ') || '(none)'}; choose from ${SYSTEMS.join(', ')}`);
      opts.systems = SYSTEMS.filter((s) => names.includes(s));
    } else if (flag === '--wait') {
      const w = value();
      if (w !== 'nap' && w !== 'sleep' && w !== 'spin') throw new Error(`--wait takes 'nap', 'sleep' or 'spin', not '${w}'`);
      opts.wait = w;
    } else if (flag === '--budget') {
      const v = value();
      const b = Number(v);
      if (!(b > 0) || !Number.isFinite(b)) throw new Error(`--budget takes seconds per measurement (a positive number), not '${v}'`);
      opts.budgetS = b;
    } else if (flag === '--out') opts.out = value();
    else if (flag === '--match') opts.match = value().split(',').map((m) => m.trim()).filter(Boolean);
    else if (flag === '--adapter-class') {
      const c = value();
      if (c !== 'cpu' && c !== 'gpu') throw new Error(`--adapter-class takes 'cpu' or 'gpu', not '${c}'`);
      opts.adapterClass = c;
    }
    else if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (!(a in SUITES)) throw new Error(`unknown suite '${a}'\n${USAGE}`);
    else suites.push(a);
  }
  if (opts.out && suites.length !== 1) throw new Error(`--out names one results file: name exactly one suite with it\n${USAGE}`);
  return { suites: suites.length ? suites : [...DEFAULT_SUITES], opts };
}

/**
 * Runs the bench with command-line arguments; resolves to the process exit code.
 * @example
 *   process.exitCode = await main(['kernels', '--quick']);
 */
export async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'compare') return (await import('./compare.ts')).main(argv.slice(1));
  if (argv[0] === 'report') return (await import('./report.ts')).main(argv.slice(1));
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    const msg = (e as Error).message;
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? console.log : console.error)(msg);
    return help ? 0 : 1;
  }
  const envClass = process.env.CAMLIGHT_ADAPTER_CLASS;
  if (!parsed.opts.adapterClass && (envClass === 'cpu' || envClass === 'gpu')) parsed.opts.adapterClass = envClass;
  if (parsed.opts.adapterClass) process.env.CAMLIGHT_ADAPTER_CLASS = parsed.opts.adapterClass; // Runtime.create reads it
  let failures = 0;
  const t0 = performance.now();
  for (const name of parsed.suites) {
    const suite = await SUITES[name]!();
    const defaults = suite.defaultBudgetS ?? { full: 2, quick: 0.5 };
    const budgetS = parsed.opts.budgetS ?? (parsed.opts.quick ? defaults.quick : defaults.full);
    console.log(`\n=== bench: ${suite.name} — ${suite.describe}${parsed.opts.quick ? ' (quick)' : ''}, budget ${budgetS} s per measurement ===`);
    const s0 = performance.now();
    beginRun(suite.name, parsed.opts, budgetS);
    const c0 = process.cpuUsage();
    failures += await suite.run({ ...parsed.opts, budgetS });
    const c = process.cpuUsage(c0);
    console.log(`=== ${suite.name}: ${((performance.now() - s0) / 1000).toFixed(0)} s (process CPU ${((c.user + c.system) / 1e6).toFixed(0)} s, load average now ${loadavg().map((x) => x.toFixed(1)).join(' ')}) ===`);
  }
  if (parsed.suites.length > 1) console.log(`\nbench: ${parsed.suites.length} suites in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  if (failures) console.error(`\nbench: ${failures} check(s) FAILED (see the messages above); exit code 1`);
  return failures ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  // Dawn keeps the event loop alive; leave explicitly once everything is printed and written.
  process.exit(code);
}
