// Tuning harness for the conv2d forward tiles: checks every variant against a host reference
// (spot checks of exact sums) before timing it, then prints GFLOP/s on the VGG-19 conv shapes,
// optionally next to tfjs-backend-webgpu on the same adapter.
//
//   XDG_RUNTIME_DIR=/tmp node --import tsx bench/tune-conv.ts [shapes] [variants] [--tfjs] [--reps=N]
//     shapes:   comma list of b1c1,b1c2,b2c1,b2c2,b3c1,b3c2,b4c1,b4c2,b5 (default b3c2)
//     variants: comma list of auto | row|gemm<WGX>x<P>x<KB>, e.g. row8x4x16,gemm8x2x16 (default auto)
// Timing: after a warm-up (the checked run), `reps` convs go in ONE submission followed by one
// read; variants are interleaved over `rounds` rounds (--rounds=N, default 3) and the best batch
// divided by reps is the per-conv time (the median follows in parentheses; the machine is shared).
// camlight waits with its calibrated sleep (src/gpu/wait.ts); tfjs-webgpu is timed the plain way (await data()).
import { conv2dWithTile, conv2dOutputShape, type ConvTile } from '../src/kernels/conv2d.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { nodeGpu } from '../src/gpu/node-adapter.ts';

const VGG: Record<string, [hw: number, c: number, k: number, count: number]> = {
  b1c1: [224, 3, 64, 1], b1c2: [224, 64, 64, 1], b2c1: [112, 64, 128, 1], b2c2: [112, 128, 128, 1],
  b3c1: [56, 128, 256, 1], b3c2: [56, 256, 256, 3], b4c1: [28, 256, 512, 1], b4c2: [28, 512, 512, 3], b5: [14, 512, 512, 4],
};

const args = process.argv.slice(2);
const flags = new Set(args.filter((a) => a.startsWith('--')).map((a) => a.split('=')[0]));
const reps = Number(args.find((a) => a.startsWith('--reps='))?.split('=')[1] ?? 3);
const rounds = Number(args.find((a) => a.startsWith('--rounds='))?.split('=')[1] ?? 3);
const pos = args.filter((a) => !a.startsWith('--'));
const shapes = (pos[0] ?? 'b3c2').split(',');
const variants = (pos[1] ?? 'auto').split(',');

function parseTile(v: string): ConvTile | null {
  if (v === 'auto') return null;
  const m = /^(row|gemm)(\d+)x(\d+)x(\d+)$/.exec(v);
  if (!m) throw new Error(`bad variant '${v}'`);
  return { kind: m[1] as 'row' | 'gemm', wgx: +m[2]!, p: +m[3]!, kb: +m[4]! };
}

function rand(n: number, seed: number, scale: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = ((a / 4294967296) * 2 - 1) * scale;
  }
  return out;
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Exact (float64) relu(conv + bias) at `count` random (pixel, channel) points plus the corners. */
function spotCheck(y: Float32Array, xd: Float32Array, wd: Float32Array, bd: Float32Array, hw: number, c: number, k: number): number {
  let worst = 0;
  const pts: [number, number, number][] = [[0, 0, 0], [hw - 1, hw - 1, k - 1], [0, hw - 1, 1 % k], [hw - 1, 0, 2 % k]];
  for (let i = 0; i < 200; i++) pts.push([(i * 7919) % hw, (i * 104729) % hw, (i * 31) % k]);
  for (const [oh, ow, ko] of pts) {
    let s = bd[ko]!, mag = Math.abs(s);
    for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
      const ih = oh + kh - 1, iw = ow + kw - 1;
      if (ih < 0 || iw < 0 || ih >= hw || iw >= hw) continue;
      for (let ci = 0; ci < c; ci++) {
        const t = xd[(ih * hw + iw) * c + ci]! * wd[((kh * 3 + kw) * c + ci) * k + ko]!;
        s += t;
        mag += Math.abs(t);
      }
    }
    const want = Math.max(s, 0);
    const got = y[(oh * hw + ow) * k + ko]!;
    worst = Math.max(worst, Math.abs(got - want) / Math.max(mag, 1e-6));
  }
  return worst;
}

