// camlight/train: optimisers, schedules, data sets, augmentation, the shortcut injector and the
// training loop (the CAM recorder, triage and animations add their exports beside these).
export { sgd, adam, adamw, optimizerByName, type Optimizer, type SgdOptions, type AdamOptions, type OptimizerName } from './optimizers.ts';
export { constant, stepDecay, cosine, warmup, type Schedule, type SchedulePoint } from './schedules.ts';
export { parseIdx, encodeIdx, readIdx, gunzip, isGzip, IdxFormatError, type IdxArray, type IdxType } from './idx.ts';
export {
  loadFashionMnist, FASHION_MNIST_CLASSES, FASHION_MNIST_DIR, shuffled, subset, splitValidation, batchIndices, batchTensors,
  checkDataset, count, imageSize, type Dataset, type FashionMnistOptions,
} from './data.ts';
export { loadImageFolder, type ImageFolderOptions, type FolderEntry } from './image-folder.ts';
export { augmentParams, augmentBatch, augments, type AugmentOptions } from './augment.ts';
export { injectShortcut, cueMask, silhouetteMask, type ShortcutOptions, type ShortcutResult } from './shortcut.ts';
export {
  train, evaluate, saveCheckpoint, sparseCrossEntropy, type TrainOptions, type History, type EpochRecord, type EpochInfo, type StepInfo, type LossFn,
} from './trainer.ts';
export {
  CamRecorder, historyToJSON, historyFromJSON,
  type CamRecorderOptions, type CamHistory, type CamEpochRecord, type ImageRecord, type TrackedImage, type HistoryJson,
} from './recorder.ts';
export { triage, triageRecords, TRIAGE_THRESHOLDS, type Verdict, type TriageResult, type TriageNumbers, type TriageThresholds, type TriageOptions, type TriageRule } from './triage.ts';
export { occlusionProbes, classProbs, backgroundOf, type OcclusionProbe } from './occlusion.ts';
export { focusOf, densityRatio, regionArea, mapEmptiness, type Focus } from './triage-focus.ts';
