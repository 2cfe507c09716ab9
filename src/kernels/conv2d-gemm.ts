// Register-blocked implicit-GEMM convolution (no im2col): GEMM rows M = N·OH·OW output pixels,
// columns = K output channels, reduction over KH·KW·C/groups. Each invocation owns P pixels ×
// KB channels held as vec4 accumulators; lanes of a workgroup differ by pixel while the weights
// they read are the same for the whole workgroup (a broadcast on GPUs; on lavapipe it measured
// no cheaper than a gather: there the accumulator count per lane decides, see bench/NOTES.md).
import type { ProgramSource } from '../gpu/pipelines.ts';
import { activationWgsl, defineProgram, storageDecls, uniformDecl, type Activation } from './program.ts';
import type { Conv2dGeometry } from './conv2d-geometry.ts';

/**
 * A tile choice, baked into the shader text (and so into the pipeline key, derived from the spec).
 * - `gemm`: lane i owns pixels blk·WGX·P + p·WGX + i (p < P), any stride/dilation.
 * - `row`: lane owns P consecutive pixels of one output row and reuses the P+KW-1 input columns
 *   they share across kw (stride 1 and dilation 1 along W only; KW fixed in the key).
 */
export interface ConvTile {
  kind: 'gemm' | 'row';
  /** Lanes per workgroup along X (a multiple of 8: lavapipe packs 8 lanes per SIMD vector). */
  wgx: number;
  /** Output pixels per lane. */
  p: number;
  /** Output channels per lane (a multiple of 4: vec4 accumulators). */
  kb: number;
}

/** Everything gemmCode reads: the pipeline key is derived from it (defineProgram). */
type Spec = {
  tile: Readonly<ConvTile>;
  /** C/groups % 4 == 0: input read as vec4 along C. */
  xv4: boolean;
  /** K/groups % 4 == 0: weights, bias and output as vec4 along K. */
  kv4: boolean;
  bias: boolean;
  act: Activation;
  /** Kernel width, compile-time for the row variant only. */
  kw: number;
};

/** Geometry (cg, kg: channels per group), k blocks per group, lane-units and row blocks, grid; i32 for signed coordinates. */
const GemmU = uniformDecl({
  n: 'i32', h: 'i32', w: 'i32', c: 'i32', oh: 'i32', ow: 'i32', k: 'i32', kh: 'i32', kw: 'i32', sh: 'i32', sw: 'i32',
  dh: 'i32', dw: 'i32', pt: 'i32', pl: 'i32', cg: 'i32', kg: 'i32', kblocks: 'i32', units: 'i32', owb: 'i32', nwgx: 'i32',
}, 'conv2d');

const range = (n: number) => [...Array(n).keys()];
const V = ['x', 'y', 'z', 'w'];

/** Number of lane-units (pixels/P for gemm, row segments for row) a call needs. */
function units(g: Conv2dGeometry, t: ConvTile): { units: number; owb: number } {
  const [n, oh, ow] = g.outShape;
  if (t.kind === 'row') {
    const owb = Math.ceil(ow / t.p);
    return { units: n * oh * owb, owb };
  }
  return { units: Math.ceil((n * oh * ow) / t.p), owb: 0 };
}

/** Uniform values and workgroup counts (pixel blocks, k blocks) for one call. */
export function gemmLaunch(g: Conv2dGeometry, t: ConvTile) {
  const { units: nu, owb } = units(g, t);
  const kblocks = Math.ceil(g.kPerGroup / t.kb);
  return {
    pixelBlocks: Math.ceil(nu / t.wgx),
    kBlocks: g.groups * kblocks,
    uniforms: (nwgx: number) =>
      GemmU.pack({
        n: g.n, h: g.h, w: g.w, c: g.c, oh: g.outShape[1], ow: g.outShape[2], k: g.k, kh: g.kh, kw: g.kw,
        sh: g.strides[0], sw: g.strides[1], dh: g.dilations[0], dw: g.dilations[1], pt: g.pads.top, pl: g.pads.left,
        cg: g.cPerGroup, kg: g.kPerGroup, kblocks, units: nu, owb, nwgx,
      }),
  };
}

