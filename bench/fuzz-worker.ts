// The fuzz suite's worker thread: mutates one input per request (seeded) and runs camlight's
// CPU-side reading of it (image decoding; model.json, shard and .h5 parsing, topology building
// and weight matching). It runs in a worker so that a hang can be caught and the worker replaced.
// It reads through Node's platform hooks as the CLI does (.h5 parsed in a worker with a deadline).
import '../src/platform/node.ts';
import { parentPort, workerData } from 'node:worker_threads';
import { memoryFiles } from '../src/io/files.ts';
import { decodeImage } from '../src/io/image.ts';
import { readH5 } from '../src/nn/loaders/h5.ts';
import { matchH5, matchManifest } from '../src/nn/loaders/match.ts';
import { parseModelJson, readWeights } from '../src/nn/loaders/tfjs-format.ts';
import { modelFromTopology } from '../src/nn/loaders/index.ts';
import { mutateBytes, mutateJson, mutatePng, rng } from './fuzz-mutate.ts';

export type Format = 'png' | 'jpeg' | 'model.json' | 'shard' | 'h5';

/** The unmutated inputs and what they give, sent once when the worker starts. */
export interface FuzzBase {
  png: Uint8Array;
  pngPixels: Uint8ClampedArray;
  jpeg: Uint8Array;
  jpegPixels: Uint8ClampedArray;
  modelJson: string;
  shardPath: string;
  shard: Uint8Array;
  h5: Uint8Array;
}

export type Outcome =
  | 'clean error' | 'accepted, same output' | 'accepted, output changed' | 'warning (non-finite output)'
  | 'hang' | 'crash' | 'stack trace' | 'internal message' | 'error without file name' | 'silently wrong';

/** A case's result; `cpuOk` cases (model formats) carry the mutated files for the GPU stage. */
export interface CaseResult {
  seed: number;
  op: string;
  outcome?: Outcome;
  message?: string;
  cpuOk?: { modelJson: string; shard: Uint8Array; h5?: Uint8Array; lengthChanged: boolean };
}

// JavaScript's own error texts: a user must never see them.
const INTERNAL = /is not a function|Cannot read propert|Cannot set propert|is not iterable|undefined is not|Invalid typed array length|Invalid array length|Maximum call stack|Array buffer allocation failed|out of memory|Offset is outside|is not defined|Cannot convert|Unexpected token|Unexpected end of JSON|\bof undefined\b|\bof null\b|start offset of|must be a multiple of/;

/**
 * Classifies a thrown error: a JS-internal error or text, a stack trace in the message, an error
 * that does not name the file (`names`: strings one of which the message must contain), else clean.
 */
export function classifyError(e: unknown, names: string[]): { outcome: Outcome; message: string } {
  const message = e instanceof Error ? e.message : String(e);
  if (/\n\s+at /.test(message)) return { outcome: 'stack trace', message };
  if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || INTERNAL.test(message)) {
    return { outcome: 'internal message', message: `${(e as Error)?.name ?? typeof e}: ${message}` };
  }
  if (!names.some((n) => message.includes(n))) return { outcome: 'error without file name', message };
  return { outcome: 'clean error', message };
}

/**
 * The mutated .h5 of `seed` (the bench's and the tests' one definition).
 * @example
 *   h5Mutation(71, base.h5).op; // 'insert': one of the files libhdf5 loops on
 */
export function h5Mutation(seed: number, h5: Uint8Array): { bytes: Uint8Array; op: string } {
  return mutateBytes(h5, rng(seed * 7919 + 'h5'.length), { floats: true });
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);

/** Runs one case of `format` with `seed` against the base inputs (the CPU stage). */
export async function runCase(format: Format, seed: number, base: FuzzBase): Promise<CaseResult> {
  const r = rng(seed * 7919 + format.length);
  if (format === 'png' || format === 'jpeg') {
    const m = format === 'png' ? mutatePng(base.png, r) : { ...mutateBytes(base.jpeg, r), crcFixed: true };
    const name = `fuzz.${format === 'png' ? 'png' : 'jpg'}`;
    try {
      const img = decodeImage(m.bytes, name);
      const want = format === 'png' ? base.pngPixels : base.jpegPixels;
      if (same(img.data, want)) return { seed, op: m.op, outcome: 'accepted, same output' };
      // A PNG whose CRCs were not fixed up and that decodes to other pixels got past the CRC check.
      return { seed, op: m.op, outcome: format === 'png' && !m.crcFixed ? 'silently wrong' : 'accepted, output changed' };
    } catch (e) {
      return { seed, op: m.op, ...classifyError(e, [name]) };
    }
  }
  let modelJson = base.modelJson, shard = base.shard, h5: Uint8Array | undefined, op: string;
  if (format === 'model.json') ({ text: modelJson, op } = mutateJson(base.modelJson, r));
  else if (format === 'shard') ({ bytes: shard, op } = mutateBytes(base.shard, r, { floats: true }));
  else ({ bytes: h5, op } = h5Mutation(seed, base.h5));
  const lengthChanged = format === 'shard' && shard.length !== base.shard.length;
  const names = format === 'h5' ? ['fuzz.h5'] : ['model.json', base.shardPath];
  try {
    if (format === 'h5') {
      const c = await readH5(h5!, 'fuzz.h5');
      if (c.kind !== 'model') throw new Error('fuzz.h5 holds weights only');
      matchH5(modelFromTopology(c.modelConfig, 'fuzz.h5').weightList(), c, 'fuzz.h5', 'name');
    } else {
      const json = parseModelJson(modelJson, 'model.json');
      const files = memoryFiles({ 'model.json': modelJson, [base.shardPath]: shard });
      const decoded = await readWeights(files, 'model.json', json.weightsManifest);
      matchManifest(modelFromTopology(json.modelTopology, 'model.json').weightList(), decoded, 'model.json');
    }
  } catch (e) {
    return { seed, op, ...classifyError(e, names) };
  }
  return { seed, op, cpuOk: { modelJson, shard, h5, lengthChanged } };
}

if (parentPort && workerData?.fuzz) {
  const base = workerData.base as FuzzBase;
  parentPort.postMessage('ready');
  parentPort.on('message', async (msg: { format: Format; seed: number }) => {
    let result: CaseResult;
    try {
      result = await runCase(msg.format, msg.seed, base);
    } catch (e) {
      result = { seed: msg.seed, op: '?', outcome: 'crash', message: `the case harness itself failed: ${(e as Error).message}` };
    }
    parentPort!.postMessage(result);
  });
}
