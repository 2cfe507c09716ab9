// Tuning harness for the conv2d backward tiles (src/kernels/conv2d-backward.ts): spot-checks every
// variant against float64 host sums, then times the variants round-robin on VGG-19 shapes,
// optionally next to tfjs-backend-webgpu's Conv2DBackpropInput / Conv2DBackpropFilter.
//
//   XDG_RUNTIME_DIR=/tmp node --import tsx bench/tune-conv-backward.ts [shapes] [variants] [--tfjs] [--reps=N] [--rounds=N]
//     shapes:   comma list of b1c1,b1c2,b2c1,b2c2,b3c1,b3c2,b4c1,b4c2,b5 (default b3c2)
//     variants: comma list of auto | i<WGX>x<P>x<KB> (dInput) | w<WGX>x<CB>x<KB>[s<splits>] (dWeight)
// Timing: `reps` launches in one submission + one read, per round; best round / reps (median in parentheses).
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { conv2dInputGradWithTile, conv2dWeightGradWithTile, type InputGradTile, type WeightGradTile } from '../src/kernels/conv2d-backward.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload, type Tensor } from '../src/tensor/tensor.ts';
import { uniform } from './measure.ts';
import { tf, usePeer } from './peers.ts';

const VGG: Record<string, [hw: number, c: number, k: number]> = {
  b1c1: [224, 3, 64], b1c2: [224, 64, 64], b2c1: [112, 64, 128], b2c2: [112, 128, 128],
  b3c1: [56, 128, 256], b3c2: [56, 256, 256], b4c1: [28, 256, 512], b4c2: [28, 512, 512], b5: [14, 512, 512],
};

const args = process.argv.slice(2);
const opt = (name: string, d: number) => Number(args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? d);
const reps = opt('reps', 3), rounds = opt('rounds', 3);
const pos = args.filter((a) => !a.startsWith('--'));
const shapes = (pos[0] ?? 'b3c2').split(',');
const variants = (pos[1] ?? 'iauto,wauto').split(',');
const withTfjs = args.includes('--tfjs');

type Variant = { name: string; kind: 'i' | 'w'; it: InputGradTile | null; wt: WeightGradTile | null; splits?: number };
function parse(v: string): Variant {
  if (v === 'iauto' || v === 'wauto') return { name: v, kind: v[0] as 'i' | 'w', it: null, wt: null };
  const m = /^([iw])(\d+)x(\d+)x(\d+)(?:s(\d+))?$/.exec(v);
  if (!m) throw new Error(`bad variant '${v}'`);
  const [a, b, c] = [+m[2]!, +m[3]!, +m[4]!];
  return m[1] === 'i'
    ? { name: v, kind: 'i', it: { wgx: a, p: b, kb: c }, wt: null }
    : { name: v, kind: 'w', it: null, wt: { wgx: a, cb: b, kb: c }, splits: m[5] ? +m[5] : undefined };
}

const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

/** Worst |got - exact| / Σ|terms| over 100 sampled outputs. */
function spot(kind: 'i' | 'w', got: Float32Array, xd: Float32Array, wd: Float32Array, dyd: Float32Array, hw: number, c: number, k: number): number {
  let worst = 0;
  for (let s = 0; s < 100; s++) {
    let sum = 0, mag = 0;
    if (kind === 'i') {
      const ci = (s * 31) % c, ih = (s * 7919) % hw, iw = (s * 104729) % hw;
      for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
        const oh = ih + 1 - kh, ow = iw + 1 - kw;
        if (oh < 0 || ow < 0 || oh >= hw || ow >= hw) continue;
        for (let ko = 0; ko < k; ko++) {
          const t = dyd[(oh * hw + ow) * k + ko]! * wd[((kh * 3 + kw) * c + ci) * k + ko]!;
          sum += t; mag += Math.abs(t);
        }
      }
      worst = Math.max(worst, Math.abs(got[(ih * hw + iw) * c + ci]! - sum) / (mag + 1e-30));
    } else {
      const ko = (s * 31) % k, ci = (s * 17) % c, kh = s % 3, kw = Math.floor(s / 3) % 3;
      for (let oh = 0; oh < hw; oh++) for (let ow = 0; ow < hw; ow++) {
        const ih = oh - 1 + kh, iw = ow - 1 + kw;
        if (ih < 0 || iw < 0 || ih >= hw || iw >= hw) continue;
        const t = xd[(ih * hw + iw) * c + ci]! * dyd[(oh * hw + ow) * k + ko]!;
        sum += t; mag += Math.abs(t);
      }
      worst = Math.max(worst, Math.abs(got[((kh * 3 + kw) * c + ci) * k + ko]! - sum) / (mag + 1e-30));
    }
  }
  return worst;
}

