// The bench's own machinery: the time budget per measurement, the progress estimate, where a
// run's results go and what they record, and `bench compare`'s noise estimate and verdicts.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { compareDocs, recordKey, relativeNoise } from '../../bench/compare.ts';
import { parseArgs, SYSTEMS } from '../../bench/index.ts';
import { planFor, timeCalls, timeLaunches, timePaired } from '../../bench/measure.ts';
import { Progress } from '../../bench/progress.ts';
import { reportLines, reportLinesFor } from './report-lines.ts';
import { adapterSlug, beginRun, readResults, resultsPath, writeRun, type ResultsDoc } from '../../bench/results.ts';

const s = suite('bench');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A virtual clock: launches "take" exactly what the test says, however loaded the machine is. */
function virtualClock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

s('a launch slower than the whole budget is timed once, never skipped', async () => {
  const c = virtualClock();
  let launches = 0;
  const t = await timeLaunches(async (n) => {
    launches += n;
    c.advance(60 * n);
  }, planFor(0.05), c.now);
  assert.is(t.samples, 1);
  assert.is(launches, 1, 'the pilot launch is the one sample');
  assert.is(t.ms, 60);
  assert.equal(t.samplesMs, [60]);
});

s('a fast launch gets several samples of several launches, within its budget', async () => {
  const c = virtualClock();
  let launches = 0;
  // 2 ms per launch, budget 400 ms: samples of round(50 / 2) = 25 launches (50 ms each); the
  // pilot (2 ms) plus 7 samples (350 ms) fit, an 8th would end at 402 ms.
  const t = await timeLaunches(async (n) => {
    launches += n;
    c.advance(2 * n);
  }, planFor(0.4), c.now);
  assert.is(t.launchesPerSample, 25);
  assert.is(t.samples, 7);
  assert.is(launches, 1 + 7 * 25);
  assert.ok(t.spentMs <= 400, `spent ${t.spentMs} ms of 400`);
  assert.is(t.ms, 2);
});

s('timeCalls: at least one call, more while the budget lasts, at most maxSamples', async () => {
  const c = virtualClock();
  let calls = 0;
  const slow = await timeCalls(async () => {
    calls++;
    c.advance(30);
  }, 10, 9, c.now);
  assert.is(calls, 1);
  assert.is(slow.samples, 1);
  const fast = await timeCalls(async () => c.advance(1), 10_000, 4, c.now);
  assert.is(fast.samples, 4);
  // 100 ms calls in a 350 ms budget: a 4th would end at 400 ms.
  const mid = await timeCalls(async () => c.advance(100), 350, 9, c.now);
  assert.is(mid.samples, 3);
});

s('timePaired: alternates the two calls and takes the median of per-pair ratios, which a load change between pairs does not move', async () => {
  const c = virtualClock();
  const order: string[] = [];
  // The machine slows down 3× after the second pair: a is always 1.1× b within a pair.
  let pair = 0;
  const slow = () => (pair < 2 ? 1 : 3);
  const t = await timePaired(async () => {
    order.push('a');
    c.advance(110 * slow());
  }, async () => {
    order.push('b');
    c.advance(100 * slow());
    pair++;
  }, 2000, 9, c.now);
  assert.equal(order.slice(0, 4), ['a', 'b', 'a', 'b']);
  assert.is(t.a.samples, t.b.samples);
  assert.ok(Math.abs(t.ratio - 1.1) < 1e-9, `ratio ${t.ratio}`);
  assert.ok(t.a.samples >= 3, `${t.a.samples} pairs`);
  assert.equal(t.ratios.map((r) => Number(r.toFixed(9))), t.ratios.map(() => 1.1), 'every pair, fast or slow, reads 1.1');
  const once = await timePaired(async () => c.advance(5000), async () => c.advance(10), 100, 9, c.now);
  assert.is(once.a.samples, 1, 'at least one pair, even over budget');
  const three = await timePaired(async () => c.advance(5000), async () => c.advance(10), 100, 9, c.now, 3);
  assert.is(three.a.samples, 3, 'minPairs pairs, even over budget');
  assert.is(three.ratios.length, 3);
});

