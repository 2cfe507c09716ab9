// The one place that finds a WebGPU adapter and asks it for a device with its real limits,
// in browsers and Deno (navigator.gpu) and in Node (Dawn through the `webgpu` package).
import { platform } from '../platform/hooks.ts';
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

async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  // Node has no navigator.gpu: its platform entry (src/platform/node.ts) supplies Dawn.
  const fromPlatform = platform().gpu;
  if (fromPlatform) return fromPlatform();
  // Only for the message: Node running camlight's sources without its platform entry.
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown };
  const bareNode = platform().name === 'web' && typeof g.process?.versions?.node === 'string' && !g.Deno;
  throw new NoAdapterError(
    'navigator.gpu is missing: this runtime has no WebGPU. ' +
      (bareNode
        ? "In Node, import camlight by its package name (the `node` export condition installs Dawn), or import 'camlight/node' " +
          '(src/platform/node.ts in a checkout) before the first init().'
        : platform().noAdapterHint),
  );
}

/** Finds an adapter and requests a device with the adapter's full limits for compute work. */
export async function requestAdapterDevice(opts: AcquireOptions = {}): Promise<AdapterHandle> {
  const gpu = opts.gpu ?? (await findGpu());
  const adapter = await gpu.requestAdapter({ powerPreference: opts.powerPreference ?? 'high-performance' });
  if (!adapter) throw new NoAdapterError(platform().noAdapterHint);
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
  // Dawn in Node fills description ('llvmpipe (LLVM 19.1.7, 256 bits)'); browsers often leave it
  // and device empty and give vendor + architecture ('google swiftshader').
  const name = [info.description, info.device, [info.vendor, info.architecture].filter(Boolean).join(' ')].find((s) => s && s.length) ?? 'unknown adapter';
  return { gpu, adapter, device, name };
}