await init();
for (const sh of shapes) {
  const [hw, c, k] = VGG[sh]!;
  const flops = 2 * hw * hw * 9 * c * k;
  const xd = uniform(hw * hw * c, 1, 0, 1), wd = uniform(9 * c * k, 2, -0.1, 0.1), dyd = uniform(hw * hw * k, 3, -1, 1);
  const x = upload(xd, [1, hw, hw, c]), w = upload(wd, [3, 3, c, k]), dy = upload(dyd, [1, hw, hw, k]);
  const opts = { padding: 'same' as const };
  const runs: { name: string; run: () => Promise<void> }[] = [];
  for (const v of variants.map(parse)) {
    const one = (): Tensor =>
      v.kind === 'i' ? conv2dInputGradWithTile(dy, w, x.shape, opts, v.it) : conv2dWeightGradWithTile(x, dy, w.shape, opts, v.wt, v.splits);
    const y = one();
    const err = spot(v.kind, await y.data(), xd, wd, dyd, hw, c, k);
    y.dispose();
    if (!(err < 1e-5)) { console.log(`${sh} ${v.name}: FAILED spot check (${err})`); continue; }
    runs.push({ name: v.name, run: async () => { let t: Tensor | null = null; for (let i = 0; i < reps; i++) { t?.dispose(); t = one(); } await t!.data(); t!.dispose(); } });
  }
  if (withTfjs) {
    await usePeer('tfjs-webgpu');
    const tx = tf.tensor4d(xd, [1, hw, hw, c]), tw = tf.tensor4d(wd, [3, 3, c, k]), tdy = tf.tensor4d(dyd, [1, hw, hw, k]);
    const attrs = { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', dimRoundingMode: undefined };
    const ops = {
      'tfjs-dInput': () => tf.engine().runKernel('Conv2DBackpropInput', { dy: tdy, filter: tw }, { ...attrs, inputShape: [1, hw, hw, c] } as never) as tf.Tensor,
      'tfjs-dWeight': () => tf.engine().runKernel('Conv2DBackpropFilter', { x: tx, dy: tdy }, { ...attrs, filterShape: [3, 3, c, k] } as never) as tf.Tensor,
    };
    for (const [name, f] of Object.entries(ops)) {
      const y = f();
      const err = spot(name === 'tfjs-dInput' ? 'i' : 'w', (await y.data()) as Float32Array, xd, wd, dyd, hw, c, k);
      y.dispose();
      console.log(`${sh} ${name} spot error ${err.toExponential(1)}`);
      runs.push({ name, run: async () => { let t: tf.Tensor | null = null; for (let i = 0; i < reps; i++) { t?.dispose(); t = f(); } await t!.data(); t!.dispose(); } });
    }
  }
  const times = new Map<string, number[]>(runs.map((r) => [r.name, []]));
  for (let r = 0; r < rounds; r++) {
    for (const v of runs) {
      const t0 = performance.now();
      await v.run();
      times.get(v.name)!.push((performance.now() - t0) / reps);
    }
  }
  const line = runs.map((v) => {
    const t = times.get(v.name)!;
    return `${v.name} ${(flops / Math.min(...t) / 1e6).toFixed(2)} (${(flops / median(t) / 1e6).toFixed(2)})`;
  });
  console.log(`${sh} GFLOP/s: ${line.join(', ')}`);
  for (const t of [x, w, dy]) t.dispose();
}
process.exit(0);
