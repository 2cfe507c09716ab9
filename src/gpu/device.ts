// The one place that finds a WebGPU adapter and asks it for a device with its real limits,
// in browsers and Deno (navigator.gpu) and in Node (Dawn through the `webgpu` package).
import { NoAdapterError } from './errors.ts';

export interface AcquireOptions {
  powerPreference?: GPUPowerPreference;
  /** A GPU object to use instead of discovering one (e.g. from another WebGPU binding). */
  gpu?: GPU;
}

export interface AdapterHandle {
  gpu: GPU;
  adapter: GPUAdapter;
  device: GPUDevice;
  /** Human-readable adapter name, e.g. 'llvmpipe (LLVM 19.1.7, 256 bits)'. */
  name: string;
}

/** The limits camlight needs raised above the WebGPU defaults when the adapter allows it. */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
] as const;

const INSTALL_HINT =
  'No WebGPU adapter was found. On Debian/Ubuntu without a GPU install Mesa\'s software Vulkan ' +
  "driver (lavapipe), version 25 or newer: on Debian bookworm run\n" +
  "  echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list\n" +
  '  apt-get update && apt-get install -y -t bookworm-backports mesa-vulkan-drivers\n' +
  '(or run `npm run setup`, which does this). In a browser, use one with WebGPU enabled.';

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) throw new NoAdapterError('navigator.gpu is missing: this runtime has no WebGPU. ' + INSTALL_HINT);
  // Imported lazily so that browser bundles never pull in the Node binding.
  const { nodeGpu } = await import('./node-adapter.ts');
  return nodeGpu();
}

/** Finds an adapter and requests a device with the adapter's full limits for compute work. */
export async function requestAdapterDevice(opts: AcquireOptions = {}): Promise<AdapterHandle> {
  const gpu = opts.gpu ?? (await findGpu());
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError(INSTALL_HINT);
  const requiredLimits: Record<string, number> = {};
  for (const k of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number>)[k];
    if (typeof v === 'number') requiredLimits[k] = v;
  }
  const requiredFeatures: GPUFeatureName[] = [];
  for (const f of ['subgroups', 'timestamp-query'] as GPUFeatureName[]) {
    if (adapter.features.has(f)) requiredFeatures.push(f);
  }
  const device = await adapter.requestDevice({ requiredLimits, requiredFeatures, label: 'camlight' });
  const info = adapter.info ?? ({} as GPUAdapterInfo);
  const name = [info.description, info.device, info.vendor, info.architecture].find((s) => s && s.length) ?? 'unknown adapter';
  return { gpu, adapter, device, name };
}
