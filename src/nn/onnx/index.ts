// loadOnnxModel: an .onnx file (PyTorch's torch.onnx.export, or any exporter using the ops of
// torchvision's CNN classifiers) as a camlight Model, so forward, every CAM method and training
// work on it unchanged. Decoding, constant folding and op mapping live in the files beside this.
import { describePath, dirname, FileNotFoundError, joinPath } from '../../io/files.ts';
import { withFile } from '../loaders/errors.ts';
import { resolveLocation, type Location } from '../loaders/source.ts';
import { Model } from '../model.ts';
import { decodeOnnx, OnnxLoadError } from './decode.ts';
import { translate } from './translate.ts';

export { OnnxLoadError, decodeOnnx, type OnnxGraph, type OnnxNode, type HostTensor } from './decode.ts';
export { translate } from './translate.ts';
export { ONNX_LAYER_CLASSES } from './layers.ts';

/** An .onnx file: its bytes, or where to read them (a path in Node, a URL, a FileSource). */
export type OnnxInput = Uint8Array | ArrayBuffer | Location;

/**
 * Loads an ONNX image classifier (input N×C×H×W with fixed C, H, W; one output). NCHW weights are
 * converted once to camlight's NHWC/HWIO; a Flatten after a feature map permutes the next Gemm's
 * rows so that logits match exactly. External-data tensors are read next to the file. Unsupported
 * ops fail here, in one message listing every op type and node.
 * @example
 *   const model = await loadOnnxModel('resnet18.onnx');
 *   const r = await gradCam(model, x);   // x: (N,224,224,3), preprocessed as in PyTorch
 */
export async function loadOnnxModel(input: OnnxInput, opts: { name?: string } = {}): Promise<Model> {
  let bytes: Uint8Array;
  let where = opts.name ?? 'the given .onnx bytes';
  let external: ((loc: string) => Promise<Uint8Array>) | undefined;
  if (input instanceof Uint8Array || input instanceof ArrayBuffer) bytes = input instanceof ArrayBuffer ? new Uint8Array(input) : input;
  else {
    const { source, path } = await resolveLocation(input, 'model.onnx');
    where = opts.name ?? describePath(source, path);
    try {
      bytes = await source.read(path);
    } catch (e) {
      if (e instanceof FileNotFoundError) throw new OnnxLoadError(`.onnx file not found: ${where}`);
      throw e;
    }
    external = async (loc) => {
      const p = joinPath(dirname(path), loc);
      try {
        return await source.read(p);
      } catch (e) {
        if (e instanceof FileNotFoundError) throw new OnnxLoadError(`${where}: its external-data file '${loc}' (${describePath(source, p)}) is missing; keep it next to the .onnx file`);
        throw e;
      }
    };
  }
  const graph = await decodeOnnx(bytes, where, external);
  const { topology, weights } = translate(graph, where);
  let model: Model;
  try {
    model = Model.fromKerasConfig(topology);
  } catch (e) {
    throw withFile(e, where);
  }
  try {
    model.setWeights(weights);
  } catch (e) {
    model.dispose();
    throw withFile(e, where);
  }
  return model;
}
