// The weight gradient of conv2d as an implicit GEMM, dW[(kh,kw,c), k] = Σ_{n,oh,ow} x[..]·dy[..],
// register-blocked (each lane owns CB input channels × KB output channels of one tap) and split
// along the reduction (split-K over output rows) so that small weight tensors with long
// reductions (an RGB first layer) still keep every core busy; the splits are summed afterwards.
import type { ProgramSource } from '../gpu/pipelines.ts';
import { defineProgram, storageDecls, uniformDecl } from './program.ts';
import type { Conv2dGeometry } from './conv2d-geometry.ts';

/** dWeight tile, baked into the shader (and so the pipeline key). */
export interface WeightGradTile {
  /** Lanes per workgroup (a multiple of 8 on lavapipe). */
  wgx: number;
  /** Input channels per lane: a multiple of 4 when C/groups % 4 == 0 (read as vec4), else any. */
  cb: number;
  /** Output channels per lane, a multiple of 4 (vec4 accumulators). */
  kb: number;
}

/** Geometry, channel blocks, lane count (nrb lanes per (group, k block)) and rows per split; i32 for signed coordinates. */
const WeightGradU = uniformDecl({
  n: 'i32', h: 'i32', w: 'i32', c: 'i32', oh: 'i32', ow: 'i32', k: 'i32', kh: 'i32', kw: 'i32', sh: 'i32', sw: 'i32',
  dh: 'i32', dw: 'i32', pt: 'i32', pl: 'i32', cg: 'i32', kg: 'i32',
  cblocks: 'i32', kblocks: 'i32', nrb: 'i32', lanes: 'i32', chunk: 'i32', nwgx: 'i32',
}, 'conv2dWeightGrad');

const V = ['x', 'y', 'z', 'w'];

/** Uniforms and workgroup counts (x: lane blocks, z: splits) for one call with `splits` partial sums. */
export function weightGradLaunch(g: Conv2dGeometry, t: WeightGradTile, splits: number) {
  const cblocks = Math.ceil(g.cPerGroup / t.cb);
  const kblocks = Math.ceil(g.kPerGroup / t.kb);
  const nrb = g.kh * g.kw * cblocks;
  const lanes = nrb * g.groups * kblocks;
  const rows = g.n * g.outShape[1];
  const chunk = Math.ceil(rows / splits);
  return {
    laneBlocks: Math.ceil(lanes / t.wgx),
    /** Splits actually used (every split gets at least one output row). */
    splits: Math.ceil(rows / chunk),
    uniforms: (nwgx: number) =>
      WeightGradU.pack({
        n: g.n, h: g.h, w: g.w, c: g.c, oh: g.outShape[1], ow: g.outShape[2], k: g.k, kh: g.kh, kw: g.kw,
        sh: g.strides[0], sw: g.strides[1], dh: g.dilations[0], dw: g.dilations[1], pt: g.pads.top, pl: g.pads.left,
        cg: g.cPerGroup, kg: g.kPerGroup, cblocks, kblocks, nrb, lanes, chunk, nwgx,
      }),
  };
}