const rt = await init();
console.log(`adapter: ${rt.adapterName}; reps per batch ${reps}; camlight waits with calibrated sleeps`);
type TfModule = typeof import('@tensorflow/tfjs-core');
let tf: TfModule | null = null;
if (flags.has('--tfjs')) {
  (globalThis as { navigator?: unknown }).navigator = { gpu: nodeGpu() };
  tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-webgpu');
  await tf.setBackend('webgpu');
  await tf.ready();
}

const rows: string[] = [];
for (const name of shapes) {
  const spec = VGG[name];
  if (!spec) throw new Error(`unknown shape '${name}'; use ${Object.keys(VGG).join(',')}`);
  const [hw, c, k] = spec;
  const xs = [1, hw, hw, c], ws = [3, 3, c, k];
  const xd = rand(hw * hw * c, 1, 1), wd = rand(9 * c * k, 2, 1 / Math.sqrt(9 * c)), bd = rand(k, 3, 0.1);
  const x = upload(xd, xs), w = upload(wd, ws), b = upload(bd, [k]);
  const opts = { padding: 'same' as const, bias: b, activation: 'relu' as const };
  const flops = conv2dOutputShape(xs, ws, opts).flops;
  const line = [`${name} ${hw}²×${c}→${k} (${(flops / 1e9).toFixed(2)} GFLOP)`];
  // Check every variant first, then time them interleaved over `rounds` rounds so that load
  // from other processes hits all variants alike; report the best batch (and the median).
  const ok: [string, ConvTile | null][] = [];
  for (const v of variants) {
    const tile = parseTile(v);
    const y0 = conv2dWithTile(x, w, opts, tile);
    const err = spotCheck(await y0.data(), xd, wd, bd, hw, c, k);
    y0.dispose();
    if (err < 1e-5) ok.push([v, tile]);
    else line.push(`${v}: WRONG (rel err ${err.toExponential(2)})`);
  }
  const times = new Map<string, number[]>(ok.map(([v]) => [v, []]));
  for (let r = 0; r < rounds; r++) {
    for (const [v, tile] of ok) {
      const t0 = performance.now();
      const ys: Tensor[] = [];
      for (let i = 0; i < reps; i++) ys.push(conv2dWithTile(x, w, opts, tile));
      await ys[reps - 1]!.data();
      times.get(v)!.push((performance.now() - t0) / reps);
      ys.forEach((t) => t.dispose());
    }
  }
  for (const [v] of ok) {
    const t = times.get(v)!;
    line.push(`${v}: ${(flops / Math.min(...t) / 1e6).toFixed(2)} (${(flops / median(t) / 1e6).toFixed(1)})`);
  }
  if (tf) {
    const tx = tf.tensor4d(xd, xs as [number, number, number, number]);
    const tw = tf.tensor4d(wd, ws as [number, number, number, number]);
    const tb = tf.tensor1d(bd);
    const run = () => tf!.fused.conv2d({ x: tx, filter: tw, bias: tb, activation: 'relu', pad: 'same', strides: 1 });
    const y0 = run();
    const err = spotCheck((await y0.data()) as Float32Array, xd, wd, bd, hw, c, k);
    y0.dispose();
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      const ys = [];
      for (let i = 0; i < reps; i++) ys.push(run());
      await ys[reps - 1]!.data();
      times.push((performance.now() - t0) / reps);
      ys.forEach((t) => t.dispose());
    }
    line.push(`tfjs-webgpu: ${(flops / Math.min(...times) / 1e6).toFixed(2)} (${(flops / median(times) / 1e6).toFixed(1)})${err < 1e-5 ? '' : ' (WRONG)'}`);
    tf.dispose([tx, tw, tb]);
  }
  console.log(line.join(' | ') + '  [GFLOP/s]');
  rows.push(line.join(' | '));
  x.dispose(); w.dispose(); b.dispose();
}
rt.destroy();
process.exit(0);
