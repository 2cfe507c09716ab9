// The input gradient of conv2d as a direct gather kernel (a transposed convolution, no col2im):
// each lane owns P input pixels × KB input channels and sums dy·w over the taps and output
// channels that reach them. With stride s, input pixels are split into s_h·s_w phases (ih mod s);
// within a phase the contributing taps are a fixed arithmetic progression, so no tap is wasted.
import type { ProgramSource } from '../gpu/pipelines.ts';
import { defineProgram, storageDecls, uniformDecl } from './program.ts';
import type { Conv2dGeometry } from './conv2d-geometry.ts';

/** dInput tile, baked into the shader (and so the pipeline key): WGX lanes × P pixels × KB channels. */
export interface InputGradTile {
  wgx: number;
  p: number;
  /** Input channels per lane, a multiple of 4 (vec4 accumulators). */
  kb: number;
}

/**
 * Geometry, channel blocks per group, the phase grid (hq·wq pixels per phase, bpp blocks per
 * phase, nph = sh·sw phases) and the tap steps khs, kws within a phase; i32 for signed coordinates.
 */
const InputGradU = uniformDecl({
  n: 'i32', h: 'i32', w: 'i32', c: 'i32', oh: 'i32', ow: 'i32', k: 'i32', kh: 'i32', kw: 'i32', sh: 'i32', sw: 'i32',
  dh: 'i32', dw: 'i32', pt: 'i32', pl: 'i32', cg: 'i32', kg: 'i32', cblocks: 'i32',
  hq: 'i32', wq: 'i32', bpp: 'i32', nph: 'i32', khs: 'i32', kws: 'i32', nwgx: 'i32',
}, 'conv2dInputGrad');

const V = ['x', 'y', 'z', 'w'];
const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);

/** Uniforms and workgroup counts (x: phases × pixel blocks, z: channel blocks) for one call. */
export function inputGradLaunch(g: Conv2dGeometry, t: InputGradTile) {
  const [sh, sw] = g.strides;
  const hq = Math.ceil(g.h / sh), wq = Math.ceil(g.w / sw);
  const bpp = Math.ceil(Math.ceil((g.n * hq * wq) / t.p) / t.wgx);
  const cblocks = Math.ceil(g.cPerGroup / t.kb);
  return {
    blocks: bpp * sh * sw,
    cBlocks: g.groups * cblocks,
    uniforms: (nwgx: number) =>
      InputGradU.pack({
        n: g.n, h: g.h, w: g.w, c: g.c, oh: g.outShape[1], ow: g.outShape[2], k: g.k, kh: g.kh, kw: g.kw, sh, sw,
        dh: g.dilations[0], dw: g.dilations[1], pt: g.pads.top, pl: g.pads.left, cg: g.cPerGroup, kg: g.kPerGroup, cblocks,
        hq, wq, bpp, nph: sh * sw, khs: sh / gcd(sh, g.dilations[0]), kws: sw / gcd(sw, g.dilations[1]), nwgx,
      }),
  };
}

/** WGSL: the first tap a ≥ 0 with (r + pad - a·d) ≡ 0 (mod s), or `none` when there is none. */
const firstTap = (name: string, r: string, pad: string, d: string, s: string, steps: string, none: string) => `
  var ${name} = ${none};
  for (var a = 0; a < ${steps}; a++) {
    if ((((${r} + ${pad} - a * ${d}) % ${s}) + ${s}) % ${s} == 0) { ${name} = a; break; }
  }
`;

