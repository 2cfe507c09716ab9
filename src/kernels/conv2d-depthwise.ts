// Keras DepthwiseConv2D as a direct kernel: each output channel c·M+m reads one input channel c,
// so there is no reduction over channels to block; a lane owns one pixel × 4 output channels
// and the workgroup shares those channels, which keeps the weight reads workgroup-uniform.
import type { ProgramSource } from '../gpu/pipelines.ts';
import { activationWgsl, storageDecls, uniformStruct, Uniforms, type Activation } from './program.ts';
import type { Conv2dGeometry } from './conv2d-geometry.ts';

export const DEPTHWISE_WGX = 32;

const FIELDS: [string, 'i32'][] = [
  'n', 'h', 'w', 'c', 'oh', 'ow', 'k', 'kh', 'kw', 'sh', 'sw', 'dh', 'dw', 'pt', 'pl', 'mult', 'npix', 'nwgx',
].map((f) => [f, 'i32']);

const V = ['x', 'y', 'z', 'w'];

// x:(N,H,W,C) w:(KH,KW,C,M) bias:(C·M) y:(N,OH,OW,C·M)
function depthwiseCode(bias: boolean, act: Activation): string {
  const inputs: [string, string][] = [['X', 'f32'], ['W', 'f32']];
  if (bias) inputs.push(['B', 'f32']);
  let c = `${uniformStruct(FIELDS)}${storageDecls(inputs, [['Y', 'f32']])}${activationWgsl(act)}
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
  return { name: 'depthwiseConv2d', key: `${bias ? 'b' : ''}|${act}`, inputs: bias ? 3 : 2, outputs: 1, code: () => depthwiseCode(bias, act) };
}

/** Uniforms for a geometry computed with groups = C and w viewed as (KH,KW,1,C·M). */
export function depthwiseUniforms(g: Conv2dGeometry, nwgx: number): Uniforms {
  const [n, oh, ow] = g.outShape;
  return new Uniforms().i32(
    g.n, g.h, g.w, g.c, oh, ow, g.k, g.kh, g.kw, g.strides[0], g.strides[1], g.dilations[0], g.dilations[1],
    g.pads.top, g.pads.left, g.k / g.c, n * oh * ow, nwgx,
  );
}
