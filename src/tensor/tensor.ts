// GPU-resident float32 tensors in NHWC: the currency every kernel, layer and CAM method trades
// in. Host data only appears when the caller asks for it (read()), as an ndarray view.
import ndarray, { type NdArray } from 'ndarray';
import { ShapeError } from '../gpu/errors.ts';
import type { Runtime } from '../gpu/runtime.ts';
import { runtime } from './runtime-global.ts';

/** A GPU buffer shared by a tensor and its reshaped views; freed when the last view is. */
class Storage {
  refs = 1;
  constructor(
    readonly rt: Runtime,
    readonly buffer: GPUBuffer,
  ) {}
}

const scopes: Set<Tensor>[] = [];

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;
  private storage: Storage | null;

  /** Prefer upload(), zeros() or a kernel; this wraps an existing storage. */
  constructor(shape: readonly number[], storage: Storage) {
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this.storage = storage;
    scopes[scopes.length - 1]?.add(this);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return this.storage === null;
  }

  /** The underlying buffer (for kernels); throws if the tensor was disposed. */
  get buffer(): GPUBuffer {
    return this.live().buffer;
  }

  get runtime(): Runtime {
    return this.live().rt;
  }

  /** Bytes of data (size × 4); the buffer itself may be larger (pool size classes). */
  get byteLength(): number {
    return this.size * 4;
  }

  /** The same data under another shape (no copy); -1 stands for the inferred dimension. */
  reshape(shape: readonly number[]): Tensor {
    const s = this.live();
    const resolved = resolveShape(shape, this.size, this.shape);
    s.refs++;
    return new Tensor(resolved, s);
  }

  /** Copies the data to the host, after all work dispatched so far. */
  async data(): Promise<Float32Array> {
    const s = this.live();
    if (this.size === 0) return new Float32Array(0);
    return new Float32Array(await s.rt.read(s.buffer, this.byteLength));
  }

  /**
   * The data as an ndarray view with this tensor's shape.
   * @example
   *   const y = await t.read(); y.get(0, 2, 3, 1);
   */
  async read(): Promise<NdArray<Float32Array>> {
    return ndarray(await this.data(), [...this.shape]);
  }

  /** Frees the GPU memory (returned to the pool). Disposing twice is harmless. */
  dispose(): void {
    const s = this.storage;
    if (!s) return;
    this.storage = null;
    for (const sc of scopes) sc.delete(this);
    if (--s.refs === 0) s.rt.release(s.buffer);
  }

  toString(): string {
    return `Tensor(${this.shape.join('×')})`;
  }

  private live(): Storage {
    if (!this.storage) throw new Error(`${this.toString()} was used after dispose()`);
    return this.storage;
  }
}

export function shapeSize(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new ShapeError(`invalid shape [${shape.join(', ')}]: dimensions must be non-negative integers`);
    n *= d;
  }
  return n;
}

function resolveShape(shape: readonly number[], size: number, from: readonly number[]): number[] {
  const out = [...shape];
  const free = out.indexOf(-1);
  if (free >= 0) {
    const rest = shapeSize(out.filter((_, i) => i !== free));
    out[free] = rest === 0 ? 0 : size / rest;
  }
  if (shapeSize(out) !== size) {
    throw new ShapeError(`cannot reshape [${from.join(', ')}] (${size} values) to [${shape.join(', ')}]`);
  }
  return out;
}

/**
 * An uninitialised tensor from the pool; kernels write their outputs into these. `exact` sizes
 * the buffer to the data instead of the pool's size class (for weights, kept for a model's life).
 */
export function empty(shape: readonly number[], rt: Runtime = runtime(), label = '', exact = false): Tensor {
  const bytes = Math.max(4, shapeSize(shape) * 4);
  return new Tensor(shape, new Storage(rt, rt.createStorage(bytes, label || `tensor ${shape.join('x')}`, exact)));
}

/**
 * Uploads host data as a GPU tensor. `data` is row-major in the given shape (NHWC for images).
 * `{ exact: true }` sizes the buffer to the data (weights: see empty()).
 * @example
 *   const x = upload(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]);
 */
export function upload(
  data: ArrayLike<number>, shape: readonly number[], rt: Runtime = runtime(), opts: { exact?: boolean } = {},
): Tensor {
  const n = shapeSize(shape);
  if (data.length !== n) {
    throw new ShapeError(`upload: ${data.length} values given for shape [${shape.join(', ')}], which holds ${n}`);
  }
  const t = empty(shape, rt, '', opts.exact);
  const f = data instanceof Float32Array ? data : Float32Array.from(data);
  if (n) rt.upload(t.buffer, f);
  return t;
}

/** Tensor of zeros. */
export function zeros(shape: readonly number[], rt: Runtime = runtime()): Tensor {
  return fill(shape, 0, rt);
}

/** Tensor with every element set to `value`. */
export function fill(shape: readonly number[], value: number, rt: Runtime = runtime()): Tensor {
  return upload(new Float32Array(shapeSize(shape)).fill(value), shape, rt);
}

/** Walks a scope's return value for tensors to keep (arrays, plain objects, Maps). */
function collect(v: unknown, into: Set<Tensor>): void {
  if (v instanceof Tensor) into.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, into);
  else if (v instanceof Map) for (const x of v.values()) collect(x, into);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    for (const x of Object.values(v)) collect(x, into);
  }
}

function closeScope(mine: Set<Tensor>, result: unknown): void {
  const keepers = new Set<Tensor>();
  collect(result, keepers);
  for (const t of mine) if (!keepers.has(t)) t.dispose();
  // What the scope returns now belongs to the enclosing scope (if any).
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of keepers) if (!t.disposed) parent.add(t);
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (found in
 * arrays, plain objects and Maps) and those passed to keep().
 * @example
 *   const y = scope(() => relu(add(a, b)));   // the add's output is freed, y survives
 */
export function scope<T>(fn: () => T): T {
  const mine = new Set<Tensor>();
  scopes.push(mine);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    closeScope(mine, undefined);
    throw e;
  }
  scopes.pop();
  closeScope(mine, result);
  return result;
}

/**
 * scope() for async work. Tensors created by other code interleaved at the awaits would be
 * counted as this scope's, so do not run two of these concurrently.
 */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const mine = new Set<Tensor>();
  scopes.push(mine);
  const pop = () => {
    const i = scopes.lastIndexOf(mine);
    if (i >= 0) scopes.splice(i, 1);
  };
  let result: T;
  try {
    result = await fn();
  } catch (e) {
    pop();
    closeScope(mine, undefined);
    throw e;
  }
  pop();
  closeScope(mine, result);
  return result;
}

/** Takes a tensor out of every open scope so that it outlives them; the caller disposes it. */
export function keep<T extends Tensor>(t: T): T {
  for (const sc of scopes) sc.delete(t);
  return t;
}
