// A/B harness for conv2d forward tiles on InceptionV3's own conv shapes (299², batch 1): every
// distinct layer geometry, the current choice (`auto`) against candidate tiles, each candidate
// first checked against float64 host sums, then timed ALTERNATELY with auto in one process
// (auto, cand, auto, cand, …), reporting the median of per-pair ratios (robust to load changes).
//
//   node --import tsx bench/tune-inception.ts [variants] [--rounds=N] [--match=REGEX] [--ms=TARGET]
//     variants: comma list of gemm<WGX>x<P>x<KB>, e.g. gemm16x4x8,gemm32x4x16 (default: auto only)
//     --old: add the tile of the previous policy (32 lanes always, CONV_POLICY.cpuLanes = []) as a candidate
//     --changed: only the shapes where that old tile differs from auto
//     --vgg: add VGG-19's 14²×512→512 3×3 (b5) shape
//     --model[=vgg19]: instead, whole forwards (batch 1, seeded He weights) under the old policy and
//       the current one, alternately (timePaired), median of per-pair ratios old/current; --swap
//       puts the current policy first in each pair; --fine=LANES@MIN[-MAX] (output pixels) compares the current policy
//       (old) with it plus CONV_POLICY.cpuFine (current), e.g. --fine=8@1000
// Output per shape: layers with that geometry, GFLOP, auto's tile and GFLOP/s, each candidate's
// time ratio cand/auto (< 1: faster); a last line weights the best candidate per shape by layers.
import '../src/platform/node.ts';
import { chooseConvTile, CONV_POLICY, conv2dOutputShape, conv2dWithTile, type Conv2dOptions, type ConvTile } from '../src/kernels/conv2d.ts';
import { Conv2D } from '../src/nn/layers/conv.ts';
import { inceptionV3 } from '../src/nn/zoo/index.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { upload } from '../src/tensor/tensor.ts';
import { median, timePaired, uniform } from './measure.ts';
import { heWeights } from './model-setup.ts';
import { vgg19 } from '../src/nn/zoo/index.ts';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => args.find((a) => a.startsWith(`--${k}=`))?.split('=')[1] ?? d;
const rounds = Number(opt('rounds', '5'));
const match = new RegExp(opt('match', '.'));
const targetMs = Number(opt('ms', '60'));
const pos = args.filter((a) => !a.startsWith('--'));
const variants = (pos[0] ?? '').split(',').filter(Boolean).map((v) => {
  const m = /^(row|gemm)(\d+)x(\d+)x(\d+)$/.exec(v);
  if (!m) throw new Error(`bad variant '${v}'`);
  return { kind: m[1] as 'row' | 'gemm', wgx: +m[2]!, p: +m[3]!, kb: +m[4]! } satisfies ConvTile;
});
const old = args.includes('--old') || args.includes('--changed');
const tileName = (t: ConvTile) => `${t.kind}${t.wgx}x${t.p}x${t.kb}`;

