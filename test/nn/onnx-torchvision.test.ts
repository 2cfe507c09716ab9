// torchvision classifiers exported by PyTorch's own torch.onnx.export (Debian python3-torch 1.13,
// seeded He-scaled weights, non-trivial batch-norm statistics), loaded by camlight with batch norms
// fused and unfused: logits within 1e-4 of the logit range of PyTorch's and of onnxruntime-node's,
// and the Grad-CAM at layer 'auto' within 1e-4 of PyTorch autograd's (hooks on the same module),
// on two real photographs. CAMLIGHT_ONNX_MODELS=resnet18,… runs a subset.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { gradCam } from '../../src/cam/base.ts';
import { loadOnnxModel } from '../../src/nn/onnx/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { gpu } from '../helpers.ts';
import { requireRealData, skimageDataDir } from '../real-data.ts';
import { compare, ortLogits, photos, readF32, references, torchAvailable, TORCHVISION, type Manifest } from './onnx-helpers.ts';

const s = suite('nn/onnx-torchvision');
const SIZE = 224;
const models = process.env.CAMLIGHT_ONNX_MODELS?.split(',') ?? TORCHVISION;
let ready: { dir: string; manifest: Manifest; nhwc: Float32Array; nchw: Float32Array; batch: number } | null = null;

s.before(async () => {
  await gpu();
  if (!torchAvailable() || !skimageDataDir()) {
    if (requireRealData) throw new Error('python3-torch/python3-torchvision or the skimage photos are missing: run `bash scripts/setup.sh --test-data`');
    console.log('    (skipped: python3-torch or the skimage photos are not installed; CI installs them)');
    return;
  }
  const p = photos(SIZE);
  const t0 = performance.now();
  const ref = references(models, p.nchw, SIZE);
  console.log(`    PyTorch references (export, logits, autograd Grad-CAM) for ${models.length} models: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  ready = { ...ref, ...p };
});

for (const name of models) {
  s(`${name}: logits match PyTorch and onnxruntime (fused and unfused BN), Grad-CAM matches PyTorch autograd`, async () => {
    if (!ready) return;
    const { dir, manifest, nhwc, nchw, batch } = ready;
    const entry = manifest.models[name]!;
    const want = readF32(join(dir, `${name}.logits.f32`));
    const t0 = performance.now();
    const x = upload(nhwc, [batch, SIZE, SIZE, 3]);
    const lines: string[] = [];
    for (const variant of ['', '-unfused']) {
      const file = join(dir, `${name}${variant}.onnx`);
      const model = await loadOnnxModel(file);
      try {
        const y = model.predict(x);
        const got = await y.data();
        y.dispose();
        const vsTorch = compare(got, want);
        const vsOrt = compare(got, await ortLogits(file, nchw, batch, SIZE));
        lines.push(`${variant ? 'unfused' : 'fused'}: vs torch ${vsTorch.maxAbs.toExponential(2)} (rel ${vsTorch.rel.toExponential(2)}), vs ort ${vsOrt.maxAbs.toExponential(2)} (rel ${vsOrt.rel.toExponential(2)})`);
        assert.ok(vsTorch.rel <= 1e-4, `${name}${variant}: logits differ from PyTorch's by ${vsTorch.maxAbs} (range ${vsTorch.range})`);
        assert.ok(vsOrt.rel <= 1e-4, `${name}${variant}: logits differ from onnxruntime's by ${vsOrt.maxAbs} (range ${vsOrt.range})`);
        if (variant === '') {
          const r = await gradCam(model, x, { layer: 'auto', upsample: false });
          const [h, w] = entry.cam!.slice(1) as [number, number];
          assert.is(r.layer.height, h, `${name}: the auto layer '${r.layer.name}' is ${r.layer.height}×${r.layer.width}, PyTorch's ${entry.module} ${h}×${w}`);
          // torch.onnx names nodes by module scope: module 'classifier.2' → '/classifier/classifier.2/Relu',
          // which camlight names 'classifier.classifier.2.Relu'. DenseNet's CAM reads the functional
          // ReLU after 'features' (node '/Relu').
          const parts = entry.module.split('.');
          const prefix = entry.module === 'features+relu' ? 'Relu' : `${parts.map((_, i) => parts.slice(0, i + 1).join('.')).join('.')}.`;
          assert.ok(r.layer.name.startsWith(prefix), `${name}: auto layer '${r.layer.name}' is not PyTorch's module '${entry.module}' (${prefix}…)`);
          assert.equal(r.images.map((im) => im.target), entry.targets, `${name}: Grad-CAM targets (top class)`);
          const got = new Float32Array(r.images.flatMap((im) => Array.from(im.map.values)));
          const camWant = readF32(join(dir, `${name}.cam.f32`));
          const d = compare(got, camWant);
          lines.push(`Grad-CAM at '${r.layer.name}' (${h}×${w}): max abs ${d.maxAbs.toExponential(2)}`);
          assert.ok(d.maxAbs <= 1e-4, `${name}: Grad-CAM differs from PyTorch autograd's by ${d.maxAbs}`);
        }
      } finally {
        model.dispose();
      }
    }
    x.dispose();
    console.log(`    ${name} (${((performance.now() - t0) / 1000).toFixed(1)} s camlight + ort; PyTorch ${entry.seconds} s): ${lines.join('; ')}`);
  });
}

s.run();
