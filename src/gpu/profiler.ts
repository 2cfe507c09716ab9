// Per-dispatch GPU timing for `bench --profile`: which kernels a model's forward or CAM pass
// spends its time in. Off by default; the runtime tests one null field per dispatch.
//
// Two ways to time, chosen by what the adapter offers:
// - 'timestamp': where the device has 'timestamp-query', every dispatch gets its own compute pass
//   whose beginning and end write GPU timestamps (WebGPU timestampWrites); the batch runs as
//   usual and the query sets are resolved at each submit and read once at the end.
// - 'sync': otherwise, every dispatch (and buffer copy) is recorded as it is encoded (pipeline,
//   bind group, uniforms, grid) and replayed alone afterwards, one submit + wait each, timed on
//   the host. That time includes one submit/wait round trip (measured and reported as
//   `roundTripMs`), and the replay reads whatever the buffers hold by then: the same sizes and
//   layouts as the real run, not the same values (no kernel here branches on values).

/** One timed GPU command. */
export interface ProfileEntry {
  /** Kernel name (ProgramSource.name), or 'copy' / 'read-back' for buffer copies. */
  name: string;
  /** The variant key (tile sizes, activation…), '' for copies. */
  variant: string;
  shapes: string;
  /** FLOPs (or bytes moved, for memory-bound kernels) the launcher declared; 0 if none. */
  cost: number;
  /** GPU time in ms; null where the mode cannot time it (copies under 'timestamp'). */
  ms: number | null;
}

export interface Profile {
  mode: 'timestamp' | 'sync';
  entries: ProfileEntry[];
  /** 'sync' only: median ms of an empty submit + wait, included in every entry's ms. */
  roundTripMs: number | null;
  /**
   * 'timestamp' only: ms from the first dispatch's start to the last one's end on the GPU's
   * clock. spanMs − Σ ms is time the GPU spent between kernels (barriers, per-command setup,
   * waiting for the next submit); wall − spanMs is host time before the first kernel and after the last.
   */
  spanMs: number | null;
}

/** What the runtime lends the profiler for a 'sync' replay: the uniform arena slot a dispatch used. */
interface Recorded {
  entry: ProfileEntry;
  run(enc: GPUCommandEncoder): void;
  uniforms?: { buffer: GPUBuffer; offset: number; data: Uint8Array<ArrayBuffer> };
}

const QUERIES = 4096; // Dawn's maximum per query set; 2 per dispatch

export class Profiler {
  private recorded: Recorded[] = [];
  // timestamp mode: one query set per QUERIES / 2 dispatches, resolved per submit.
  private sets: { set: GPUQuerySet; resolve: GPUBuffer; read: GPUBuffer; used: number; resolved: number; entries: ProfileEntry[] }[] = [];

  constructor(private device: GPUDevice, readonly mode: 'timestamp' | 'sync') {}

  /** 'timestamp' mode: the timestampWrites for the pass of the next dispatch, whose entry is `entry`. */
  timestampWrites(entry: ProfileEntry): GPUComputePassTimestampWrites {
    let s = this.sets.at(-1);
    if (!s || s.used === QUERIES) {
      const bytes = QUERIES * 8;
      s = {
        set: this.device.createQuerySet({ type: 'timestamp', count: QUERIES, label: 'profile' }),
        resolve: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC, label: 'profile resolve' }),
        read: this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, label: 'profile read' }),
        used: 0, resolved: 0, entries: [],
      };
      this.sets.push(s);
    }
    const i = s.used;
    s.used += 2;
    s.entries.push(entry);
    this.recorded.push({ entry, run: () => {} });
    return { querySet: s.set, beginningOfPassWriteIndex: i, endOfPassWriteIndex: i + 1 };
  }

  /** 'sync' mode: remembers a dispatch so that collect() can replay it alone. */
  dispatch(entry: ProfileEntry, pipeline: GPUComputePipeline, bindGroup: GPUBindGroup, grid: [number, number, number], uniforms: { buffer: GPUBuffer; offset: number; data: Uint8Array<ArrayBuffer> }): void {
    this.recorded.push({
      entry,
      uniforms: { ...uniforms, data: uniforms.data.slice() },
      run: (enc) => {
        const pass = enc.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...grid);
        pass.end();
      },
    });
  }

  /** A buffer copy: replayed in 'sync' mode, counted (not timed) in 'timestamp' mode. */
  copy(name: 'copy' | 'read-back', src: GPUBuffer, dst: GPUBuffer, bytes: number, srcOffset: number, dstOffset: number): void {
    this.recorded.push({
      entry: { name, variant: '', shapes: `${bytes} bytes`, cost: bytes, ms: null },
      run: (enc) => enc.copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes),
    });
  }

  /** 'timestamp' mode: resolves the queries written since the last submit into `enc` (called before finish). */
  beforeSubmit(enc: GPUCommandEncoder): void {
    for (const s of this.sets) {
      if (s.resolved === s.used) continue;
      // The destination offset must be a multiple of 256 bytes (32 queries): start at the
      // aligned query below, re-resolving a few already-written ones (same values).
      const from = s.resolved - (s.resolved % 32);
      enc.resolveQuerySet(s.set, from, s.used - from, s.resolve, from * 8);
      s.resolved = s.used;
    }
  }

  /**
   * The timings, once every recorded command has been submitted and finished (the runtime syncs
   * first). 'timestamp': reads the resolved queries; 'sync': replays each command alone.
   */
  async collect(): Promise<Profile> {
    if (this.mode === 'timestamp') {
      const enc = this.device.createCommandEncoder({ label: 'profile read' });
      for (const s of this.sets) enc.copyBufferToBuffer(s.resolve, 0, s.read, 0, s.used * 8);
      this.device.queue.submit([enc.finish()]);
      let first = 0n, last = 0n, any = false;
      for (const s of this.sets) {
        await s.read.mapAsync(GPUMapMode.READ, 0, s.used * 8);
        const t = new BigInt64Array(s.read.getMappedRange(0, s.used * 8).slice(0));
        s.read.unmap();
        // Timestamps are in ns; a pass whose end precedes its begin (a clock reset) reads as 0.
        s.entries.forEach((e, k) => {
          const b = t[2 * k]!, f = t[2 * k + 1]!;
          e.ms = Math.max(0, Number(f - b)) / 1e6;
          if (!any || b < first) first = b;
          if (!any || f > last) last = f;
          any = true;
        });
        s.set.destroy();
        s.resolve.destroy();
        s.read.destroy();
      }
      return { mode: this.mode, entries: this.recorded.map((r) => r.entry), roundTripMs: null, spanMs: any ? Number(last - first) / 1e6 : null };
    }
    const roundTrips: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      this.device.queue.submit([]);
      await this.device.queue.onSubmittedWorkDone();
      roundTrips.push(performance.now() - t0);
    }
    for (const r of this.recorded) {
      if (r.uniforms) this.device.queue.writeBuffer(r.uniforms.buffer, r.uniforms.offset, r.uniforms.data);
      const enc = this.device.createCommandEncoder({ label: 'profile replay' });
      r.run(enc);
      // Uniform writes land before this submit; waiting first keeps them out of the timing.
      await this.device.queue.onSubmittedWorkDone();
      const t0 = performance.now();
      this.device.queue.submit([enc.finish()]);
      await this.device.queue.onSubmittedWorkDone();
      r.entry.ms = performance.now() - t0;
    }
    roundTrips.sort((a, b) => a - b);
    return { mode: this.mode, entries: this.recorded.map((r) => r.entry), roundTripMs: roundTrips[2]!, spanMs: null };
  }
}