/** WGSL that adds x (one input value per pixel) × weight row j into the accumulators. */
function fmaRow(s: Spec, xs: (p: number) => string, wrow: string): string {
  const nb = s.tile.kb / 4;
  let out = '';
  for (let b = 0; b < nb; b++) {
    out += s.kv4
      ? `      let w${b} = W[(${wrow} + kv${b}) >> 2u];\n`
      : `      let w${b} = vec4<f32>(${range(4).map((e) => `W[${wrow} + kk${b}_${e}]`).join(', ')});\n`;
  }
  for (let p = 0; p < s.tile.p; p++) {
    for (let b = 0; b < nb; b++) out += `      a${p}_${b} = fma(vec4<f32>(${xs(p)}), w${b}, a${p}_${b});\n`;
  }
  return out;
}

/** The c-loop body: per input channel (or vec4 of channels) load x per pixel, then the weight rows. */
function reduction(s: Spec, xload: (p: number) => string, wbase: (kwOff: string) => string, nx: number, xsrc: (p: number, kw: number) => number): string {
  const step = s.xv4 ? 4 : 1;
  const kws = s.tile.kind === 'row' ? s.kw : 1;
  let body = '';
  for (let q = 0; q < nx; q++) body += `      let x${q} = ${xload(q)};\n`;
  for (let kw = 0; kw < kws; kw++) {
    for (let j = 0; j < step; j++) {
      const wrow = `(${wbase(String(kw))} + ${j} * u.k)`;
      body += `      {\n${fmaRow(s, (p) => `x${xsrc(p, kw)}${s.xv4 ? `.${V[j]}` : ''}`, wrow)}      }\n`;
    }
  }
  return `    for (var c = 0; c < u.cg; c += ${step}) {\n${body}    }\n`;
}

