// The Node platform entry: Dawn's WebGPU from the `webgpu` package, folders on disk, the font
// from the dejavu-fonts-ttf package and h5wasm. Importing this module installs them; the
// package's `node` export condition does so before any camlight subpath runs.
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { NoAdapterError } from '../gpu/errors.ts';
import { nodeFiles, nodeModelFiles } from '../io/node-files.ts';
import { DEFAULT_FONT_MODULE } from '../report/font-module.ts';
import { setPlatform, useH5wasm } from './hooks.ts';
import { useGemmTuning } from '../kernels/gemm-tiles.ts';
import { nodeGemmTuning } from './node-tuning.ts';

export { nodeFiles } from '../io/node-files.ts';

const NODE_HINT =
  'No WebGPU adapter was found. On Debian/Ubuntu without a GPU install Mesa\'s software Vulkan ' +
  'driver (lavapipe), version 25 or newer: on Debian bookworm run\n' +
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list\n" +
  '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers\n' +
  '(from a clone of camlight, `npm run setup` does this). A machine with a GPU needs its vendor\'s Vulkan driver. ' +
  'The `webgpu` package (Dawn) is an optional dependency: if npm skipped it, run `npm install webgpu`.';

setPlatform({
  name: 'node',
  // Dawn (132 MB of binaries) is an optional dependency, loaded only when a GPU is asked for.
  gpu: async () => {
    let adapter: typeof import('../gpu/node-adapter.ts');
    try {
      adapter = await import('../gpu/node-adapter.ts');
    } catch (e) {
      throw new NoAdapterError(`could not load Dawn's WebGPU bindings (the \`webgpu\` package): ${(e as Error).message}. Run \`npm install webgpu\`.`);
    }
    return adapter.nodeGpu();
  },
  folder: (dir) => nodeFiles(dir),
  modelFile: nodeModelFiles,
  // libhdf5 can loop on a damaged .h5: parse in a worker thread with a deadline (CAMLIGHT_H5_TIMEOUT_MS).
  readH5: async (bytes, where) => (await import('./node-h5.ts')).readH5InWorker(bytes, where),
  fontBytes: async () => {
    const buf = await readFile(createRequire(import.meta.url).resolve(DEFAULT_FONT_MODULE));
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  },
  noAdapterHint: NODE_HINT,
});
useH5wasm(() => import('h5wasm'));
useGemmTuning(nodeGemmTuning); // choices `camlight tune` cached for this adapter, if any
