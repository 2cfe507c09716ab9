// camlight/cam: class activation maps on the GPU. cam() runs any method; the helpers pick
// layers and targets; each method lives in methods/ with its paper and equation.
export { cam, gradCam, smoothGradNoise } from './base.ts';
export { autoLayer, autoLayerChoice, camCandidates, resolveLayers, layerInfo, type LayerChoice } from './layer-select.ts';
export { planTargets, scoreHead, type TargetPlan, type Head } from './targets.ts';
export { METHODS, METHOD_NAMES, getMethod, registerCamMethod, camMethodNames } from './methods/index.ts';
export { defineCamMethod } from './methods/define.ts';
// Building blocks for a method's own run (methods/README.md).
export { layerGradientMaps, layerActivations, combineLayers } from './paths.ts';
export { camReduce, normalizeMaps, repeatRows, type CamWeighting, type CamReduceOptions } from '../kernels/cam.ts';
export { GUIDED_WARNING } from './methods/guided-gradcam.ts';
export { withGuidedRelu } from './guided.ts';
export type {
  CamImageResult, CamLayerInfo, CamMap, CamMethod, CamMethodName, CamNeeds, CamOptions, CamResult, CamRunContext, CamRunOutput, CamTarget,
  Maps as CamMaps, Top as CamTop,
} from './types.ts';
// The other parts of camlight/cam: input preparation, overlays and colour maps, metrics.
export * from './prepare.ts';
export * from './overlay.ts';
export * from './colormaps.ts';
export * from './metrics/index.ts';
