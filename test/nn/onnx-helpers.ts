// Shared by the ONNX tests and bench: PyTorch references from scripts/onnx-references.py (run
// with Debian's python3-torch at test time, cached under .cache/onnx by a hash of the script and
// the inputs), two skimage photographs preprocessed as torchvision does, and onnxruntime-node.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { decodeImage } from '../../src/io/image.ts';
import { prepareImages } from '../../src/cam/prepare.ts';
import { skimagePhoto } from '../real-data.ts';

const root = resolve(import.meta.dirname, '../..');
export const PYTHON = process.env.CAMLIGHT_PYTHON ?? '/usr/bin/python3';

/** The torchvision models the tests cover (googlenet stands for the Inception family). */
export const TORCHVISION = [
  'resnet18', 'mobilenet_v2', 'resnet50', 'mobilenet_v3_small', 'efficientnet_b0', 'densenet121',
  'squeezenet1_1', 'vgg11_bn', 'shufflenet_v2_x1_0', 'googlenet',
];

/** chelsea.png and coffee.png at size×size, (x/255 − mean)/std: NHWC for camlight and NCHW for PyTorch. */
export function photos(size = 224): { nhwc: Float32Array; nchw: Float32Array; batch: number } {
  const imgs = ['chelsea.png', 'coffee.png'].map((p) => decodeImage(readFileSync(skimagePhoto(p)), p));
  const nhwc = prepareImages(imgs, { size: [size, size], preprocess: 'torch', crop: 'center' });
  const B = imgs.length, P = size * size;
  const nchw = new Float32Array(nhwc.length);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let c = 0; c < 3; c++) nchw[(b * 3 + c) * P + p] = nhwc[(b * P + p) * 3 + c]!;
  return { nhwc, nchw, batch: B };
}

export interface Manifest {
  torch: string;
  size: number;
  batch: number;
  models: Record<string, { logits: number[]; cam?: number[]; targets?: number[]; module: string; seconds: number }>;
}

/** True when Debian's python3-torch and python3-torchvision import. */
export function torchAvailable(): boolean {
  const r = spawnSync(PYTHON, ['-c', 'import torch, torchvision'], { encoding: 'utf8' });
  return r.status === 0;
}

/**
 * Runs scripts/onnx-references.py for `models` on `nchw` (cached), returning the folder with the
 * .onnx files and references, and the manifest.
 */
export function references(models: string[], nchw: Float32Array, size: number, opts: { cam?: boolean; dynamicBatch?: boolean } = {}): { dir: string; manifest: Manifest } {
  const script = join(root, 'scripts/onnx-references.py');
  const h = createHash('sha256').update(readFileSync(script)).update(new Uint8Array(nchw.buffer)).update(models.join(',') + String(opts.cam !== false) + String(!!opts.dynamicBatch)).digest('hex').slice(0, 16);
  // CAMLIGHT_ONNX_REFS names a folder the script already filled (for the same inputs), e.g. on a machine without PyTorch.
  const dir = process.env.CAMLIGHT_ONNX_REFS ?? join(root, '.cache/onnx', h);
  const mf = join(dir, 'manifest.json');
  if (!existsSync(mf)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'x.f32'), nchw);
    const args = [script, '--out', dir, '--inputs', join(dir, 'x.f32'), '--size', String(size), '--models', models.join(',')];
    if (opts.cam === false) args.push('--no-cam');
    if (opts.dynamicBatch) args.push('--dynamic-batch');
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', timeout: 3_600_000 });
    if (r.status !== 0) throw new Error(`scripts/onnx-references.py failed (${r.status}):\n${r.stderr.split('\n').filter((l) => !/Warning/.test(l)).slice(-15).join('\n')}`);
  }
  return { dir, manifest: JSON.parse(readFileSync(mf, 'utf8')) as Manifest };
}

export const readF32 = (path: string) => {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};

/** onnxruntime-node (CPU) logits for each image of an NCHW batch, run one image at a time (the export's fixed batch 1). */
export async function ortLogits(path: string, nchw: Float32Array, batch: number, size: number): Promise<Float32Array> {
  const sess = await ortSession(path);
  const per = nchw.length / batch;
  const outs: Float32Array[] = [];
  for (let b = 0; b < batch; b++) {
    const x = new ort.Tensor('float32', nchw.slice(b * per, (b + 1) * per), [1, 3, size, size]);
    const r = await sess.run({ [sess.inputNames[0]!]: x });
    outs.push(r[sess.outputNames[0]!]!.data as Float32Array);
  }
  await sess.release();
  const out = new Float32Array(outs.reduce((a, o) => a + o.length, 0));
  outs.forEach((o, i) => out.set(o, i * o.length));
  return out;
}

/** max |a − b| and the range of `want`. */
export function compare(got: Float32Array, want: Float32Array): { maxAbs: number; range: number; rel: number } {
  let maxAbs = 0, lo = Infinity, hi = -Infinity;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(got[i]! - want[i]!));
    lo = Math.min(lo, want[i]!);
    hi = Math.max(hi, want[i]!);
  }
  if (got.length !== want.length) maxAbs = Infinity;
  return { maxAbs, range: hi - lo, rel: maxAbs / (hi - lo) };
}

/** An onnxruntime-node session on the CPU. */
export const ortSession = (path: string) => ort.InferenceSession.create(path, { executionProviders: ['cpu'] });
export { ort };
