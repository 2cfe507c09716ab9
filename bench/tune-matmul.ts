// Tunes the matmul register tiles on this adapter: each candidate tile is checked on sampled
// entries of a 1024³ (or given) product against a float64 host reference, then all candidates
// (and tf.matMul on tfjs-backend-webgpu with --peer) are timed round-robin, a batch of launches
// then one read each, so that drifting load hits them alike; prints median GFLOP/s.
//   node --import tsx bench/tune-matmul.ts [--mnk 1024,1024,1024] [--rows wgx:rm:cn,...]
//        [--cols wgx:rm:cn,...] [--peer] [--spin] [--rounds 5] [--launches 2]
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { dense, matmul, MATMUL_TUNING } from '../src/kernels/matmul.ts';
import type { MatmulTile } from '../src/kernels/matmul-wgsl.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { median } from './measure.ts';
import { tf, usePeer } from './peers.ts';

const arg = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
};
const flag = (name: string) => process.argv.includes(`--${name}`);
const tiles = (s: string | undefined): MatmulTile[] =>
  (s ?? '').split(',').filter(Boolean).map((t) => {
    const [wgx, rm, cn] = t.split(':').map(Number);
    return { wgx: wgx!, rm: rm!, cn: cn! };
  });

const rt = await init();
if (flag('spin')) rt.setWaitMode('spin');
const [M, K, N] = (arg('mnk') ?? '1024,1024,1024').split(',').map(Number) as [number, number, number];
const flop = 2 * M * N * K;
const rand = (n: number, seed: number) => {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1);
};
const da = rand(M * K, 1), db = rand(K * N, 2);
const a = upload(da, [M, K]), b = upload(db, [K, N]);
console.log(`adapter: ${rt.adapterName}; problem ${M}×${K}×${N} (${(flop / 1e9).toFixed(2)} GFLOP); wait mode ${flag('spin') ? 'spin' : 'sleep'}`);

/** Checks 256 sampled outputs against float64 host dot products; throws on a mismatch. */
function check(y: Float32Array, label: string): void {
  for (let t = 0; t < 256; t++) {
    const m = (t * 7919) % M, n = (t * 104729) % N;
    let s = 0, mag = 0;
    for (let k = 0; k < K; k++) {
      s += da[m * K + k]! * db[k * N + n]!;
      mag += Math.abs(da[m * K + k]! * db[k * N + n]!);
    }
    const got = y[m * N + n]!;
    if (!(Math.abs(got - s) <= 1e-5 * mag + 1e-6)) throw new Error(`${label}: y[${m},${n}] = ${got}, reference ${s}`);
  }
}

/** A candidate: checked once, then timed in round-robin with the others (load drifts here). */
interface Candidate { label: string; launch: () => Promise<void>; ms: number[] }
const candidates: Candidate[] = [];
const ROUNDS = Number(arg('rounds') ?? 5), LAUNCHES = Number(arg('launches') ?? 2);

async function addOurs(label: string, setup: () => void, run: () => Tensor): Promise<void> {
  setup();
  const y0 = run();
  check(await y0.data(), label);
  y0.dispose();
  candidates.push({
    label, ms: [],
    launch: async () => {
      setup();
      const ys: Tensor[] = [];
      for (let i = 0; i < LAUNCHES; i++) ys.push(run());
      await ys[ys.length - 1]!.data();
      for (const y of ys) y.dispose();
    },
  });
}

const save = { ...MATMUL_TUNING };
for (const t of tiles(arg('rows'))) {
  await addOurs(`rows wgx${t.wgx} rm${t.rm} cn${t.cn}`, () => { MATMUL_TUNING.rows = t; MATMUL_TUNING.colsMaxM = 0; }, () => matmul(a, b));
}
for (const t of tiles(arg('cols'))) {
  await addOurs(`cols wgx${t.wgx} rm${t.rm} cn${t.cn}`, () => { MATMUL_TUNING.cols = t; MATMUL_TUNING.colsMaxM = M; }, () => matmul(a, b));
}
if (!arg('rows') && !arg('cols')) {
  await addOurs(`default (${M <= save.colsMaxM ? 'cols' : 'rows'})`, () => Object.assign(MATMUL_TUNING, save), () => dense(a, b));
}
if (flag('peer')) {
  await usePeer('tfjs-webgpu');
  const ta = tf.tensor(da, [M, K]), tb = tf.tensor(db, [K, N]);
  const y0 = tf.matMul(ta, tb);
  check((await y0.data()) as Float32Array, 'tfjs-webgpu');
  y0.dispose();
  candidates.push({
    label: 'tfjs-webgpu tf.matMul', ms: [],
    launch: async () => {
      const ys: tf.Tensor[] = [];
      for (let i = 0; i < LAUNCHES; i++) ys.push(tf.matMul(ta, tb));
      await ys[ys.length - 1]!.data();
      for (const y of ys) y.dispose();
    },
  });
}
for (const c of candidates) await c.launch(); // warm
for (let r = 0; r < ROUNDS; r++) {
  for (const c of candidates) {
    const t0 = performance.now();
    await c.launch();
    c.ms.push((performance.now() - t0) / LAUNCHES);
  }
}
console.log(`${ROUNDS} round-robin rounds of ${LAUNCHES} launches each, median ms per launch:`);
const peer = candidates.find((c) => c.label.startsWith('tfjs'));
const peerMs = peer ? median(peer.ms) : 0;
for (const c of candidates) {
  const ms = median(c.ms);
  const ratio = peer ? `  ${(peerMs / ms).toFixed(2)}× tfjs-webgpu` : '';
  console.log(`${c.label.padEnd(30)} ${ms.toFixed(1).padStart(8)} ms  ${(flop / (ms * 1e6)).toFixed(2).padStart(6)} GFLOP/s${ratio}`);
}
process.exit(0);
