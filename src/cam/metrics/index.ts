// camlight's CAM metrics and sanity checks in one import: the pointing games, deletion and
// insertion curves, the model-parameter randomisation test, the fragility figures and the statistics behind them.
export { resizeMap, minMaxNormalise, type MapLike } from './maps.ts';
export { rank, pearson, spearman, ssim, type SsimOptions } from './stats.ts';
export { pointingGame, energyPointingGame, pointingAccuracy, regionMask, type Box, type Region, type PointingResult } from './pointing.ts';
export { gaussianBlur, type BlurOptions } from './blur.ts';
export { deletionCurve, insertionCurve, trapezoidAuc, type Curve, type CurveOptions, type ImageInput } from './deletion-insertion.ts';
export { reinitLayerWeights, initializerSampler } from './reinit.ts';
export {
  randomisationTest, compareMaps, fixedTargetExplainer, type CamFunction, type Explainer, type MapSimilarity, type RandomisationOptions, type RandomisationResult, type RandomisationStep,
} from './randomisation.ts';
export {
  fragilityFigures, topKIntersection, topKIndices, centreOfMass, randomSignPerturbation, projectedSignStep, type FragilityFigures, type InputBox,
} from './fragility.ts';
export { gradCamTopKAttack, ATTACKABLE_METHODS, type AttackOptions, type AttackResult } from './fragility-attack.ts';
