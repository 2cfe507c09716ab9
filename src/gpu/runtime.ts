// The runtime owns one device and everything tied to it: the buffer pool, the pipeline cache,
// the command batch and the read-back path. Kernels only describe programs and call dispatch();
// nothing above src/gpu touches usage flags, mapAsync or pipeline creation.
import { readEnv } from '../platform/hooks.ts';
import { requestAdapterDevice, type AcquireOptions } from './device.ts';
import { DeviceLostError, GpuKernelError, ShapeError } from './errors.ts';
import { BufferPool, type PoolStats } from './pool.ts';
import { PipelineCache, type ProgramSource } from './pipelines.ts';
import { Profiler, type Profile } from './profiler.ts';
import { napAvailable, Waiter, type WaitMode } from './wait.ts';

/** A storage binding: a whole buffer, or a byte range of one (for weights split across bindings). */
export interface Binding {
  buffer: GPUBuffer;
  offset?: number;
  size?: number;
}

export interface DispatchSpec {
  program: ProgramSource;
  inputs: Binding[];
  outputs: Binding[];
  /** Per-call values (shapes, strides, scalars) as a WGSL uniform struct; at most 256 bytes. */
  uniforms: ArrayBuffer;
  /** Workgroup counts; must already respect maxComputeWorkgroupsPerDimension. */
  workgroups: [number, number?, number?];
  /** Shapes for error messages, e.g. 'x:(1,56,56,256) w:(3,3,256,256)'. */
  shapes: string;
  /** Floating-point operations (or, for memory-bound kernels, bytes moved); calibrates waits. */
  cost?: number;
}

export interface RuntimeOptions extends AcquireOptions {
  /**
   * Check every dispatch in its own error scope and report the kernel and shapes of the first
   * that fails (slower: one submission per kernel). Defaults to the CAMLIGHT_DEBUG variable.
   */
  debug?: boolean;
  /**
   * Which tile tables the kernels use: 'cpu' for adapters that run shaders on CPU cores
   * (lavapipe, SwiftShader, WARP: wide SIMD lanes, no gain from workgroup memory), 'gpu' for the
   * rest. Detected from the adapter's name; set it to run the other class's kernels (tests do,
   * to check the GPU kernels' results on lavapipe). Defaults to the CAMLIGHT_ADAPTER_CLASS
   * variable ('cpu' or 'gpu') when set.
   */
  adapterClass?: AdapterClass;
}

/** The family of tile tables and kernel variants that suits an adapter (see RuntimeOptions). */
export type AdapterClass = 'cpu' | 'gpu';

/** 'cpu' for adapters that run shaders on CPU cores, from the adapter's name; else 'gpu'. */
export function adapterClassOf(adapterName: string): AdapterClass {
  return /llvmpipe|lavapipe|swiftshader|warp|\bcpu\b/i.test(adapterName) ? 'cpu' : 'gpu';
}

const UNIFORM_SLOT = 256; // minUniformBufferOffsetAlignment is at most 256 on every adapter
const UNIFORM_ARENA = 64 * 1024;
const SLOTS = UNIFORM_ARENA / UNIFORM_SLOT;

export class Runtime {
  readonly pool: BufferPool;
  readonly pipelines: PipelineCache;
  readonly limits: GPUSupportedLimits;
  readonly features: ReadonlySet<string>;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private arenaHost = new ArrayBuffer(UNIFORM_ARENA);
  private arena: GPUBuffer;
  private slots = 0;
  private staging: GPUBuffer[] = [];
  private pendingError: Error | null = null;
  private debugChecks: Promise<void>[] = [];
  private lost: DeviceLostError | null = null;
  private lastKernel = '';
  private lastShapes = '';
  /** Set while read() copies into its staging buffer (the profiler names that copy). */
  private reading = false;
  private waiter = new Waiter();
  /** Per-dispatch timing while startProfile() is in effect; null (one test per dispatch) otherwise. */
  private profiler: Profiler | null = null;
  /** Dispatches encoded since creation; a cheap counter for tests of what a code path launches. */
  dispatchCount = 0;
  /** The kernel family for this adapter (RuntimeOptions.adapterClass); kernels choose tiles by it. */
  readonly adapterClass: AdapterClass;

