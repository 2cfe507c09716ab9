// camlight/gpu: the runtime that owns one WebGPU device (buffers, pipelines, batching, read-back),
// adapter acquisition and the errors a GPU failure raises. The pool and cache stay internal.
export { Runtime, adapterClassOf, type AdapterClass, type Binding, type DispatchSpec, type RuntimeOptions } from './runtime.ts';
export type { PoolStats } from './pool.ts';
export type { ProgramSource } from './pipelines.ts';
export type { Profile, ProfileEntry } from './profiler.ts';
export { requestAdapterDevice, type AdapterHandle, type AcquireOptions } from './device.ts';
export { NoAdapterError, GpuKernelError, DeviceLostError, ShapeError } from './errors.ts';
