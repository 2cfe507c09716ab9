// camlight: class activation maps and classifier training on hand-written WGSL kernels.
// The root export gathers the everyday API; subpaths (camlight/nn, camlight/kernels,
// camlight/gpu) hold the layers underneath.
export * from './nn/index.ts';
export * as kernels from './kernels/index.ts';
export { Runtime, NoAdapterError, GpuKernelError, DeviceLostError, ShapeError, type PoolStats } from './gpu/index.ts';
