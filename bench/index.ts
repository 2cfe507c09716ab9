// Entry point of `npm run bench [-- suite ...] [--quick] [--only a,b] [--wait sleep|spin]`:
// runs the named suites (all when none is named) one after another and exits non-zero when any
// output failed its check. A new suite is one line in SUITES.
import { pathToFileURL } from 'node:url';

export const SYSTEMS = ['camlight', 'tfjs-webgpu', 'tfjs-wasm'] as const;
export type System = (typeof SYSTEMS)[number];

export interface BenchOptions {
  /** Fewer shapes and repeats: a smoke run of the whole path. */
  quick: boolean;
  /** Systems to measure, in order. */
  systems: System[];
  /** How camlight waits for the GPU (see src/gpu/wait.ts); peers always await tfjs directly. */
  wait: 'sleep' | 'spin';
}

export interface Suite {
  name: string;
  describe: string;
  /** Runs and prints the suite; resolves to the number of failed checks. */
  run(opts: BenchOptions): Promise<number>;
}

const SUITES: Record<string, () => Promise<Suite>> = {
  kernels: async () => (await import('./kernels.ts')).suite,
  models: async () => (await import('./models.ts')).suite,
  cam: async () => (await import('./cam.ts')).suite,
  train: async () => (await import('./train.ts')).suite,
  onnx: async () => (await import('./onnx.ts')).suite,
};

export const USAGE = `usage: npm run bench [-- <suite>...] [--quick] [--only ${SYSTEMS.join(',')}] [--wait sleep|spin]
suites: ${Object.keys(SUITES).join(', ')} (all when none is named)
  --quick   fewer shapes and repeats (a smoke run)
  --only    measure only these systems (comma-separated)
  --wait    how camlight waits for the GPU: 'sleep' (default: a calibrated timer, then await) or 'spin'
results are printed and written to bench/results/<suite>.json`;

/** Parses bench arguments; throws with the usage text on anything it does not know. */
export function parseArgs(argv: string[]): { suites: string[]; opts: BenchOptions } {
  const suites: string[] = [];
  const opts: BenchOptions = { quick: false, systems: [...SYSTEMS], wait: 'sleep' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value\n${USAGE}`);
      return v;
    };
    if (flag === '--quick') opts.quick = true;
    else if (flag === '--only') {
      const names = value().split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !(SYSTEMS as readonly string[]).includes(n));
      if (unknown.length || !names.length) throw new Error(`--only: unknown system(s) ${unknown.join(', ') || '(none)'}; choose from ${SYSTEMS.join(', ')}`);
      opts.systems = SYSTEMS.filter((s) => names.includes(s));
    } else if (flag === '--wait') {
      const w = value();
      if (w !== 'sleep' && w !== 'spin') throw new Error(`--wait takes 'sleep' or 'spin', not '${w}'`);
      opts.wait = w;
    } else if (flag === '--help' || flag === '-h') throw new Error(USAGE);
    else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else if (!(a in SUITES)) throw new Error(`unknown suite '${a}'\n${USAGE}`);
    else suites.push(a);
  }
  return { suites: suites.length ? suites : Object.keys(SUITES), opts };
}

/**
 * Runs the bench with command-line arguments; resolves to the process exit code.
 * @example
 *   process.exitCode = await main(['kernels', '--quick']);
 */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs(argv);
  } catch (e) {
    const msg = (e as Error).message;
    const help = argv.includes('--help') || argv.includes('-h');
    (help ? console.log : console.error)(msg);
    return help ? 0 : 2;
  }
  let failures = 0;
  for (const name of parsed.suites) {
    const suite = await SUITES[name]!();
    console.log(`\n=== bench: ${suite.name} — ${suite.describe}${parsed.opts.quick ? ' (quick)' : ''} ===`);
    failures += await suite.run(parsed.opts);
  }
  if (failures) console.error(`\nbench: ${failures} check(s) FAILED (see the messages above); exit code 1`);
  return failures ? 1 : 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const code = await main(process.argv.slice(2));
  // Dawn keeps the event loop alive; leave explicitly once everything is printed and written.
  process.exit(code);
}