s('vs wasm: the median of the alternating pairs where there are any, else the ratio of the two medians; report prints the same', async () => {
  const { vsWasm } = await import('../../bench/models.ts');
  const ms = { camlight: 800, 'tfjs-webgpu': null, 'tfjs-wasm': 200 };
  assert.is(vsWasm({ ms }), 0.25);
  // Timed apart, the host changed speed: the pairs (each wasm/camlight on the same machine) decide.
  assert.is(vsWasm({ ms, pairedWasmOverCamlight: [0.51, 0.49, 0.55] }), 0.51);
  assert.is(vsWasm({ ms: { ...ms, 'tfjs-wasm': null } }), null);
  const rec = (batch: number, paired?: number[]) => ({ model: 'm', size: 8, batch, ms, peakBytes: { camlight: null }, ...(paired ? { pairedWasmOverCamlight: paired } : {}) });
  const lines = await reportLinesFor('models', [rec(1, [0.51, 0.49, 0.55]), rec(8)]);
  assert.ok(lines.some((l) => /^m\s+8²\s+1\s.*\b0\.51×/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^m\s+8²\s+8\s.*\b0\.25×/.test(l)), lines.join('\n'));
});

s('report: cam / forward is the median of the alternating pairs where there are any', async () => {
  // A ratio of the medians would read 3.00×; the pairs say 1.00×.
  const rec = (batch: number, paired?: number[]) => ({ model: 'm', size: 8, batch, method: 'gradcam', ms: { camlight: 300, 'tfjs-webgpu': null, 'tfjs-wasm': null }, forwardMs: { camlight: 100 }, ...(paired ? { pairedCamOverForward: paired } : {}) });
  const lines = await reportLinesFor('cam', [rec(1, [0.9, 1.1, 1.0]), rec(8)]);
  assert.ok(lines.some((l) => /^m\s+8²\s+1\s.*\b1\.00×\s*$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /^m\s+8²\s+8\s.*\b3\.00×\s*$/.test(l)), lines.join('\n'));
});

s('progress: remaining time is the elapsed time scaled by the weight still to go', async () => {
  const lines: string[] = [];
  const p = new Progress([1, 1, 2], (l) => lines.push(l));
  assert.is(p.remainingMs(), null);
  await sleep(40);
  p.step('first');
  const left = p.remainingMs()!;
  // 1 of 4 weight done in ~40 ms: ~3× that to go.
  assert.ok(left >= 2.9 * 40 && left <= 3.1 * p.elapsedMs(), `left ${left} ms after ${p.elapsedMs()} ms`);
  assert.match(lines[0]!, /^\[1\/3 \d+:\d\d elapsed, ~\d+:\d\d left\] first$/);
  p.step('second');
  p.step('third');
  assert.is(p.remainingMs(), 0);
});

s('adapter slugs: vendor and device when known, else the description; dashes only', () => {
  assert.is(adapterSlug('llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1', { vendor: 'mesa', device: 'llvmpipe-llvm-15-0-6-256-bits-' }), 'mesa-llvmpipe-llvm-15-0-6-256-bits');
  assert.is(adapterSlug('NVIDIA: 580.159.04 580.159.4.0'), 'nvidia-580-159-04-580-159-4-0');
  assert.is(adapterSlug('x', { vendor: 'nvidia', device: 'NVIDIA H200' }), 'nvidia-h200');
  assert.is(adapterSlug('()'), 'unknown-adapter');
});