// dy:(N,OH,OW,K) wt:(KH,KW,K/groups,C) dx:(N,H,W,C) — wt is w:(KH,KW,C/groups,K) with each
// group's (C/groups, K/groups) block transposed, so a lane's KB channels are contiguous.
function inputGradCode(t: InputGradTile, cv4: boolean, kv4: boolean): string {
  const { wgx, p: P, kb } = t;
  const nb = kb / 4;
  const ct = cv4 ? 'vec4<f32>' : 'f32';
  const kt = kv4 ? 'vec4<f32>' : 'f32';
  let c = `${InputGradU.wgsl}${storageDecls([['DY', kt], ['WT', ct]], [['DX', ct]])}
// dy:(N,OH,OW,K) wt:(KH,KW,K/groups,C) dx:(N,H,W,C); ${P} input pixels × ${kb} input channels per lane
// dx[n,ih,iw,c] = Σ_{kh,kw,k} dy[n,oh,ow,k]·w[kh,kw,c,k] with ih = oh·sh - pt + kh·dh (same along W).
@compute @workgroup_size(${wgx})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  // Workgroup-uniform: the phase (rh, rw) = (ih mod sh, iw mod sw) and the channel block.
  let wgl = i32(wg.y) * u.nwgx + i32(wg.x);
  let ph = min(wgl / u.bpp, u.nph - 1);
  let live = wgl < u.bpp * u.nph;
  let t = (wgl % u.bpp) * ${wgx} + i32(lid.x);
  let rh = ph / u.sw;
  let rw = ph % u.sw;
  let cbi = i32(wg.z);
  let grp = cbi / u.cblocks;
  let c0 = grp * u.cg + (cbi % u.cblocks) * ${kb};
  let cend = (grp + 1) * u.cg;
  let k0 = grp * u.kg;
${firstTap('kh0', 'rh', 'u.pt', 'u.dh', 'u.sh', 'u.khs', 'u.kh')}${firstTap('kw0', 'rw', 'u.pl', 'u.dw', 'u.sw', 'u.kws', 'u.kw')}`;
  // Channel blocks past the group's end are clamped to it (in bounds; those outputs are not stored).
  if (!cv4) {
    for (let b = 0; b < nb; b++) for (let e = 0; e < 4; e++) c += `  let cc${b}_${e} = min(c0 + ${4 * b + e}, cend - 1);\n`;
  } else {
    for (let b = 0; b < nb; b++) c += `  let co${b} = min(c0 + ${4 * b}, cend - 4);\n`;
  }
  for (let p = 0; p < P; p++) for (let b = 0; b < nb; b++) c += `  var a${p}_${b} = vec4<f32>(0.0);\n`;
  // Pixel q of this phase's (N, HQ, WQ) grid is input pixel (n, rh + i·sh, rw + j·sw).
  for (let p = 0; p < P; p++) {
    c += `  let q${p} = t * ${P} + ${p};
  let j${p} = q${p} % u.wq;
  let i${p} = (q${p} / u.wq) % u.hq;
  let n${p} = q${p} / (u.wq * u.hq);
  let ih${p} = rh + i${p} * u.sh;
  let iw${p} = rw + j${p} * u.sw;
  let m${p} = select(-1, (n${p} * u.h + ih${p}) * u.w + iw${p}, live && q${p} < u.n * u.hq * u.wq && ih${p} < u.h && iw${p} < u.w);
`;
  }
  // For a tap of the phase's progression, oh = (rh + pt - kh·dh)/sh + i exactly.
  c += `  for (var kh = kh0; kh < u.kh; kh += u.khs) {
    let oq = (rh + u.pt - kh * u.dh) / u.sh;
    for (var kw = kw0; kw < u.kw; kw += u.kws) {
      let oc = (rw + u.pl - kw * u.dw) / u.sw;
`;
  for (let p = 0; p < P; p++) {
    c += `      let oh${p} = oq + i${p};
      let ow${p} = oc + j${p};
      let v${p} = m${p} >= 0 && oh${p} >= 0 && oh${p} < u.oh && ow${p} >= 0 && ow${p} < u.ow;
      let b${p} = select(0, ((n${p} * u.oh + oh${p}) * u.ow + ow${p}) * u.k + k0, v${p});
`;
  }
  const step = kv4 ? 4 : 1;
  c += `      let wr = (kh * u.kw + kw) * u.kg;
      for (var kk = 0; kk < u.kg; kk += ${step}) {
`;
  for (let p = 0; p < P; p++) {
    c += kv4
      ? `        let d${p} = select(vec4<f32>(0.0), DY[(b${p} + kk) >> 2u], v${p});\n`
      : `        let d${p} = select(0.0, DY[b${p} + kk], v${p});\n`;
  }
  for (let j = 0; j < step; j++) {
    c += `        {\n          let row = (wr + kk + ${j}) * u.c;\n`;
    for (let b = 0; b < nb; b++) {
      c += cv4
        ? `          let w${b} = WT[(row + co${b}) >> 2u];\n`
        : `          let w${b} = vec4<f32>(${[0, 1, 2, 3].map((e) => `WT[row + cc${b}_${e}]`).join(', ')});\n`;
    }
    for (let p = 0; p < P; p++) {
      for (let b = 0; b < nb; b++) c += `          a${p}_${b} = fma(vec4<f32>(d${p}${kv4 ? `.${V[j]}` : ''}), w${b}, a${p}_${b});\n`;
    }
    c += '        }\n';
  }
  c += '      }\n    }\n  }\n';
  for (let p = 0; p < P; p++) {
    c += `  if (m${p} >= 0) {\n`;
    for (let b = 0; b < nb; b++) {
      if (cv4) c += `    if (c0 + ${4 * b} < cend) { DX[(m${p} * u.c + c0 + ${4 * b}) >> 2u] = a${p}_${b}; }\n`;
      else {
        for (let e = 0; e < 4; e++) c += `    if (c0 + ${4 * b + e} < cend) { DX[m${p} * u.c + c0 + ${4 * b + e}] = a${p}_${b}.${V[e]}; }\n`;
      }
    }
    c += '  }\n';
  }
  return c + '}\n';
}

/** The dInput program for one tile; vec4 along C when C/groups % 4 == 0, along K when K/groups % 4 == 0. */
export function inputGradProgram(g: Conv2dGeometry, t: InputGradTile): ProgramSource {
  const spec = { tile: { ...t } as Readonly<InputGradTile>, cv4: g.cPerGroup % 4 === 0, kv4: g.kPerGroup % 4 === 0 };
  return defineProgram('conv2d.dInput', spec, ({ tile, cv4, kv4 }) => ({ inputs: 2, outputs: 1, code: () => inputGradCode(tile, cv4, kv4) }));
}

/** Per-call values of transposeWeightsProgram: total = KH·KW·C·K/groups, cg, kg per group. */
export const TransposeWeightsU = uniformDecl({ total: 'i32', c: 'i32', k: 'i32', cg: 'i32', kg: 'i32', nwgx: 'i32' }, 'conv2d transposeWeights');

// w:(KH,KW,C/groups,K) wt:(KH,KW,K/groups,C): wt[khw, kk, grp·cg + ci] = w[khw, ci, grp·kg + kk].
export function transposeWeightsProgram(): ProgramSource {
  return defineProgram('conv2d.transposeWeights', {}, () => ({
    inputs: 1,
    outputs: 1,
    code: () => `${TransposeWeightsU.wgsl}${storageDecls([['W', 'f32']], [['WT', 'f32']])}
// w:(KH,KW,C/groups,K) wt:(KH,KW,K/groups,C)
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let o = (i32(wg.y) * u.nwgx + i32(wg.x)) * 64 + i32(lid.x);
  if (o >= u.total) { return; }
  let c = o % u.c;
  let r = o / u.c;
  let kk = r % u.kg;
  let khw = r / u.kg;
  let grp = c / u.cg;
  WT[o] = W[(khw * u.cg + c - grp * u.cg) * u.k + grp * u.kg + kk];
}
`,
  }));
}
