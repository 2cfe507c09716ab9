// Node adapter: Dawn's bindings from the `webgpu` package. The only file in src/gpu that is
// Node-specific; the Node platform entry (src/platform/node.ts) imports it on the first init().
import { create, globals } from 'webgpu';

let instance: GPU | undefined;

/** Dawn's GPU object, created once; installs GPUBufferUsage & co. as globals like a browser. */
export function nodeGpu(): GPU {
  if (instance) return instance;
  const env = (globalThis as unknown as { process: { env: Record<string, string | undefined> } }).process.env;
  // Dawn's Vulkan loader warns and may fail to find ICDs without a runtime dir.
  env.XDG_RUNTIME_DIR ??= '/tmp';
  Object.assign(globalThis, globals);
  instance = create([]);
  return instance;
}
