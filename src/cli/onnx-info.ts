// `camlight info model.onnx`: what an ONNX file holds and how camlight reads it (producer, opset,
// op counts, input and output, the camlight layers and parameters, the layer Grad-CAM picks).
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { autoLayer } from '../cam/layer-select.ts';
import { init } from '../tensor/runtime-global.ts';
import { decodeOnnx, loadOnnxModel } from '../nn/onnx/index.ts';
import { UsageError } from './args.ts';

/**
 * Prints the summary; resolves to the exit code. A file camlight cannot run fails with the
 * loader's one-line message (every unsupported op and node).
 * @example
 *   $ camlight info resnet18.onnx
 */
export async function onnxInfo(path: string): Promise<number> {
  const bytes = await readFile(path).catch(() => null);
  if (!bytes) throw new UsageError(`${path}: no such file`);
  const g = await decodeOnnx(new Uint8Array(bytes), path, async (loc) => new Uint8Array(await readFile(join(dirname(path), loc))));
  const ops = new Map<string, number>();
  for (const n of g.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
  const dims = (d: (number | null)[]) => d.map((x) => x ?? '?').join('×');
  console.log(`file: ${path} (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB)`);
  console.log(`producer: ${g.producer || '(unknown)'}, opset ${g.opset}`);
  console.log(`input: ${g.inputs.map((i) => `${i.name} ${dims(i.dims)}`).join(', ')} (NCHW; camlight runs it as NHWC)`);
  console.log(`output: ${g.outputs.map((o) => `${o.name} ${dims(o.dims)}`).join(', ')}`);
  console.log(`ops: ${[...ops].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  process.env.XDG_RUNTIME_DIR ??= '/tmp';
  await init();
  const model = await loadOnnxModel(path);
  const p = model.parameterCount();
  console.log(`camlight: ${model.layers.length} layers, ${p.trainable.toLocaleString('en')} trainable + ${p.nonTrainable.toLocaleString('en')} non-trainable parameters`);
  console.log(`Grad-CAM layer ('auto'): ${autoLayer(model)} ${model.layerOutputShape(autoLayer(model)).slice(1).join('×')}`);
  model.dispose();
  return 0;
}
