// The GPU layer: device acquisition, buffer pool, pipeline cache, batching and read-back.
export { Runtime, type Binding, type DispatchSpec, type RuntimeOptions } from './runtime.ts';
export { BufferPool, sizeClass, type PoolStats } from './pool.ts';
export { PipelineCache, type ProgramSource } from './pipelines.ts';
export { requestAdapterDevice, type AdapterHandle, type AcquireOptions } from './device.ts';
export { NoAdapterError, GpuKernelError, DeviceLostError, ShapeError } from './errors.ts';