  private constructor(
    readonly device: GPUDevice,
    readonly adapterName: string,
    readonly debug: boolean,
    private keepAlive: unknown,
    adapterClass?: AdapterClass,
  ) {
    this.adapterClass = adapterClass ?? adapterClassOf(adapterName);
    // The poll shares the CPU adapter's cores; from the adapter's name, whatever tiles are chosen.
    // On such an adapter, waits nap between polls where the host allows it (wait.ts).
    if (adapterClassOf(adapterName) === 'cpu') {
      this.waiter.spinThroughput = 0.75;
      if (napAvailable()) this.waiter.mode = 'nap';
    }
    this.limits = device.limits;
    this.features = device.features as ReadonlySet<string>;
    this.pool = new BufferPool(device, this.limits.maxBufferSize);
    this.pipelines = new PipelineCache(device);
    this.arena = device.createBuffer({
      size: UNIFORM_ARENA,
      usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
      label: 'uniform arena',
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      // The failing command may be any in the current batch; Dawn's message names its pipeline
      // label (kernel|variant). CAMLIGHT_DEBUG=1 pins errors to a single dispatch.
      this.pendingError ??= new GpuKernelError(
        this.lastKernel || 'unknown',
        this.debug ? this.lastShapes : `last dispatched with ${this.lastShapes}; set CAMLIGHT_DEBUG=1 to pin the error to one dispatch`,
        e.message,
      );
    });
    void device.lost.then((info) => {
      this.lost = new DeviceLostError(`${info.reason}: ${info.message}`, this.lastKernel);
    });
  }

  /** Acquires an adapter and device and builds a runtime around them. */
  static async create(opts: RuntimeOptions = {}): Promise<Runtime> {
    const h = await requestAdapterDevice(opts);
    const debug = opts.debug ?? readEnv('CAMLIGHT_DEBUG') === '1';
    const envClass = readEnv('CAMLIGHT_ADAPTER_CLASS');
    if (envClass !== undefined && envClass !== 'cpu' && envClass !== 'gpu') {
      throw new Error(`CAMLIGHT_ADAPTER_CLASS is '${envClass}'; set it to 'cpu' or 'gpu', or unset it to detect the class from the adapter`);
    }
    return new Runtime(h.device, h.name, debug, h.gpu, opts.adapterClass ?? (envClass as AdapterClass | undefined));
  }

  /**
   * A storage buffer from the pool, usable as kernel input, output and copy source/target;
   * `exact` sizes it to the data (see BufferPool.acquire) for long-lived tensors like weights.
   */
  createStorage(bytes: number, label = '', exact = false): GPUBuffer {
    this.throwIfBroken();
    return this.pool.acquire(
      bytes,
      GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      label,
      exact,
    );
  }

  release(buf: GPUBuffer): void {
    this.pool.release(buf);
  }

  /** Writes host data into a buffer, ordered after every kernel already dispatched. */
  upload(buf: GPUBuffer, data: ArrayBufferView, offset = 0): void {
    this.throwIfBroken();
    // A pooled buffer may still be read by a kernel in the open batch; writeBuffer would land
    // before that batch runs, so close the batch first.
    if (this.encoder) this.flush();
    // writeBuffer needs a multiple of 4 bytes; float32 data always is.
    this.device.queue.writeBuffer(buf, offset, data.buffer, data.byteOffset, data.byteLength);
  }

