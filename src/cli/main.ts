// The command line (Node only): `camlight info` shows the GPU camlight would use, `camlight bench`
// runs the benchmark suites. Later commands (cam, train, convert) are one entry in COMMANDS.
import '../platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { init } from '../tensor/runtime-global.ts';
import { UsageError } from './args.ts';
import { camCommand } from './cam.ts';
import { serveCommand } from './serve.ts';
import { trainCommand } from './train.ts';
import { convertCommand, infoModel, INFO_MODEL_USAGE, versionLine } from './model-commands.ts';
import { reportError } from './errors.ts';
import { mergeCommand } from './merge.ts';

interface Command {
  summary: string;
  run(args: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = {
  info: { summary: 'print the WebGPU adapter and the limits camlight will use; camlight info <model>: its layers and CAM layer', run: info },
  cam: { summary: 'class activation maps for images: camlight cam <images…> --model model.json [--method …]', run: camCommand },
  train: { summary: 'train a classifier, recording CAMs every epoch: camlight train --data fashion-mnist|DIR --model …', run: trainCommand },
  serve: { summary: 'the static page on localhost, with the model folders of DIR as demos: camlight serve [DIR] [--port 8080]', run: serveCommand },
  convert: { summary: 'a Keras .h5 or model.json to the TensorFlow.js layers format: camlight convert <in> <outdir>', run: convertCommand },
  merge: { summary: 'join the folders of a sharded cam run (--shard I/N): camlight merge DIR… --out OUT', run: mergeCommand },
  bench: { summary: 'run the kernel benchmarks: camlight bench [suite] [--quick] [--only ...]', run: bench },
  tune: { summary: 'time GEMM tile candidates on this adapter and cache the fastest: camlight tune [--quick]', run: async (a) => (await import('./tune.ts')).tuneCommand(a) },
};

const USAGE = `usage: camlight <command> [options]

commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(8)} ${c.summary}`)
  .join('\n')}

  camlight <command> --help   more about one command`;

/** The limits `camlight info` prints (and --json lists). */
const LIMIT_NAMES = ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxComputeWorkgroupsPerDimension', 'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX', 'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupStorageSize', 'maxStorageBuffersPerShaderStage'] as const;

/**
 * `camlight info`: the adapter's name, features and the limits that bound tensor sizes.
 * @example
 *   $ camlight info
 */
async function info(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(INFO_MODEL_USAGE);
    return 0;
  }
  if (args[0]?.toLowerCase().endsWith('.onnx')) return (await import('./onnx-info.ts')).onnxInfo(args[0]);
  if (args.some((x) => !x.startsWith('-'))) return infoModel(args);
  const bad = args.find((x) => x !== '--json');
  if (bad) throw new UsageError(`unknown option ${bad}; see --help`);
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  const rt = await init();
  const l = rt.limits;
  if (args.includes('--json')) {
    const limits = Object.fromEntries(LIMIT_NAMES.map((k) => [k, l[k]]));
    console.log(JSON.stringify({ adapter: rt.adapterName, features: [...rt.features].sort(), limits }, null, 1));
    rt.destroy();
    return 0;
  }
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(0)} MiB`;
  console.log(`adapter: ${rt.adapterName}`);
  console.log(`features: ${[...rt.features].sort().join(', ') || '(none)'}`);
  console.log(`maxBufferSize: ${mib(l.maxBufferSize)}`);
  console.log(`maxStorageBufferBindingSize: ${mib(l.maxStorageBufferBindingSize)}`);
  console.log(`maxComputeWorkgroupsPerDimension: ${l.maxComputeWorkgroupsPerDimension}`);
  console.log(`maxComputeInvocationsPerWorkgroup: ${l.maxComputeInvocationsPerWorkgroup}`);
  console.log(
    `maxComputeWorkgroupSize: ${l.maxComputeWorkgroupSizeX}×${l.maxComputeWorkgroupSizeY}×${l.maxComputeWorkgroupSizeZ}`,
  );
  console.log(`maxComputeWorkgroupStorageSize: ${l.maxComputeWorkgroupStorageSize} bytes`);
  console.log(`maxStorageBuffersPerShaderStage: ${l.maxStorageBuffersPerShaderStage}`);
  rt.destroy();
  return 0;
}

/** `camlight bench [suite] [options]`: the bench in bench/ (needs the dev dependencies). */
async function bench(args: string[]): Promise<number> {
  let mod: { main(argv: string[]): Promise<number> };
  try {
    // A variable specifier keeps the type checker and bundlers from pulling bench/ into src/.
    const spec = new URL('../../bench/index.ts', import.meta.url).href;
    mod = (await import(spec)) as typeof mod;
  } catch (e) {
    console.error(`camlight bench needs a source checkout with its dev dependencies (npm ci): ${(e as Error).message}`);
    return 1;
  }
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  return mod.main(args);
}

/**
 * Runs one command line; resolves to the exit code.
 * @example
 *   process.exitCode = await main(['info']);
 */
export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V') {
    const line = await versionLine();
    // --json: {"camlight": "0.1.0", "node": "22.…"}
    console.log(rest.includes('--json') ? JSON.stringify({ camlight: line.split(' ')[1], node: process.versions.node }) : line);
    return 0;
  }
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`camlight: unknown command '${name}'\n\n${USAGE}`);
    return 1;
  }
  try {
    return await cmd.run(rest);
  } catch (e) {
    // One line, naming the file or option (exit 1); camlight's own bugs exit 2 with a hint (errors.ts).
    return reportError(name, e);
  }
}

// Dawn keeps the event loop alive: leave explicitly once the command is done.
process.exit(await main(process.argv.slice(2)));