// x:(N,H,W,C) dy:(N,OH,OW,K) dw:(S,KH,KW,C/groups,K), split s summing output rows
// [s·chunk, (s+1)·chunk) of the N·OH rows.
function weightGradCode(t: WeightGradTile, cv4: boolean, kv4: boolean): string {
  const { wgx, cb, kb } = t;
  const nb = kb / 4;
  const nx = cv4 ? cb / 4 : cb;
  const ct = cv4 ? 'vec4<f32>' : 'f32';
  const kt = kv4 ? 'vec4<f32>' : 'f32';
  let c = `${WeightGradU.wgsl}${storageDecls([['X', ct], ['DY', kt]], [['DW', kt]])}
// x:(N,H,W,C) dy:(N,OH,OW,K) dw:(S,KH,KW,C/groups,K); ${cb} input × ${kb} output channels of one tap per lane
// dw[s,kh,kw,c,k] = Σ_{rows of split s} Σ_ow x[n, oh·sh - pt + kh·dh, ow·sw - pl + kw·dw, c]·dy[n,oh,ow,k]
@compute @workgroup_size(${wgx})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (i32(wg.y) * u.nwgx + i32(wg.x)) * ${wgx} + i32(lid.x);
  let ok = t < u.lanes;
  let tt = min(t, u.lanes - 1);
  // Lanes of a workgroup differ by (tap, input channel block); the output channel block and
  // split are mostly shared, so dy reads tend to be uniform.
  let rb = tt % u.nrb;
  let kbi = tt / u.nrb;
  let khw = rb / u.cblocks;
  let kh = khw / u.kw;
  let kw = khw % u.kw;
  let ci0 = (rb % u.cblocks) * ${cb};
  let grp = kbi / u.kblocks;
  let k0 = grp * u.kg + (kbi % u.kblocks) * ${kb};
  let kend = (grp + 1) * u.kg;
  let xc = grp * u.cg + ci0;
  let sp = i32(wg.z);
  let r0 = sp * u.chunk;
  let r1 = min(r0 + u.chunk, u.n * u.oh);
  // Output columns whose input column iw = ow·sw + iw0 lies inside [0, W).
  let iw0 = kw * u.dw - u.pl;
  let owlo = select(0, (-iw0 + u.sw - 1) / u.sw, iw0 < 0);
  let owhi = select(0, min(u.ow, (u.w - 1 - iw0) / u.sw + 1), u.w - 1 - iw0 >= 0);
`;
  // Channel blocks past the group's end are clamped to it (in bounds; those outputs are not stored).
  if (!cv4) for (let j = 0; j < cb; j++) c += `  let cx${j} = min(xc + ${j}, grp * u.cg + u.cg - 1);\n`;
  else for (let q = 0; q < nx; q++) c += `  let xo${q} = min(${4 * q}, u.cg - 4 - ci0);\n`;
  if (kv4) for (let b = 0; b < nb; b++) c += `  let ko${b} = min(${4 * b}, kend - 4 - k0);\n`;
  else {
    for (let b = 0; b < nb; b++) for (let e = 0; e < 4; e++) c += `  let kk${b}_${e} = min(k0 + ${4 * b + e}, kend - 1);\n`;
  }
  for (let j = 0; j < cb; j++) for (let b = 0; b < nb; b++) c += `  var a${j}_${b} = vec4<f32>(0.0);\n`;
  c += `  for (var r = r0; r < r1; r++) {
    let oh = r % u.oh;
    let nn = r / u.oh;
    let ih = oh * u.sh - u.pt + kh * u.dh;
    let hi = select(owlo, owhi, ih >= 0 && ih < u.h);
    let xrow = (nn * u.h + ih) * u.w + iw0;
    let dyrow = r * u.ow;
    for (var ow = owlo; ow < hi; ow++) {
      let xb = (xrow + ow * u.sw) * u.c + xc;
      let db = (dyrow + ow) * u.k + k0;
`;
  for (let q = 0; q < nx; q++) c += cv4 ? `      let x${q} = X[(xb + xo${q}) >> 2u];\n` : `      let x${q} = X[xb - xc + cx${q}];\n`;
  for (let b = 0; b < nb; b++) {
    c += kv4
      ? `      let d${b} = DY[(db + ko${b}) >> 2u];\n`
      : `      let d${b} = vec4<f32>(${[0, 1, 2, 3].map((e) => `DY[db - k0 + kk${b}_${e}]`).join(', ')});\n`;
  }
  for (let j = 0; j < cb; j++) {
    const xs = cv4 ? `x${j >> 2}.${V[j & 3]}` : `x${j}`;
    for (let b = 0; b < nb; b++) c += `      a${j}_${b} = fma(vec4<f32>(${xs}), d${b}, a${j}_${b});\n`;
  }
  c += '    }\n  }\n  if (ok) {\n';
  c += `    let ob = ((sp * u.kh * u.kw + khw) * u.cg + ci0) * u.k + k0;\n`;
  for (let j = 0; j < cb; j++) {
    c += `    if (ci0 + ${j} < u.cg) {\n`;
    for (let b = 0; b < nb; b++) {
      if (kv4) c += `      if (k0 + ${4 * b} < kend) { DW[((ob + ${j} * u.k) >> 2u) + ${b}] = a${j}_${b}; }\n`;
      else {
        for (let e = 0; e < 4; e++) c += `      if (k0 + ${4 * b + e} < kend) { DW[ob + ${j} * u.k + ${4 * b + e}] = a${j}_${b}.${V[e]}; }\n`;
      }
    }
    c += '    }\n';
  }
  return c + '  }\n}\n';
}

/** The dWeight program for one tile; vec4 along C when C/groups % 4 == 0, along K when K/groups % 4 == 0. */
export function weightGradProgram(g: Conv2dGeometry, t: WeightGradTile): ProgramSource {
  const spec = { tile: { ...t } as Readonly<WeightGradTile>, cv4: g.cPerGroup % 4 === 0, kv4: g.kPerGroup % 4 === 0 };
  return defineProgram('conv2d.dWeight', spec, ({ tile, cv4, kv4 }) => ({ inputs: 2, outputs: 1, code: () => weightGradCode(tile, cv4, kv4) }));
}