  /** Encodes one kernel launch into the open batch (submitted by flush() or a read). */
  dispatch(spec: DispatchSpec): void {
    this.throwIfBroken();
    const { program, inputs, outputs, uniforms, shapes } = spec;
    if (inputs.length !== program.inputs || outputs.length !== program.outputs) {
      throw new Error(`kernel '${program.name}' takes ${program.inputs} inputs and ${program.outputs} outputs, got ${inputs.length} and ${outputs.length}`);
    }
    if (uniforms.byteLength > UNIFORM_SLOT) throw new Error(`kernel '${program.name}': uniforms exceed ${UNIFORM_SLOT} bytes`);
    const maxBind = this.limits.maxStorageBufferBindingSize;
    for (const b of [...inputs, ...outputs]) {
      const size = b.size ?? b.buffer.size - (b.offset ?? 0);
      if (size > maxBind) {
        throw new ShapeError(
          `kernel '${program.name}' (${shapes}) binds ${size} bytes but this adapter binds at most ` +
            `${maxBind} bytes per storage binding; split the tensor or use a smaller batch.`,
        );
      }
    }
    const [gx, gy = 1, gz = 1] = spec.workgroups;
    const maxWg = this.limits.maxComputeWorkgroupsPerDimension;
    if (gx > maxWg || gy > maxWg || gz > maxWg || gx < 1 || gy < 1 || gz < 1) {
      throw new ShapeError(`kernel '${program.name}' (${shapes}): workgroup grid ${gx}×${gy}×${gz} outside 1..${maxWg}`);
    }
    if (this.slots === SLOTS) this.flush();
    this.lastKernel = program.name;
    this.lastShapes = shapes;
    if (this.debug) this.device.pushErrorScope('validation');
    const compiledBefore = this.pipelines.compiled;
    const pipeline = this.pipelines.get(program);
    if (this.pipelines.compiled !== compiledBefore) this.waiter.compiled();
    const slot = this.slots++;
    new Uint8Array(this.arenaHost, slot * UNIFORM_SLOT, uniforms.byteLength).set(new Uint8Array(uniforms));
    const entries: GPUBindGroupEntry[] = [
      { binding: 0, resource: { buffer: this.arena, offset: slot * UNIFORM_SLOT, size: UNIFORM_SLOT } },
    ];
    [...inputs, ...outputs].forEach((b, i) => {
      entries.push({ binding: i + 1, resource: { buffer: b.buffer, offset: b.offset ?? 0, size: b.size } });
    });
    const bindGroup = this.device.createBindGroup({
      layout: this.pipelines.layout(program.inputs, program.outputs),
      entries,
      label: `${program.name} ${shapes}`,
    });
    this.encoder ??= this.device.createCommandEncoder({ label: 'camlight batch' });
    const prof = this.profiler;
    const entry = prof && { name: program.name, variant: program.key, shapes, cost: spec.cost ?? 0, ms: null };
    if (prof?.mode === 'timestamp') {
      // Its own pass, so that the pass's begin/end timestamps bracket exactly this dispatch.
      this.endPass();
      this.pass = this.encoder.beginComputePass({ timestampWrites: prof.timestampWrites(entry!) });
    }
    this.pass ??= this.encoder.beginComputePass();
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, bindGroup);
    this.pass.dispatchWorkgroups(gx, gy, gz);
    if (prof?.mode === 'timestamp') this.endPass();
    else if (prof) {
      const data = new Uint8Array(this.arenaHost, slot * UNIFORM_SLOT, UNIFORM_SLOT);
      prof.dispatch(entry!, pipeline, bindGroup, [gx, gy, gz], { buffer: this.arena, offset: slot * UNIFORM_SLOT, data });
    }
    this.dispatchCount++;
    this.waiter.addWork(spec.cost ?? 0);
    if (this.debug) {
      this.flush();
      this.debugChecks.push(
        this.device.popErrorScope().then((e) => {
          if (e) this.pendingError ??= new GpuKernelError(program.name, shapes, e.message);
        }),
      );
    }
  }

  /** Copies `bytes` from one buffer to another inside the batch (ordered with the kernels). */
  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset = 0, dstOffset = 0): void {
    this.throwIfBroken();
    this.profiler?.copy(this.reading ? 'read-back' : 'copy', src, dst, bytes, srcOffset, dstOffset);
    this.endPass();
    this.encoder ??= this.device.createCommandEncoder({ label: 'camlight batch' });
    this.encoder.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
    this.waiter.addWork(bytes);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits the open batch. Cheap; nothing waits for the GPU here. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.slots) this.device.queue.writeBuffer(this.arena, 0, this.arenaHost, 0, this.slots * UNIFORM_SLOT);
    this.profiler?.beforeSubmit(this.encoder);
    this.device.queue.submit([this.encoder.finish()]);
    this.encoder = null;
    this.slots = 0;
    this.waiter.submitted();
  }

  /** Reads `bytes` from a buffer back to the host, after all dispatched work. */
  async read(buf: GPUBuffer, bytes: number, offset = 0): Promise<ArrayBuffer> {
    if (this.lost) throw this.lost;
    const size = Math.ceil(bytes / 4) * 4;
    const staging = this.takeStaging(size);
    this.reading = true;
    this.copy(buf, staging, size, offset, 0);
    this.reading = false;
    this.flush();
    try {
      await this.waiter.wait(() => staging.mapAsync(GPUMapMode.READ, 0, size));
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      return out;
    } finally {
      this.staging.push(staging);
      await this.checkErrors();
    }
  }

  /** Waits until every submitted kernel finished; surfaces errors of any of them. */
  async sync(): Promise<void> {
    this.flush();
    await this.waiter.wait(() => this.device.queue.onSubmittedWorkDone());
    await this.checkErrors();
  }

  /**
   * Times every dispatch from now until stopProfile() (bench --profile; src/gpu/profiler.ts):
   * with GPU timestamps where the device has 'timestamp-query' (or `mode` says so), else by
   * replaying each dispatch alone with a submit + wait. Closes the open batch first.
   */
  startProfile(mode?: 'timestamp' | 'sync'): void {
    if (this.profiler) throw new Error('startProfile: a profile is already running; call stopProfile() first');
    const m = mode ?? (this.features.has('timestamp-query') ? 'timestamp' : 'sync');
    if (m === 'timestamp' && !this.features.has('timestamp-query')) {
      throw new Error(`startProfile: adapter '${this.adapterName}' has no 'timestamp-query' feature; use mode 'sync'`);
    }
    this.flush();
    this.profiler = new Profiler(this.device, m);
  }

  /** Ends a profile: waits for the recorded work and returns each command's GPU time. */
  async stopProfile(): Promise<Profile> {
    const p = this.profiler;
    if (!p) throw new Error('stopProfile: no profile is running; call startProfile() first');
    try {
      await this.sync();
    } finally {
      this.profiler = null;
    }
    return p.collect();
  }

  /** Milliseconds spent sleeping or napping in waits so far (see wait.ts). */
  get sleptMs(): number {
    return this.waiter.sleptMs;
  }

  /** How waits spend the GPU's time (wait.ts); the default is 'nap' on CPU adapters where available, else 'sleep'. */
  get waitMode(): WaitMode {
    return this.waiter.mode;
  }

  /**
   * 'sleep': a learnt estimate on a timer, then await Dawn; 'spin': await Dawn directly;
   * 'nap': block in naps of ≤ 1 ms between single polls (needs Atomics.wait and setImmediate).
   */
  setWaitMode(mode: WaitMode): void {
    if (mode === 'nap' && !napAvailable()) throw new Error("setWaitMode('nap'): this thread cannot block in Atomics.wait or has no setImmediate (a browser's main thread); use 'sleep'");
    this.waiter.mode = mode;
  }

  private takeStaging(size: number): GPUBuffer {
    const i = this.staging.findIndex((b) => b.size >= size && b.size <= 4 * size + 4096);
    if (i >= 0) return this.staging.splice(i, 1)[0]!;
    return this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'staging' });
  }

  private async checkErrors(): Promise<void> {
    if (this.debugChecks.length) {
      const checks = this.debugChecks;
      this.debugChecks = [];
      await Promise.all(checks);
    }
    this.throwIfBroken();
  }

  private throwIfBroken(): void {
    if (this.lost) throw this.lost;
    if (this.pendingError) {
      // The open batch may hold the failing command; drop it rather than resubmit it, and
      // ignore the errors its abandonment raises.
      const e = this.pendingError;
      this.pass = null;
      this.encoder = null;
      this.slots = 0;
      this.pendingError = null;
      throw e;
    }
  }

  stats(): PoolStats {
    return this.pool.stats();
  }

  /** Releases the device; the runtime is unusable afterwards. */
  destroy(): void {
    this.flush();
    this.pool.trim();
    this.device.destroy();
    this.keepAlive = null;
  }
}