const rt = await init();
const modelArg = args.find((a) => a.startsWith('--model'));
if (modelArg) {
  const name = modelArg.split('=')[1] ?? 'inceptionV3';
  const size = name === 'vgg19' ? 224 : 299;
  const m = name === 'vgg19' ? vgg19({ inputShape: [224, 224, 3] }) : inceptionV3({ inputShape: [299, 299, 3] });
  m.setWeights(heWeights(m, 7));
  const x = upload(uniform(size * size * 3, 101, -1, 1), [1, size, size, 3]);
  // Policies as patches of CONV_POLICY: 'old' = 32 lanes always; 'current' = as committed;
  // --fine=LANES@MIN[-MAX]: the current policy plus cpuFine (then 'old' means the current one).
  type Patch = Partial<typeof CONV_POLICY>;
  const fineArg = opt('fine', '');
  const fm = /^(\d+)@(\d+)(?:-(\d+))?$/.exec(fineArg);
  if (fineArg && !fm) throw new Error(`bad --fine '${fineArg}' (want LANES@MINPIXELS[-MAXPIXELS], e.g. 8@1000 or 16@200-1000)`);
  const oldP: Patch = fm ? {} : { cpuLanes: [], cpuFine: null };
  const curP: Patch = fm ? { cpuFine: { lanes: +fm[1]!, minPixels: +fm[2]!, maxPixels: fm[3] ? +fm[3] : Infinity } } : {};
  const fwd = (patch: Patch) => async () => {
    const keep = { ...CONV_POLICY };
    Object.assign(CONV_POLICY, patch);
    try {
      const y = m.predict(x);
      const d = await y.data();
      y.dispose();
      return d;
    } finally {
      Object.assign(CONV_POLICY, keep);
    }
  };
  const cur = curP;
  console.log(`old = ${JSON.stringify({ ...CONV_POLICY, ...oldP })}; current = ${JSON.stringify({ ...CONV_POLICY, ...curP })}`);
  const a = (await fwd(oldP)()) as Float32Array, b = (await fwd(cur)()) as Float32Array;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  console.log(`${name} ${size}² b1: softmax max |old - current| ${diff.toExponential(2)} (warm-up of both)`);
  // --swap: the current policy first in each pair (a check on order effects, e.g. the waiter's learnt rate).
  const swap = args.includes('--swap');
  const t = await timePaired(fwd(swap ? cur : oldP), fwd(swap ? oldP : cur), 1000 * Number(opt('budget', '60')), Number(opt('pairs', '9')));
  const [o, c] = swap ? [t.b, t.a] : [t.a, t.b];
  const ratios = swap ? t.ratios.map((r) => 1 / r) : t.ratios;
  console.log(`old ${o.samplesMs.map((v) => v.toFixed(0)).join(' ')} ms; current ${c.samplesMs.map((v) => v.toFixed(0)).join(' ')} ms (${swap ? 'current' : 'old'} first in each pair)`);
  const sr = [...ratios].sort((p, q) => p - q);
  console.log(`per-pair old/current ${ratios.map((r) => r.toFixed(3)).join(' ')}; median ${median(ratios).toFixed(3)}, range ${sr[0]!.toFixed(3)}-${sr[sr.length - 1]!.toFixed(3)} (> 1: current faster)`);
  process.exit(0);
}
const model = inceptionV3({ inputShape: [299, 299, 3] });
interface Shape { key: string; x: number[]; w: number[]; opts: Omit<Conv2dOptions, 'bias'>; layers: string[] }
const shapes = new Map<string, Shape>();
for (const n of model.nodes) {
  const l = n.layer;
  if (!(l instanceof Conv2D)) continue;
  const x = [1, ...(n.inputShapes[0]!.slice(1) as number[])];
  const w = [...l.kernelSize, x[3]!, l.filters];
  const opts = { strides: l.strides, padding: l.padding, activation: 'relu' as const };
  const key = `${x.slice(1).join('×')} ${w[0]}×${w[1]}→${w[3]} s${l.strides[0]} ${l.padding}`;
  const s = shapes.get(key) ?? { key, x, w, opts, layers: [] as string[] };
  s.layers.push(l.name);
  shapes.set(key, s);
}
if (args.includes('--vgg')) shapes.set('14×14×512 3×3→512 s1 same (VGG b5)', { key: '14×14×512 3×3→512 s1 same (VGG b5)', x: [1, 14, 14, 512], w: [3, 3, 512, 512], opts: { strides: [1, 1], padding: 'same', activation: 'relu' }, layers: ['b5c1', 'b5c2', 'b5c3', 'b5c4'] });
function oldTile(g: ReturnType<typeof conv2dOutputShape>): ConvTile {
  const keep = CONV_POLICY.cpuLanes;
  const keepFine = CONV_POLICY.cpuFine;
  CONV_POLICY.cpuLanes = [];
  CONV_POLICY.cpuFine = null;
  try {
    return chooseConvTile(g, rt.adapterClass === 'cpu');
  } finally {
    CONV_POLICY.cpuLanes = keep;
    CONV_POLICY.cpuFine = keepFine;
  }
}