s('results paths: one file per adapter and suite; quick runs and system subsets apart', () => {
  const all = SYSTEMS;
  const base = { out: null, systems: [...all] };
  assert.match(resultsPath('kernels', 'a', { ...base, quick: false }, all), /results\/a\/kernels\.json$/);
  assert.match(resultsPath('kernels', 'a', { ...base, quick: true }, all), /results\/a\/kernels-quick\.json$/);
  assert.match(resultsPath('cam', 'b', { out: null, quick: false, systems: ['camlight'] }, all), /results\/b\/cam-camlight\.json$/);
  assert.is(resultsPath('cam', 'b', { out: '/tmp/x.json', quick: true, systems: ['camlight'] }, all), '/tmp/x.json');
  assert.match(resultsPath('kernels', 'a', { ...base, quick: false, match: ['conv2d.dWeight', 'matmul'] }, all), /results\/a\/kernels-match-conv2d\.dweight\+matmul\.json$/);
  // A forced kernel class (--adapter-class) is another set of kernels: never the adapter's default file.
  assert.match(resultsPath('kernels', 'a', { ...base, quick: true, adapterClass: 'gpu' }, all), /results\/a\/kernels-quick-class-gpu\.json$/);
  assert.equal(parseArgs(['kernels', '--adapter-class', 'gpu']).opts.adapterClass, 'gpu');
  assert.is(parseArgs(['kernels']).opts.adapterClass, undefined);
  assert.throws(() => parseArgs(['--adapter-class', 'tpu']), /--adapter-class takes 'cpu' or 'gpu'/);
});