// x:(N,H,W,C) w:(KH,KW,C/groups,K) bias:(K) y:(N,OH,OW,K)
function gemmCode(s: Spec): string {
  const { wgx, p: P, kb } = s.tile;
  const nb = kb / 4;
  const row = s.tile.kind === 'row';
  const xt = s.xv4 ? 'vec4<f32>' : 'f32';
  const kt = s.kv4 ? 'vec4<f32>' : 'f32';
  const inputs: [string, string][] = [['X', xt], ['W', kt]];
  if (s.bias) inputs.push(['B', kt]);
  let c = `${GemmU.wgsl}${storageDecls(inputs, [['Y', kt]])}${activationWgsl(s.act)}
// x:(N,H,W,C) w:(KH,KW,C/groups,K) bias:(K) y:(N,OH,OW,K); ${row ? `row of ${P} pixels` : `${P} pixels`} × ${kb} channels per lane
@compute @workgroup_size(${wgx})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = i32(wg.y) * u.nwgx * ${wgx} + i32(wg.x) * ${wgx} + i32(lid.x);
  // Workgroup-uniform: this group's output channels k0..k0+${kb} (clipped to the group's end).
  let kbi = i32(wg.z);
  let grp = kbi / u.kblocks;
  let k0 = grp * u.kg + (kbi % u.kblocks) * ${kb};
  let kend = (grp + 1) * u.kg;
  let c0 = grp * u.cg;
`;
  // Channel offsets clamped to the group's last channel (vec4: its last vec4), so a partial
  // last block reads valid weights (its outputs are never stored) instead of past the buffer.
  if (!s.kv4) {
    for (let b = 0; b < nb; b++) for (let e = 0; e < 4; e++) c += `  let kk${b}_${e} = min(k0 + ${4 * b + e}, kend - 1);\n`;
  } else {
    for (let b = 0; b < nb; b++) c += `  let kv${b} = min(k0 + ${4 * b}, kend - 4);\n`;
  }
  for (let p = 0; p < P; p++) for (let b = 0; b < nb; b++) c += `  var a${p}_${b} = vec4<f32>(0.0);\n`;
  // Each pixel's output index m (or -1 when past the end) and its input origin.
  if (row) {
    c += `  let ok = t < u.units;
  let ob = t % u.owb;
  let r = t / u.owb;
  let oh = r % u.oh;
  let nn = r / u.oh;
  let ow0 = ob * ${P};
  let mrow = (nn * u.oh + oh) * u.ow;
  let iw0 = ow0 - u.pl;
`;
    for (let p = 0; p < P; p++) c += `  let m${p} = select(-1, mrow + ow0 + ${p}, ok && ow0 + ${p} < u.ow);\n`;
    c += `  for (var kh = 0; kh < u.kh; kh++) {
    let ih = oh * u.sh - u.pt + kh * u.dh;
    let rowok = ok && ih >= 0 && ih < u.h;
    let rowbase = (nn * u.h + ih) * u.w;
`;
    const nx = P + s.kw - 1;
    for (let q = 0; q < nx; q++) {
      c += `    let v${q} = rowok && iw0 + ${q} >= 0 && iw0 + ${q} < u.w;\n`;
      c += `    let b${q} = select(0, (rowbase + iw0 + ${q}) * u.c + c0, v${q});\n`;
    }
    c += `    let wr = (kh * u.kw * u.cg) * u.k;\n`;
    const xload = (q: number) => (s.xv4 ? `select(vec4<f32>(0.0), X[(b${q} + c) >> 2u], v${q})` : `select(0.0, X[b${q} + c], v${q})`);
    c += reduction(s, xload, (kw) => `wr + (${kw} * u.cg + c) * u.k`, nx, (p, kw) => p + kw);
    c += '  }\n';
  } else {
    for (let p = 0; p < P; p++) {
      c += `  let q${p} = t * ${P} + ${p};
  let m${p} = select(-1, q${p}, q${p} < u.n * u.oh * u.ow);
  let ow${p} = q${p} % u.ow;
  let oh${p} = (q${p} / u.ow) % u.oh;
  let n${p} = q${p} / (u.ow * u.oh);
`;
    }
    c += `  for (var kh = 0; kh < u.kh; kh++) {
    for (var kw = 0; kw < u.kw; kw++) {
`;
    for (let p = 0; p < P; p++) {
      c += `    let ih${p} = oh${p} * u.sh - u.pt + kh * u.dh;
    let iw${p} = ow${p} * u.sw - u.pl + kw * u.dw;
    let v${p} = m${p} >= 0 && ih${p} >= 0 && ih${p} < u.h && iw${p} >= 0 && iw${p} < u.w;
    let b${p} = select(0, ((n${p} * u.h + ih${p}) * u.w + iw${p}) * u.c + c0, v${p});
`;
    }
    c += `    let wr = ((kh * u.kw + kw) * u.cg) * u.k;\n`;
    const xload = (q: number) => (s.xv4 ? `select(vec4<f32>(0.0), X[(b${q} + c) >> 2u], v${q})` : `select(0.0, X[b${q} + c], v${q})`);
    c += reduction(s, xload, () => `wr + c * u.k`, P, (p) => p);
    c += '  }\n  }\n';
  }
  // Epilogue: bias + activation fused into the write; pixels past the end and channels past
  // the group's end are skipped.
  for (let p = 0; p < P; p++) {
    c += `  if (m${p} >= 0) {\n`;
    for (let b = 0; b < nb; b++) {
      if (s.kv4) {
        const bias = s.bias ? ` + B[(k0 + ${4 * b}) >> 2u]` : '';
        c += `    if (k0 + ${4 * b} < kend) { Y[(m${p} * u.k + k0 + ${4 * b}) >> 2u] = act4(a${p}_${b}${bias}); }\n`;
      } else {
        for (let e = 0; e < 4; e++) {
          const k = `k0 + ${4 * b + e}`;
          const bias = s.bias ? ` + B[${k}]` : '';
          c += `    if (${k} < kend) { Y[m${p} * u.k + ${k}] = act(a${p}_${b}.${V[e]}${bias}); }\n`;
        }
      }
    }
    c += '  }\n';
  }
  return c + '}\n';
}

/** The program for one tile and specialisation. */
export function gemmProgram(g: Conv2dGeometry, tile: ConvTile, bias: boolean, act: Activation): ProgramSource {
  const spec: Spec = { tile: { ...tile }, xv4: g.cPerGroup % 4 === 0, kv4: g.kPerGroup % 4 === 0, bias, act, kw: tile.kind === 'row' ? g.kw : 0 };
  return defineProgram('conv2d', spec, (s) => ({ inputs: s.bias ? 3 : 2, outputs: 1, code: () => gemmCode(s) }));
}
