// What every kernel launcher shares: packing per-call values into a uniform struct, sizing
// the workgroup grid, creating the output tensor and dispatching with shapes for errors.
import type { ProgramSource } from '../gpu/pipelines.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { ShapeError } from '../gpu/errors.ts';
import { empty, Tensor } from '../tensor/tensor.ts';

/** The scalar types a uniform field may have (4 bytes each, so WGSL's uniform layout stays trivial). */
export type UniformType = 'i32' | 'u32' | 'f32';

/**
 * A kernel's uniform struct declared once, by name: `wgsl` is the struct and its binding (group 0,
 * binding 0, variable `u`), `pack` writes the values in the same order. Declaring
 *
 *     const U = uniformDecl({ total: 'u32', H: 'u32', alpha: 'f32' });
 *
 * gives `U.wgsl` for the shader and `U.pack({ total, H, alpha })` for the launch; a missing or
 * non-finite value throws with the kernel and field named, an extra one is a type error.
 * `opts.nonFinite` names the f32 fields where ±Infinity or NaN is a meaningful user value (a pad
 * constant of -Infinity, an open clamp bound); there only a missing value throws.
 */
export interface UniformDecl<F extends Record<string, UniformType>> {
  readonly fields: F;
  readonly wgsl: string;
  pack(values: { readonly [K in keyof F]: number }): ArrayBuffer;
}

export function uniformDecl<const F extends Record<string, UniformType>>(
  fields: F, kernel = 'kernel', opts: { nonFinite?: readonly (keyof F & string)[] } = {},
): UniformDecl<F> {
  const entries = Object.entries(fields) as [string, UniformType][];
  const anyFloat = new Set<string>(opts.nonFinite ?? []);
  for (const n of anyFloat) {
    if (fields[n] !== 'f32') throw new Error(`${kernel}: uniform '${n}' is listed as nonFinite but is not an f32 field`);
  }
  const wgsl = uniformStruct(entries);
  return {
    fields,
    wgsl,
    pack(values) {
      // Uniform structs are padded to 16 bytes.
      const buf = new ArrayBuffer(Math.max(16, Math.ceil((entries.length * 4) / 16) * 16));
      const dv = new DataView(buf);
      entries.forEach(([name, t], k) => {
        const v = (values as Record<string, number>)[name];
        if (typeof v !== 'number' || (!Number.isFinite(v) && !anyFloat.has(name))) {
          throw new ShapeError(`${kernel}: uniform '${name}' is ${String(v)}; every field of the struct needs a finite number`);
        }
        if (t === 'f32') dv.setFloat32(4 * k, v, true);
        else if (t === 'i32') dv.setInt32(4 * k, v, true);
        else dv.setUint32(4 * k, v, true);
      });
      return buf;
    },
  };
}

/**
 * Numbered fields `${prefix}0..${prefix}{n-1}` for a uniformDecl, for per-axis or per-input
 * values: `{ ...indexedFields('d', 6) }` declares d0..d5, `indexedValues('d', dims)` packs them.
 */
export function indexedFields<T extends UniformType>(prefix: string, n: number, type: T = 'u32' as T): Record<string, T> {
  return Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}${i}`, type]));
}

export function indexedValues(prefix: string, values: readonly number[]): Record<string, number> {
  return Object.fromEntries(values.map((v, i) => [`${prefix}${i}`, v]));
}

/** Values a program's specification may hold: whatever the WGSL generator reads to write the text. */
export type SpecValue = string | number | boolean | null | undefined | readonly SpecValue[] | { readonly [k: string]: SpecValue };

/** A stable text for a specification: object keys sorted, so equal specifications give equal keys. */
export function specKey(spec: SpecValue): string {
  if (Array.isArray(spec)) return `[${spec.map(specKey).join(',')}]`;
  if (spec !== null && typeof spec === 'object') {
    const o = spec as { readonly [k: string]: SpecValue };
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${k}:${specKey(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(spec) ?? 'undefined';
}

/**
 * A kernel variant whose pipeline-cache key is derived from the whole specification its generator
 * reads: the generator receives only `spec`, so no choice baked into the text can be left out of
 * the key (a hand-written key that forgot one would silently reuse a stale pipeline).
 */
export function defineProgram<S extends { readonly [k: string]: SpecValue }>(
  name: string,
  spec: S,
  make: (spec: S) => { inputs: number; outputs: number; code: () => string },
): ProgramSource {
  const frozen = Object.freeze({ ...spec }) as S;
  const { inputs, outputs, code } = make(frozen);
  return { name, key: specKey(frozen), inputs, outputs, code };
}

/** The WGSL struct for uniformDecl's fields, in order, bound at group 0, binding 0 as `u`. */
function uniformStruct(fields: [name: string, type: 'i32' | 'u32' | 'f32'][]): string {
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
  /** Packed values: UniformDecl.pack. */
  uniforms: ArrayBuffer;
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
      uniforms: spec.uniforms,
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
