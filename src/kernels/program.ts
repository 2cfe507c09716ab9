// What every kernel launcher shares: packing per-call values into a uniform struct, sizing
// the workgroup grid, creating the output tensor and dispatching with shapes for errors.
import type { ProgramSource } from '../gpu/pipelines.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { ShapeError } from '../gpu/errors.ts';
import { empty, Tensor } from '../tensor/tensor.ts';

/**
 * Packs scalars in declaration order for a WGSL struct whose members are all 4-byte scalars
 * (i32, u32, f32), which keeps WGSL's uniform layout rules trivial.
 */
export class Uniforms {
  private vals: { t: 'i' | 'u' | 'f'; v: number }[] = [];
  i32(...v: number[]): this {
    for (const x of v) this.vals.push({ t: 'i', v: x });
    return this;
  }
  u32(...v: number[]): this {
    for (const x of v) this.vals.push({ t: 'u', v: x });
    return this;
  }
  f32(...v: number[]): this {
    for (const x of v) this.vals.push({ t: 'f', v: x });
    return this;
  }
  buffer(): ArrayBuffer {
    // Uniform structs are padded to 16 bytes.
    const buf = new ArrayBuffer(Math.max(16, Math.ceil((this.vals.length * 4) / 16) * 16));
    const dv = new DataView(buf);
    this.vals.forEach(({ t, v }, k) => {
      if (t === 'f') dv.setFloat32(4 * k, v, true);
      else if (t === 'i') dv.setInt32(4 * k, v, true);
      else dv.setUint32(4 * k, v, true);
    });
    return buf;
  }
}

/** The WGSL struct declaration matching a Uniforms built with the same names in order. */
export function uniformStruct(fields: [name: string, type: 'i32' | 'u32' | 'f32'][]): string {
  return `struct U {\n${fields.map(([n, t]) => `  ${n}: ${t},`).join('\n')}\n}\n@group(0) @binding(0) var<uniform> u: U;\n`;
}

/** Standard storage declarations: inputs at bindings 1..n read-only, outputs read-write after. */
export function storageDecls(inputs: [string, string][], outputs: [string, string][]): string {
  let s = '';
  let b = 1;
  for (const [n, t] of inputs) s += `@group(0) @binding(${b++}) var<storage, read> ${n}: array<${t}>;\n`;
  for (const [n, t] of outputs) s += `@group(0) @binding(${b++}) var<storage, read_write> ${n}: array<${t}>;\n`;
  return s;
}

/**
 * Splits `count` workgroups over x and y so neither exceeds the per-dimension limit; a shader
 * recovers the linear index as `wg.y * nwg.x + wg.x` (and must bounds-check it).
 */
export function grid1d(count: number, rt: Runtime): [number, number] {
  const max = rt.limits.maxComputeWorkgroupsPerDimension;
  if (count <= max) return [Math.max(1, count), 1];
  const y = Math.ceil(count / max);
  return [Math.ceil(count / y), y];
}

export const shapeStr = (name: string, shape: readonly number[]) => `${name}:(${shape.join(',')})`;

export interface LaunchSpec {
  program: ProgramSource;
  inputs: Tensor[];
  outShape: readonly number[];
  uniforms: Uniforms;
  workgroups: [number, number?, number?];
  /** Shapes for error messages; defaults to the inputs' and output's shapes. */
  shapes?: string;
  cost?: number;
}

/** Allocates the output, dispatches, and returns the output tensor. */
export function launch(spec: LaunchSpec): Tensor {
  const rt = spec.inputs[0]?.runtime;
  if (!rt) throw new Error(`kernel '${spec.program.name}' needs at least one input tensor`);
  for (const t of spec.inputs) {
    if (t.runtime !== rt) throw new ShapeError(`kernel '${spec.program.name}': inputs live on different devices`);
  }
  const out = empty(spec.outShape, rt, spec.program.name);
  const shapes =
    spec.shapes ?? [...spec.inputs.map((t, i) => shapeStr(`in${i}`, t.shape)), shapeStr('out', spec.outShape)].join(' ');
  try {
    rt.dispatch({
      program: spec.program,
      inputs: spec.inputs.map((t) => ({ buffer: t.buffer })),
      outputs: [{ buffer: out.buffer }],
      uniforms: spec.uniforms.buffer(),
      workgroups: spec.workgroups,
      shapes,
      cost: spec.cost ?? spec.inputs.reduce((a, t) => a + t.byteLength, out.byteLength),
    });
  } catch (e) {
    out.dispose();
    throw e;
  }
  return out;
}

/** Activations that can be fused into a kernel's epilogue or run on their own. */
export type Activation = 'linear' | 'relu' | 'relu6' | 'sigmoid' | 'tanh';
export const ACTIVATIONS: readonly Activation[] = ['linear', 'relu', 'relu6', 'sigmoid', 'tanh'];

/**
 * WGSL for `fn act(x: f32) -> f32` and `fn act4(x: vec4<f32>) -> vec4<f32>`. tanh is written
 * through exp to stay finite for large |x| on every backend (WGSL's tanh may overflow).
 */
export function activationWgsl(a: Activation): string {
  const body: Record<Activation, [string, string]> = {
    linear: ['x', 'x'],
    relu: ['max(x, 0.0)', 'max(x, vec4<f32>(0.0))'],
    relu6: ['clamp(x, 0.0, 6.0)', 'clamp(x, vec4<f32>(0.0), vec4<f32>(6.0))'],
    sigmoid: ['1.0 / (1.0 + exp(-x))', '1.0 / (1.0 + exp(-x))'],
    tanh: [
      'sign(x) * (1.0 - 2.0 / (exp(2.0 * min(abs(x), 40.0)) + 1.0))',
      'sign(x) * (1.0 - 2.0 / (exp(2.0 * min(abs(x), vec4<f32>(40.0))) + 1.0))',
    ],
  };
  const [s, v] = body[a];
  if (!s) throw new ShapeError(`unknown activation '${a}'; use one of ${ACTIVATIONS.join(', ')}`);
  return `fn act(x: f32) -> f32 { return ${s}; }\nfn act4(x: vec4<f32>) -> vec4<f32> { return ${v}; }\n`;
}

export function checkActivation(a: string): Activation {
  if (!(ACTIVATIONS as readonly string[]).includes(a)) {
    throw new ShapeError(`unknown activation '${a}'; use one of ${ACTIVATIONS.join(', ')}`);
  }
  return a as Activation;
}
