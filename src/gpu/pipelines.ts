// One cache of compute pipelines for the whole device, keyed by everything that changes the
// shader text (per-call values travel in uniforms and never enter the key), so a network of
// hundreds of layers compiles each distinct kernel variant once.

/** A kernel variant: its WGSL and the key that identifies that exact text. */
export interface ProgramSource {
  /** Kernel name used in errors and labels, e.g. 'conv2d'. */
  name: string;
  /** Names every choice baked into the shader text: tile sizes, activation, vec width… */
  key: string;
  /** Number of read-only storage inputs (bindings 1..nIn). */
  inputs: number;
  /** Number of read-write storage outputs (bindings nIn+1..). */
  outputs: number;
  /** Builds the WGSL; called only on a cache miss. */
  code(): string;
}

export class PipelineCache {
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  compiled = 0;

  constructor(private device: GPUDevice) {}

  /** Bindings: 0 uniform, 1..nIn read-only storage, then nOut read-write storage. */
  layout(nIn: number, nOut: number): GPUBindGroupLayout {
    const k = `${nIn}/${nOut}`;
    let l = this.layouts.get(k);
    if (!l) {
      const entries: GPUBindGroupLayoutEntry[] = [
        { binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } },
      ];
      for (let i = 0; i < nIn + nOut; i++) {
        entries.push({
          binding: i + 1,
          visibility: GPUShaderStage.COMPUTE,
          buffer: { type: i < nIn ? 'read-only-storage' : 'storage' },
        });
      }
      l = this.device.createBindGroupLayout({ entries, label: `layout ${k}` });
      this.layouts.set(k, l);
    }
    return l;
  }

  get(p: ProgramSource): GPUComputePipeline {
    const key = `${p.name}|${p.key}`;
    let pipe = this.pipelines.get(key);
    if (!pipe) {
      const module = this.device.createShaderModule({ code: p.code(), label: key });
      pipe = this.device.createComputePipeline({
        label: key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(p.inputs, p.outputs)] }),
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(key, pipe);
      this.compiled++;
    }
    return pipe;
  }

  get size(): number {
    return this.pipelines.size;
  }
}
