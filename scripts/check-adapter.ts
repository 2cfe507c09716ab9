// Asks Dawn for a WebGPU adapter and device the way camlight does, and says which it got:
// setup.sh runs this to decide whether lavapipe must be installed. Exit 0: found; 3: none.
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { requestAdapterDevice } from '../src/gpu/device.ts';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
try {
  const h = await requestAdapterDevice();
  console.log(`WebGPU adapter: ${h.name}`);
  h.device.destroy();
  process.exit(0);
} catch (e) {
  console.error(`no WebGPU adapter: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(3);
}
