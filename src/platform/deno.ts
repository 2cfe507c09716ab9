// The Deno platform entry: Deno's own navigator.gpu, folders read with Deno.readFile and
// h5wasm from npm. The package's `deno` export condition imports it before any subpath runs;
// it asks for no permission beyond reading the files a user opens.
import { denoFiles } from '../io/deno-files.ts';
import { setPlatform, useH5wasm } from './hooks.ts';

export { denoFiles } from '../io/deno-files.ts';

setPlatform({
  name: 'deno',
  folder: (dir) => denoFiles(dir),
  noAdapterHint:
    'Deno found no WebGPU adapter (navigator.gpu.requestAdapter() returned null). Deno 2 ships WebGPU on ' +
    "Vulkan, Metal or DX12: on Linux without a GPU install Mesa's lavapipe (mesa-vulkan-drivers 25 or newer).",
});
useH5wasm(() => import('h5wasm'));
