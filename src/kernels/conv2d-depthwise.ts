// Keras DepthwiseConv2D as a direct kernel: each output channel c·M+m reads one input channel c,
// so there is no reduction over channels to block; a lane owns one pixel × 4 output channels
// and the workgroup shares those channels, which keeps the weight reads workgroup-uniform.
import type { ProgramSource } from '../gpu/pipelines.ts';
import { activationWgsl, defineProgram, storageDecls, uniformDecl, type Activation } from './program.ts';
import type { Conv2dGeometry } from './conv2d-geometry.ts';

export const DEPTHWISE_WGX = 32;

/** Geometry (k = C·M output channels, mult = M) and the grid; i32 so that padded coordinates may go negative. */
const DepthwiseU = uniformDecl({
  n: 'i32', h: 'i32', w: 'i32', c: 'i32', oh: 'i32', ow: 'i32', k: 'i32', kh: 'i32', kw: 'i32',
  sh: 'i32', sw: 'i32', dh: 'i32', dw: 'i32', pt: 'i32', pl: 'i32', mult: 'i32', npix: 'i32', nwgx: 'i32',
}, 'depthwiseConv2d');

const V = ['x', 'y', 'z', 'w'];

// x:(N,H,W,C) w:(KH,KW,C,M) bias:(C·M) y:(N,OH,OW,C·M)
function depthwiseCode(bias: boolean, act: Activation): string {
  const inputs: [string, string][] = [['X', 'f32'], ['W', 'f32']];
  if (bias) inputs.push(['B', 'f32']);
  let c = `${DepthwiseU.wgsl}${storageDecls(inputs, [['Y', 'f32']])}${activationWgsl(act)}
// x:(N,H,W,C) w:(KH,KW,C,M) bias:(C*M) y:(N,OH,OW,C*M); one pixel × 4 output channels per lane
@compute @workgroup_size(${DEPTHWISE_WGX})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let t = (i32(wg.y) * u.nwgx + i32(wg.x)) * ${DEPTHWISE_WGX} + i32(lid.x);
  let ok = t < u.npix;
  let ow = t % u.ow;
  let oh = (t / u.ow) % u.oh;
  let n = t / (u.ow * u.oh);
  let o0 = i32(wg.z) * 4;
`;
  // Output channel o = c·M + m reads input channel c = o / M; clamp to stay in bounds.
  for (let e = 0; e < 4; e++) c += `  let q${e} = min(o0 + ${e}, u.k - 1);\n  let i${e} = q${e} / u.mult;\n`;
  c += `  var acc = vec4<f32>(0.0);
  for (var kh = 0; kh < u.kh; kh++) {
    for (var kw = 0; kw < u.kw; kw++) {
      let ih = oh * u.sh - u.pt + kh * u.dh;
      let iw = ow * u.sw - u.pl + kw * u.dw;
      let v = ok && ih >= 0 && ih < u.h && iw >= 0 && iw < u.w;
      let b = select(0, ((n * u.h + ih) * u.w + iw) * u.c, v);
      let xv = select(vec4<f32>(0.0), vec4<f32>(X[b + i0], X[b + i1], X[b + i2], X[b + i3]), v);
      let wr = (kh * u.kw + kw) * u.k;
      acc = fma(xv, vec4<f32>(W[wr + q0], W[wr + q1], W[wr + q2], W[wr + q3]), acc);
    }
  }
  if (ok) {
`;
  for (let e = 0; e < 4; e++) {
    c += `    if (o0 + ${e} < u.k) { Y[t * u.k + o0 + ${e}] = act(acc.${V[e]}${bias ? ` + B[o0 + ${e}]` : ''}); }\n`;
  }
  return c + '  }\n}\n';
}

export function depthwiseProgram(bias: boolean, act: Activation): ProgramSource {
  return defineProgram('depthwiseConv2d', { bias, act }, ({ bias, act }) => ({
    inputs: bias ? 3 : 2, outputs: 1, code: () => depthwiseCode(bias, act),
  }));
}

/** Uniforms for a geometry computed with groups = C and w viewed as (KH,KW,1,C·M). */
export function depthwiseUniforms(g: Conv2dGeometry, nwgx: number): ArrayBuffer {
  const [n, oh, ow] = g.outShape;
  return DepthwiseU.pack({
    n: g.n, h: g.h, w: g.w, c: g.c, oh, ow, k: g.k, kh: g.kh, kw: g.kw, sh: g.strides[0], sw: g.strides[1],
    dh: g.dilations[0], dw: g.dilations[1], pt: g.pads.top, pl: g.pads.left, mult: g.k / g.c, npix: n * oh * ow, nwgx,
  });
}
