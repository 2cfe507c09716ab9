// The seam between camlight's web-standard core and the platform it runs on. The core asks
// these hooks for a GPU, a folder of files, the default font, h5wasm and environment flags;
// platform entry points (node.ts, deno.ts, chosen by package.json export conditions) fill them
// in, so no bundler ever follows an import of `webgpu` or `node:*` from the browser entry.
import type { FileSource } from '../io/files.ts';

/** Which kind of runtime the hooks describe; 'web' covers browsers and web workers. */
export type PlatformName = 'web' | 'node' | 'deno';

/** What a platform supplies to the core; anything left out falls back to web-standard APIs. */
export interface PlatformHooks {
  name: PlatformName;
  /** A WebGPU entry point when the runtime has no `navigator.gpu` (Node: Dawn). */
  gpu?: () => Promise<GPU>;
  /** A FileSource over a folder path on a local disk (paths handed to loaders and savers). */
  folder?: (dir: string) => FileSource;
  /**
   * The folder a model file names its other files in (shards, labels), confined to it: reads
   * through `..`, absolute paths or symlinks out of it are refused. Falls back to `folder`.
   */
  modelFile?: (filePath: string) => Promise<{ source: FileSource; path: string }>;
  /**
   * Parses a Keras .h5 file away from the caller's thread, with a deadline (Node: a worker thread,
   * src/platform/node-h5.ts), resolving to what readH5 returns (H5Contents in src/nn/loaders/h5.ts).
   * Without it the file is parsed in the caller's thread.
   */
  readH5?: (bytes: Uint8Array, where: string) => Promise<unknown>;
  /** The bytes of the default text font (DejaVu Sans), when the platform can find them. */
  fontBytes?: () => Promise<Uint8Array>;
  /** What to tell a user whose runtime has no WebGPU adapter. */
  noAdapterHint: string;
}

const WEB_HINT =
  'This browser exposes no WebGPU adapter. WebGPU is on by default in Chrome and Edge 113+ ' +
  '(Windows, macOS, ChromeOS, Android), Safari 26+ and Firefox 141+ on Windows; on Linux start ' +
  'Chrome with --enable-unsafe-webgpu --enable-features=Vulkan (or set chrome://flags/#enable-unsafe-webgpu), ' +
  'and check chrome://gpu. The page must be served over https:// or from localhost.';

let hooks: PlatformHooks = { name: 'web', noAdapterHint: WEB_HINT };

/** The hooks in force: the web defaults until a platform entry point installs its own. */
export function platform(): PlatformHooks {
  return hooks;
}

/**
 * Installs a platform's hooks (the Node and Deno entry points call this when imported).
 * @example
 *   setPlatform({ name: 'node', gpu: async () => nodeGpu(), folder: nodeFiles, noAdapterHint: '…' });
 */
export function setPlatform(next: PlatformHooks): void {
  hooks = next;
}

type H5Loader = () => Promise<unknown>;
let h5Loader: H5Loader | null = null;

/**
 * Tells camlight how to load h5wasm (HDF5 in WebAssembly, ~5.7 MB), which it needs only when a
 * Keras .h5 file is opened. Node and Deno do this themselves; in a bundled page, pass a dynamic
 * import so the bundler puts h5wasm in a chunk of its own that loads on the first .h5.
 * @example
 *   useH5wasm(() => import('h5wasm'));
 */
export function useH5wasm(load: () => Promise<unknown>): void {
  h5Loader = load;
}

/** The h5wasm module (its default export), loaded once through the registered loader. */
export async function loadH5wasm(): Promise<unknown> {
  if (!h5Loader) {
    throw new Error(
      'reading a Keras .h5 file needs h5wasm, and none was registered: call ' +
        "useH5wasm(() => import('h5wasm')) once at start-up (a bundler then loads h5wasm only when an .h5 is opened), " +
        'or convert the model to the TensorFlow.js layers format (model.json + shards).',
    );
  }
  const m = (await h5Loader()) as { default?: unknown };
  return m && typeof m === 'object' && 'default' in m && m.default ? m.default : m;
}

/**
 * An environment variable, or undefined where the runtime has none or may not read it (a
 * browser; Deno without --allow-env, asked without prompting). The one place camlight reads
 * flags such as CAMLIGHT_DEBUG.
 * @example
 *   const debug = readEnv('CAMLIGHT_DEBUG') === '1';
 */
export function readEnv(name: string): string | undefined {
  const g = globalThis as {
    Deno?: { env: { get(k: string): string | undefined }; permissions?: { querySync?(d: { name: 'env'; variable: string }): { state: string } } };
    process?: { env?: Record<string, string | undefined> };
  };
  try {
    if (g.Deno) {
      const state = g.Deno.permissions?.querySync?.({ name: 'env', variable: name }).state;
      return state === 'granted' ? g.Deno.env.get(name) : undefined;
    }
    return g.process?.env?.[name];
  } catch {
    return undefined;
  }
}
