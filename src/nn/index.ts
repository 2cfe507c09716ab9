// camlight/nn: tensors, scopes, the autograd tape and differentiable ops.
export { Tensor, upload, empty, zeros, fill, scope, scopeAsync, keep, shapeSize } from './tensor.ts';
export { init, runtime, setRuntime } from './runtime-global.ts';
export { valueAndGrad, grads, watch, isRecording, type ValueAndGrad } from './tape.ts';
export * as ops from './ops.ts';
