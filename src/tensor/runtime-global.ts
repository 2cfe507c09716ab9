// The default runtime that tensors and kernels use when none is passed: created once by
// init() (or lazily by ready()), so a user writes `await init()` and then speaks in tensors.
import { Runtime, type RuntimeOptions } from '../gpu/runtime.ts';

let current: Runtime | null = null;
let pending: Promise<Runtime> | null = null;

/**
 * Acquires the GPU once and makes it the default for every tensor and kernel.
 * @example
 *   const rt = await init();
 *   console.log(rt.adapterName);
 */
export async function init(opts: RuntimeOptions = {}): Promise<Runtime> {
  if (current) return current;
  pending ??= Runtime.create(opts).then((r) => (current = r));
  return pending;
}

/** The default runtime; throws with what to do if init() has not finished. */
export function runtime(): Runtime {
  if (!current) throw new Error('camlight is not initialised: `await init()` before creating tensors.');
  return current;
}

/** Makes an existing runtime the default (tests, or a caller that owns its device). */
export function setRuntime(r: Runtime | null): void {
  current = r;
  pending = r ? Promise.resolve(r) : null;
}
