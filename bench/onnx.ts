// `npm run bench -- onnx`: PyTorch models through ONNX. Forward latency of resnet50 and
// mobilenet_v2 (torchvision, seeded weights, exported by Debian's python3-torch with a symbolic
// batch) at 224×224, batch 1 and 8, in camlight and in onnxruntime-node on the CPU in the same
// run; camlight's Grad-CAM latency and its ratio to the forward. Every output is checked against
// PyTorch's logits (1e-4 of the logit range) before anything is timed.
import { gradCam } from '../src/cam/base.ts';
import { init } from '../src/tensor/runtime-global.ts';
import { loadOnnxModel } from '../src/nn/onnx/index.ts';
import { upload } from '../src/tensor/tensor.ts';
import { compare, ort, ortSession, photos, readF32, references, torchAvailable } from '../test/nn/onnx-helpers.ts';
import type { Suite, SuiteOptions } from './index.ts';
import { planFor, timeLaunches } from './measure.ts';

const MODELS = ['mobilenet_v2', 'resnet50'];
const SIZE = 224;

async function run(opts: SuiteOptions): Promise<number> {
  if (!torchAvailable()) {
    console.log('onnx: python3-torch/python3-torchvision are missing (bash scripts/setup.sh --test-data); nothing measured');
    return 1;
  }
  await init();
  const plan = planFor(opts.budgetS); // seconds of timed samples per measurement (--budget)
  const batches = opts.quick ? [1] : [1, 8];
  const p = photos(SIZE);
  // Batch 8: the two photographs, four times over.
  const B = Math.max(...batches);
  const tile = (a: Float32Array) => {
    const out = new Float32Array(a.length / p.batch * B);
    for (let i = 0; i < B; i++) out.set(a.subarray((i % p.batch) * (a.length / p.batch), ((i % p.batch) + 1) * (a.length / p.batch)), i * (a.length / p.batch));
    return out;
  };
  const nhwc = tile(p.nhwc), nchw = tile(p.nchw);
  const { dir } = references(MODELS, nchw, SIZE, { cam: false, dynamicBatch: true });
  let failed = 0;
  console.log('model         batch  camlight fwd  onnxruntime cpu  camlight Grad-CAM  CAM/fwd   (ms, median)');
  for (const name of MODELS) {
    const file = `${dir}/${name}.onnx`;
    const want = readF32(`${dir}/${name}.logits.f32`);
    const model = await loadOnnxModel(file);
    const sess = await ortSession(file);
    for (const b of batches) {
      const per = want.length / B;
      const x = upload(nhwc.subarray(0, b * SIZE * SIZE * 3), [b, SIZE, SIZE, 3]);
      const xo = new ort.Tensor('float32', nchw.slice(0, b * 3 * SIZE * SIZE), [b, 3, SIZE, SIZE]);
      // Check before timing.
      const y = model.predict(x);
      const got = compare(await y.data(), want.subarray(0, b * per));
      y.dispose();
      const o = (await sess.run({ input: xo })).logits!.data as Float32Array;
      const gotOrt = compare(o, want.subarray(0, b * per));
      if (!(got.rel <= 1e-4) || !(gotOrt.rel <= 1e-4)) {
        console.log(`${name} batch ${b}: FAILED check: camlight rel ${got.rel}, onnxruntime rel ${gotOrt.rel}`);
        failed++;
        x.dispose();
        continue;
      }
      const fwd = await timeLaunches(async (r) => {
        let last = null;
        for (let i = 0; i < r; i++) {
          last?.dispose();
          last = model.predict(x);
        }
        await last!.data();
        last!.dispose();
      }, plan);
      const ortT = await timeLaunches(async (r) => {
        for (let i = 0; i < r; i++) await sess.run({ input: xo });
      }, plan);
      await gradCam(model, x, { upsample: false }); // warm-up: compiles the backward kernels
      const cam = await timeLaunches(async (r) => {
        for (let i = 0; i < r; i++) await gradCam(model, x, { upsample: false });
      }, plan);
      console.log(`${name.padEnd(14)}${String(b).padStart(5)}  ${fwd.ms.toFixed(1).padStart(12)}  ${ortT.ms.toFixed(1).padStart(15)}  ${cam.ms.toFixed(1).padStart(17)}  ${(cam.ms / fwd.ms).toFixed(2).padStart(7)}`);
      x.dispose();
    }
    await sess.release();
    model.dispose();
  }
  console.log('(lavapipe timings are distorted by whatever else runs on the machine; onnxruntime uses all CPU cores)');
  return failed;
}

export const suite: Suite = {
  name: 'onnx',
  describe: 'torchvision resnet50 / mobilenet_v2 via ONNX: camlight vs onnxruntime-node CPU forward, Grad-CAM latency',
  run,
};