s('a run writes its file with commit, date, adapter, mode, budget, systems and load', () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlight-bench-'));
  try {
    const out = join(dir, 'k.json');
    const { opts } = parseArgs(['kernels', '--quick', '--budget', '0.25', '--only', 'camlight', '--out', out]);
    assert.is(opts.budgetS, 0.25);
    beginRun('kernels', opts, 0.25);
    assert.throws(() => writeRun('models', 'x', []), /outside a run/);
    const file = writeRun('kernels', 'llvmpipe: test', [{ op: 'matmul', shape: '1x1x1', ms: { camlight: 1 } }], { note: 'n' }, { vendor: 'mesa', device: 'llvmpipe' });
    assert.is(file, out);
    const doc = readResults(file);
    assert.is(doc.suite, 'kernels');
    assert.is(doc.mode, 'quick');
    assert.is(doc.budgetS, 0.25);
    assert.equal(doc.systems, ['camlight']);
    assert.is(doc.adapterSlug, 'mesa-llvmpipe');
    assert.ok(doc.load.start.length === 3 && doc.load.end!.length === 3 && doc.load.cpus >= 1);
    assert.ok(doc.commit === null || /^[0-9a-f]{40}$/.test(doc.commit), `commit ${doc.commit}`);
    assert.ok(!Number.isNaN(Date.parse(doc.date)));
    assert.is(doc.records.length, 1);
    assert.is(JSON.parse(readFileSync(file, 'utf8')).note, 'n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s('bad --budget values and --out with several suites are refused with the reason', () => {
  assert.throws(() => parseArgs(['--budget', '0']), /--budget takes seconds/);
  assert.throws(() => parseArgs(['--budget', 'soon']), /--budget takes seconds/);
  assert.throws(() => parseArgs(['kernels', 'models', '--out', 'x.json']), /exactly one suite/);
});

s('no suite named runs the speed suites; the long experiments run when named', () => {
  assert.equal(parseArgs([]).suites, ['kernels', 'models', 'cam', 'train']);
  assert.equal(parseArgs(['--quick']).suites, ['kernels', 'models', 'cam', 'train']);
  assert.equal(parseArgs(['fuzz', 'soak']).suites, ['fuzz', 'soak']);
  assert.throws(() => parseArgs(['kernals']), /unknown suite 'kernals'/);
});

s('relativeNoise is the standard error of the median over the median (hand-worked)', () => {
  // mean 10, s = √(2/3) = 0.8165, 1.2533·s/√4 = 0.5117, median 10.
  assert.ok(Math.abs(relativeNoise([10, 11, 9, 10])! - 0.05117) < 1e-4);
  assert.is(relativeNoise([5]), null);
  assert.is(relativeNoise(undefined), null);
});

const doc = (records: unknown[], adapter = 'a'): ResultsDoc => ({ records, adapter } as unknown as ResultsDoc);
const rec = (shape: string, samplesMs: number[], extra: Record<string, unknown> = {}) => {
  const sorted = [...samplesMs].sort((x, y) => x - y);
  return { op: 'conv2d', shape, ms: { camlight: sorted[sorted.length >> 1] }, timing: { camlight: { samplesMs } }, ...extra };
};

s('compare: faster, slower and within noise decided by twice the combined noise', () => {
  const before = doc([rec('A', [10, 10.2, 9.8, 10.1, 9.9]), rec('B', [10, 12, 8, 11, 9]), rec('C', [10, 10.1, 9.9]), rec('D', [5])]);
  const after = doc([rec('A', [5, 5.1, 4.9, 5.05, 4.95]), rec('B', [9, 11, 7, 10, 8]), rec('C', [20, 20.2, 19.8]), rec('D', [4])]);
  const r = Object.fromEntries(compareDocs(before, after, 'camlight').map((c) => [c.key, c]));
  assert.is(r['conv2d A']!.verdict, 'faster');
  assert.ok(Math.abs(r['conv2d A']!.speedup! - 10 / 5) < 1e-9);
  assert.is(r['conv2d B']!.verdict, 'within noise', 'a 10 % change inside ±20 % scatter');
  assert.is(r['conv2d C']!.verdict, 'slower');
  assert.is(r['conv2d D']!.verdict, 'noise unknown', 'one sample a side says nothing about scatter');
});

s('compare pairs repeated keys in order and reports records only one side has', () => {
  assert.is(recordKey({ model: 'vgg19', size: 224, batch: 8, method: 'gradcam' }), 'vgg19 224² b8 gradcam');
  const before = doc([rec('A', [1, 1]), rec('A', [2, 2])]);
  const after = doc([rec('A', [1, 1]), rec('A', [1, 1]), rec('E', [1, 1])]);
  const r = compareDocs(before, after, 'camlight');
  assert.equal(r.map((c) => c.key), ['conv2d A', 'conv2d A #2', 'conv2d E']);
  assert.is(r[1]!.speedup, 2);
  assert.is(r[2]!.verdict, 'missing');
});



s('report: the summary geomean of a committed kernels file equals the one its run computed', async () => {
  const { RESULTS_DIR } = await import('../../bench/results.ts');
  const file = join(RESULTS_DIR, 'mesa-llvmpipe-llvm-15-0-6-256-bits', 'kernels.json');
  const doc = readResults(file);
  const stored = (doc.geomeanCamlightOverPeerByOp as Record<string, Record<string, number>>)['conv2d']!['tfjs-webgpu']!;
  const lines = await reportLines([file]);
  const row = lines.find((l) => /^conv2d\s+16 layers/.test(l));
  assert.ok(row, lines.join('\n'));
  assert.ok(row!.includes(`${stored.toFixed(2)}×`), `${row} vs stored ${stored}`);
  // The run line names the file's own mode and start date (read from the file, whichever run it holds).
  const runLine = `${doc.mode} run, ${doc.date.slice(0, 10)}`;
  assert.ok(lines.some((l) => l.startsWith(runLine)), `no line starts with '${runLine}':\n${lines.join('\n')}`);
});
s('the host dWeight reference matches tfjs-cpu and the per-element formula', async () => {
  const { convBackwardCase } = await import('../../bench/conv-backward-cases.ts');
  const { mismatch, FP32_TOLERANCE } = await import('../../bench/measure.ts');
  const { tf, usePeer } = await import('../../bench/peers.ts');
  await usePeer('tfjs-cpu');
  for (const [h, c, k] of [[10, 8, 16], [7, 3, 5]] as const) {
    const cs = convBackwardCase('dWeight', h, c, k);
    const inputs = cs.inputs();
    const got = cs.hostReference!(inputs.map((i) => i.data));
    const ts = inputs.map((i) => tf.tensor(i.data, i.shape));
    const y = cs.tfjs(ts);
    const want = (await y.data()) as Float32Array;
    tf.dispose([y, ...ts]);
    assert.is(mismatch(got, want, FP32_TOLERANCE), null, `${h}x${c}->${k} vs tfjs-cpu`);
    const d = inputs.map((i) => i.data);
    for (const i of [0, 7, got.length - 1]) assert.ok(Math.abs(got[i]! - cs.exact(d, i)) <= 1e-5 * (1 + Math.abs(got[i]!)), `element ${i}`);
  }
});

s.run();