/** Relative error, vs float64 sums, of relu(conv + bias) at 150 spread points (÷ Σ|terms|). */
function spotCheck(y: Float32Array, xd: Float32Array, wd: Float32Array, bd: Float32Array, s: Shape): number {
  const g = conv2dOutputShape(s.x, s.w, s.opts);
  const [, oh, ow, k] = g.outShape;
  const [, h, wi, c] = s.x as [number, number, number, number];
  let worst = 0;
  const pts: [number, number, number][] = [[0, 0, 0], [oh - 1, ow - 1, k - 1]];
  for (let i = 0; i < 150; i++) pts.push([(i * 7919) % oh, (i * 104729) % ow, (i * 31 + 7) % k]);
  for (const [py, px, ko] of pts) {
    let sum = bd[ko]!, mag = Math.abs(sum);
    for (let kh = 0; kh < g.kh; kh++) for (let kw = 0; kw < g.kw; kw++) {
      const ih = py * g.strides[0] - g.pads.top + kh, iw = px * g.strides[1] - g.pads.left + kw;
      if (ih < 0 || iw < 0 || ih >= h || iw >= wi) continue;
      for (let ci = 0; ci < c; ci++) {
        const t = xd[(ih * wi + iw) * c + ci]! * wd[((kh * g.kw + kw) * c + ci) * k + ko]!;
        sum += t;
        mag += Math.abs(t);
      }
    }
    const got = y[(py * ow + px) * k + ko]!;
    worst = Math.max(worst, Math.abs(got - Math.max(sum, 0)) / Math.max(mag, 1e-6));
  }
  return worst;
}

console.log(`adapter ${rt.adapterName}; ${shapes.size} distinct conv geometries in InceptionV3 299²; rounds ${rounds}, ~${targetMs} ms per sample`);
let autoMs = 0, bestMs = 0;
const picks: string[] = [];
for (const s of shapes.values()) {
  if (!match.test(s.key)) continue;
  const g = conv2dOutputShape(s.x, s.w, s.opts);
  const auto = chooseConvTile(g, rt.adapterClass === 'cpu');
  const prev = oldTile(g);
  if (args.includes('--changed') && tileName(prev) === tileName(auto)) continue;
  const xd = uniform(s.x.reduce((a, b) => a * b, 1), 1, -1, 1);
  const wd = uniform(s.w.reduce((a, b) => a * b, 1), 2, -0.1, 0.1);
  const bd = uniform(s.w[3]!, 3, -0.1, 0.1);
  const x = upload(xd, s.x), w = upload(wd, s.w), b = upload(bd, [s.w[3]!]);
  const cands = [auto, ...(old && tileName(prev) !== tileName(auto) ? [prev] : []), ...variants.filter((v) => tileName(v) !== tileName(auto) && tileName(v) !== tileName(prev) && (v.kind === 'gemm' || (g.strides[1] === 1 && g.kw > 1)))];
  const ok: ConvTile[] = [];
  for (const t of cands) {
    const y = conv2dWithTile(x, w, { ...s.opts, bias: b }, t);
    const err = spotCheck((await y.data()) as Float32Array, xd, wd, bd, s);
    y.dispose();
    if (err > 1e-5) console.log(`  ${s.key}: ${tileName(t)} FAILS the check (rel err ${err.toExponential(2)}); not timed`);
    else ok.push(t);
  }
  // One launch sizes reps so that a sample lasts ~targetMs.
  const time = async (t: ConvTile, reps: number) => {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) conv2dWithTile(x, w, { ...s.opts, bias: b }, t).dispose();
    await rt.sync();
    return (performance.now() - t0) / reps;
  };
  const pilot = await time(auto, 1);
  const reps = Math.max(1, Math.min(32, Math.round(targetMs / pilot)));
  const per = ok.map(() => [] as number[]);
  for (let r = 0; r < rounds; r++) for (let i = 0; i < ok.length; i++) per[i]!.push(await time(ok[i]!, reps));
  const base = per[0]!;
  const ratios = per.map((p) => median(p.map((v, j) => v / base[j]!)));
  const gf = g.flops / 1e9;
  const autoT = median(base);
  let best = 0;
  for (let i = 1; i < ok.length; i++) if (ratios[i]! < ratios[best]!) best = i;
  autoMs += s.layers.length * autoT;
  bestMs += s.layers.length * autoT * ratios[best]!;
  picks.push(`${s.key}: ${tileName(ok[best]!)}`);
  console.log(
    `${s.key.padEnd(34)} ×${s.layers.length} ${gf.toFixed(3)} GFLOP  auto ${tileName(auto)} ${autoT.toFixed(2)} ms ${(gf / autoT * 1e3).toFixed(1)} GFLOP/s` +
      ok.slice(1).map((t, i) => `  ${tileName(t)} ${ratios[i + 1]!.toFixed(2)}`).join(''),
  );
  x.dispose(); w.dispose(); b.dispose();
}
console.log(`Σ layers × auto ${autoMs.toFixed(0)} ms; with the best per shape ${bestMs.toFixed(0)} ms (${(bestMs / autoMs).toFixed(3)}×)`);
console.log(picks.join('\n'));
