// Errors a user can act on: every GPU failure names the kernel and the shapes it was given,
// instead of a bare Dawn message from deep inside a dispatch.

/** Raised when no WebGPU adapter can be had; the message says what to install. */
export class NoAdapterError extends Error {
  override name = 'NoAdapterError';
}

/** A validation, out-of-memory or internal error reported by the device, tied to a kernel. */
export class GpuKernelError extends Error {
  override name = 'GpuKernelError';
  constructor(
    readonly kernel: string,
    readonly shapes: string,
    readonly gpuMessage: string,
  ) {
    super(`GPU error in kernel '${kernel}' (${shapes}): ${gpuMessage}`);
  }
}

/** The device was lost (driver reset, out of memory, destroyed); nothing on it survives. */
export class DeviceLostError extends Error {
  override name = 'DeviceLostError';
  constructor(readonly reason: string, readonly lastKernel: string) {
    super(
      `WebGPU device lost (${reason}) after kernel ${lastKernel || '(none)'}; ` +
        'create a new runtime (init() in a fresh process, or Runtime.create()) and re-upload tensors.',
    );
  }
}

/** A caller passed tensors or options a kernel cannot take. */
export class ShapeError extends Error {
  override name = 'ShapeError';
}
