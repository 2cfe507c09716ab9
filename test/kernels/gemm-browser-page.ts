// The page side of gemm-tiled-browser.test.ts, bundled by esbuild and run in headless Chromium:
// camlight's public kernels (conv2d, its two gradients, matmul, dense) on a Runtime created with
// adapterClass 'gpu' (or 'cpu', the test's control), on inputs the test sends; it returns the
// outputs and every dispatch (program name, pipeline key, shapes) so the test can check values
// against float64 host sums and that the tiled GEMM core ran, not the register-blocked kernels.
import { kernels, Runtime, upload, type Tensor } from '../../src/index.ts';
import type { AdapterClass } from '../../src/gpu/runtime.ts';
import type { GemmPlan } from '../../src/kernels/gemm-tiled.ts';
import { withGemmPlan } from '../../src/kernels/gemm-tiles.ts';
import type { Activation } from '../../src/kernels/program.ts';

/** An input as the test sends it: shape and float32 values (exact as JSON numbers). */
export interface PageArray {
  shape: number[];
  data: number[];
}

type ConvOpts = Omit<kernels.Conv2dOptions, 'bias'>;

/** One kernel call; `plan` forces a tile / GEMV / split-K (withGemmPlan), else selection chooses. */
export type PageCase = { name: string; plan?: GemmPlan; adapterClass?: AdapterClass } & (
  | { op: 'conv2d'; x: PageArray; w: PageArray; bias?: PageArray; opts: ConvOpts }
  | { op: 'conv2dInputGrad'; dy: PageArray; w: PageArray; xShape: number[]; opts: ConvOpts }
  | { op: 'conv2dWeightGrad'; x: PageArray; dy: PageArray; wShape: number[]; opts: ConvOpts }
  | { op: 'matmul'; a: PageArray; b: PageArray; bias?: PageArray; opts: { transposeA?: boolean; transposeB?: boolean; activation?: Activation } }
  | { op: 'dense'; x: PageArray; w: PageArray; bias?: PageArray; activation: Activation }
);

/** One dispatch as the runtime saw it. */
export interface PageDispatch {
  name: string;
  key: string;
  shapes: string;
}

export interface PageResult {
  adapter: string;
  adapterClass: string;
  shape: number[];
  out: number[];
  dispatches: PageDispatch[];
  ms: number;
}

const runtimes = new Map<AdapterClass, Runtime>();
const seen: PageDispatch[] = [];

/** One runtime per class on the same adapter, each recording its dispatches into `seen`. */
async function runtime(cls: AdapterClass): Promise<Runtime> {
  const had = runtimes.get(cls);
  if (had) return had;
  const r = await Runtime.create({ adapterClass: cls });
  const orig = r.dispatch.bind(r);
  r.dispatch = (spec) => {
    seen.push({ name: spec.program.name, key: spec.program.key, shapes: spec.shapes });
    orig(spec);
  };
  runtimes.set(cls, r);
  return r;
}

async function run(c: PageCase): Promise<PageResult> {
  const r = await runtime(c.adapterClass ?? 'gpu');
  const held: Tensor[] = [];
  const t = (a: PageArray) => {
    const v = upload(new Float32Array(a.data), a.shape, r);
    held.push(v);
    return v;
  };
  const call = (): Tensor => {
    switch (c.op) {
      case 'conv2d':
        return kernels.conv2d(t(c.x), t(c.w), { ...c.opts, bias: c.bias && t(c.bias) });
      case 'conv2dInputGrad':
        return kernels.conv2dInputGrad(t(c.dy), t(c.w), c.xShape, c.opts);
      case 'conv2dWeightGrad':
        return kernels.conv2dWeightGrad(t(c.x), t(c.dy), c.wShape, c.opts);
      case 'matmul':
        return kernels.matmul(t(c.a), t(c.b), { ...c.opts, bias: c.bias && t(c.bias) });
      case 'dense':
        return kernels.dense(t(c.x), t(c.w), c.bias && t(c.bias), c.activation);
    }
  };
  seen.length = 0;
  const t0 = performance.now();
  const y = c.plan ? withGemmPlan(c.plan, call) : call();
  const out = await y.data();
  const ms = performance.now() - t0;
  const result = { adapter: r.adapterName, adapterClass: r.adapterClass, shape: [...y.shape], out: Array.from(out), dispatches: [...seen], ms };
  for (const v of [...held, y]) v.dispose();
  return result;
}

(window as unknown as { gemmRun: typeof run }).gemmRun = run;
