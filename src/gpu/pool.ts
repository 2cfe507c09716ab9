// Recycles GPU buffers by size class so that steady-state work (a forward pass per image, a
// training step) allocates nothing new; its statistics let tests assert that nothing leaks.

/** What the pool holds right now, and the high-water mark of bytes held by live buffers. */
export interface PoolStats {
  /** Buffers handed out and not yet released. */
  liveBuffers: number;
  /** Bytes (rounded to size classes) of live buffers. */
  liveBytes: number;
  /** Released buffers kept for reuse. */
  freeBuffers: number;
  freeBytes: number;
  /** Highest liveBytes seen since creation or the last resetPeak(). */
  peakLiveBytes: number;
  /** Buffers ever created with device.createBuffer (a pool hit creates none). */
  created: number;
}

/**
 * Size classes: multiples of 256 B up to 4 KiB, then 1×, 1.25×, 1.5× and 1.75× of each power of
 * two, so a request wastes at most 25 % while a handful of classes covers a network's tensors.
 */
export function sizeClass(bytes: number): number {
  const b = Math.max(256, Math.ceil(bytes / 256) * 256);
  if (b <= 4096) return b;
  const p = 2 ** Math.floor(Math.log2(b));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const c = p * f;
    if (c >= b) return c;
  }
  return 2 * p;
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private live = new Map<GPUBuffer, number>();
  private s: PoolStats = { liveBuffers: 0, liveBytes: 0, freeBuffers: 0, freeBytes: 0, peakLiveBytes: 0, created: 0 };

  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
  ) {}

  /**
   * A buffer of at least `bytes` with exactly `usage`; its contents are undefined. `exact`
   * skips the size classes (only 256-byte rounding): for long-lived tensors such as weights,
   * where a class's slack would be held for the model's lifetime.
   */
  acquire(bytes: number, usage: GPUBufferUsageFlags, label = '', exact = false): GPUBuffer {
    const size = exact ? Math.max(256, Math.ceil(bytes / 256) * 256) : sizeClass(bytes);
    if (size > this.maxBufferSize) {
      throw new RangeError(
        `${label || 'tensor'} needs a ${bytes}-byte buffer but the adapter allows at most ` +
          `${this.maxBufferSize} bytes per buffer; use a smaller batch or input size.`,
      );
    }
    const key = `${usage}:${size}`;
    let buf = this.free.get(key)?.pop();
    if (buf) {
      this.s.freeBuffers--;
      this.s.freeBytes -= size;
    } else {
      buf = this.device.createBuffer({ size, usage, label });
      this.s.created++;
    }
    this.live.set(buf, size);
    this.s.liveBuffers++;
    this.s.liveBytes += size;
    if (this.s.liveBytes > this.s.peakLiveBytes) this.s.peakLiveBytes = this.s.liveBytes;
    return buf;
  }

  /** Returns a buffer for reuse. Releasing a buffer twice is a bug and throws. */
  release(buf: GPUBuffer): void {
    const size = this.live.get(buf);
    if (size === undefined) throw new Error(`buffer '${buf.label}' released twice or not from this pool`);
    this.live.delete(buf);
    this.s.liveBuffers--;
    this.s.liveBytes -= size;
    const key = `${buf.usage}:${size}`;
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buf);
    this.s.freeBuffers++;
    this.s.freeBytes += size;
  }

  stats(): PoolStats {
    return { ...this.s };
  }

  resetPeak(): void {
    this.s.peakLiveBytes = this.s.liveBytes;
  }

  /** Destroys every free buffer (live ones stay), e.g. between models of very different sizes. */
  trim(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.s.freeBuffers = 0;
    this.s.freeBytes = 0;
  }
}
