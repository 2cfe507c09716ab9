// camlight/nn: tensors, scopes, the autograd tape and differentiable ops.
export { Tensor, upload, empty, zeros, fill, scope, scopeAsync, keep, shapeSize } from '../tensor/tensor.ts';
export { init, runtime, setRuntime } from '../tensor/runtime-global.ts';
export { valueAndGrad, grads, watch, isRecording, type ValueAndGrad } from './tape.ts';
export * as ops from './ops.ts';
export { Model } from './model.ts';
export * as layers from './layers/index.ts';
export * as zoo from './zoo/index.ts';
export {
  loadLayersModel, loadH5Model, loadH5Weights, saveLayersModel, convert, ModelLoadError,
} from './loaders/index.ts';
export { useH5wasm } from '../platform/hooks.ts';
export { loadOnnxModel, OnnxLoadError } from './onnx/index.ts';
