// Node adapter: Dawn's bindings from the `webgpu` package. The only file in src/gpu that is
// Node-specific; the Node platform entry (src/platform/node.ts) imports it on the first init().
import { closeSync, fstatSync, openSync } from 'node:fs';
import { create, globals } from 'webgpu';

let instance: GPU | undefined;

/** Dawn's GPU object, created once; installs GPUBufferUsage & co. as globals like a browser. */
export function nodeGpu(): GPU {
  if (instance) return instance;
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;
  // Dawn's Vulkan loader warns and may fail to find ICDs without a runtime dir.
  env.XDG_RUNTIME_DIR ??= '/tmp';
  Object.assign(globalThis, globals);
  const gpu = create([]);
  // Dawn's default logger writes two "artificially reduced" limit warnings to stderr while it
  // gathers an adapter's limits (lavapipe and others report huge dynamic-buffer counts); they
  // are not camlight's output, so they are hidden unless CAMLIGHT_DEBUG=1.
  if (env.CAMLIGHT_DEBUG !== '1') {
    const request = gpu.requestAdapter.bind(gpu);
    Object.defineProperty(gpu, 'requestAdapter', { value: (o?: GPURequestAdapterOptions) => withoutNativeStderr(() => request(o)) });
  }
  instance = gpu;
  return instance;
}

/**
 * Runs `fn` with file descriptor 2 pointed at /dev/null, for native code that logs straight to
 * it, and restores it after (POSIX hands out the lowest free descriptor, so closing 2 and
 * opening reuses 2). Where fd 2 cannot be reopened through /dev/fd (missing, or a socket, as
 * Node's spawn pipes are) it just runs `fn` and the warnings show.
 */
async function withoutNativeStderr<T>(fn: () => Promise<T>): Promise<T> {
  let saved: number;
  try {
    // With 0 and 1 open, the descriptor freed by closing 2 is the lowest free one.
    fstatSync(0);
    fstatSync(1);
    saved = openSync('/dev/fd/2', 'a');
  } catch {
    return fn();
  }
  let nul = -1;
  try {
    closeSync(2);
    nul = openSync('/dev/null', 'a');
    return await fn();
  } finally {
    if (nul >= 0) closeSync(nul);
    openSync(`/dev/fd/${saved}`, 'a');
    closeSync(saved);
  }
}
