// The kernel layer: every forward (and, beside it, backward) WGSL program with its launcher.
// These functions take and return tensors but record nothing; the differentiable versions
// are in camlight/nn (ops).
export * from './elementwise.ts';
export * from './reduce.ts';
export { conv2d, depthwiseConv2d, conv2dOutputShape, type Conv2dOptions, type Conv2dGeometry } from './conv2d.ts';
export { matmul, dense, type MatmulOptions } from './matmul.ts';
export { maxPool2d, avgPool2d, globalAvgPool, globalMaxPool, type PoolOptions, type PoolPadding } from './pool.ts';
export { maxPool2dGrad, avgPool2dGrad, globalAvgPoolGrad, globalMaxPoolGrad } from './pool-grad.ts';
export { batchNorm, foldBatchNorm, foldBatchNormTensor, type BatchNormParams } from './batchnorm.ts';
export { batchNormTrain, batchNormTrainGrad, updateMovingStats } from './batchnorm-train.ts';
export { concat, concatGrad, slice } from './concat.ts';
export { pad, zeroPad2d, padGrad } from './pad.ts';
export { resizeBilinear, resizeBilinearGrad, type ResizeOptions } from './resize.ts';
export { softmax, logSoftmax, softmaxGrad, logSoftmaxGrad } from './softmax.ts';
export * from './losses.ts';
export { topk, topkHost } from './topk.ts';
export { ACTIVATIONS, type Activation } from './program.ts';
export { optimStep } from './optim.ts';
export { augment } from './augment.ts';
export { conv2dInputGrad, conv2dWeightGrad, conv2dBiasGrad, depthwiseConv2dInputGrad, depthwiseConv2dWeightGrad } from './conv2d-backward.ts';
