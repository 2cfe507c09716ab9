// The public types of camlight/cam: what a caller asks for (method, layer, target) and what comes
// back (one normalised map per image and target, with the layer and classes it came from).
import type { CamWeighting } from '../kernels/cam.ts';

export type CamMethodName =
  | 'gradcam' | 'gradcam++' | 'hirescam' | 'xgradcam' | 'layercam' | 'scorecam' | 'eigencam' | 'saliency' | 'guided-gradcam'
  | 'gradcam-elementwise' | 'eigengradcam';

/** 'top1', { topK } (one map per class, best first), a class index, a class name (needs labels), or one index per image. */
export type CamTarget = 'top1' | { topK: number } | number | string | number[];

export interface CamOptions {
  /** Default 'gradcam'. */
  method?: CamMethodName;
  /** 'auto' (default; see autoLayer), a layer name, an index into model.layers (negative from the end), or several names whose maps are averaged. */
  layer?: 'auto' | string | number | string[];
  /** Default 'top1'. */
  target?: CamTarget;
  /** Class names, index → name: for string targets and for the labels in topk. */
  labels?: string[];
  /** Average the map over noisy copies of the input (Smilkov et al. 2017); noise is σ as a fraction of each image's value range. */
  smoothGrad?: { samples: number; noise: number; seed?: number };
  /**
   * Eigen-CAM and Eigen-Grad-CAM: 'centred' (default; pytorch-grad-cam's projection, each
   * channel's mean over positions removed before the SVD) or 'uncentred' (the Eigen-CAM paper's
   * Eq. 4, the raw activations). Either way the sign makes the map correlate with the channel sum.
   */
  eigenCentring?: 'centred' | 'uncentred';
  /** Masked inputs per forward pass in Score-CAM (default 16). */
  scoreCamBatch?: number;
  /** Also return the map bilinearly up-sampled to the input size (default true). */
  upsample?: boolean;
  /** How many classes each result's topk lists (default 5, at least K for { topK: K }). */
  topk?: number;
}

export interface CamMap {
  height: number;
  width: number;
  values: Float32Array;
}

export interface CamImageResult {
  /** Row of the input batch this result explains. */
  image: number;
  /** The class the map explains. */
  target: number;
  /** The model's best classes for the image, probabilities from its softmax. */
  topk: { index: number; label?: string; prob: number }[];
  /** At the layer's resolution, after ReLU, divided by its maximum (all zeros stays all zeros). */
  map: CamMap;
  /** `map` up-sampled to the input size (bilinear, half-pixel centres as TF2's tf.image.resize). */
  upsampled?: CamMap;
}

export interface CamLayerInfo {
  name: string;
  height: number;
  width: number;
  channels: number;
}

export interface CamResult {
  method: CamMethodName;
  /** The layer the map lives on (several layers: their names joined by '+', at the input size). */
  layer: CamLayerInfo;
  /** One entry per (image, target), images in order; with { topK: K }, K entries per image, best first. */
  images: CamImageResult[];
  warnings: string[];
}

/** How a method forms its map; the base pipeline runs the matching path. */
export type CamKind = 'gradient' | 'score' | 'eigen' | 'eigen-grad' | 'saliency' | 'guided';

/** One CAM method: its citation, the path it takes, and (for map-forming reductions) its weighting. */
export interface CamMethod {
  name: CamMethodName;
  /** Paper, year and equation. */
  cite: string;
  kind: CamKind;
  /** The weights (or per-position terms) the fused reduction applies; see kernels/cam.ts. */
  weighting: CamWeighting;
  /** Flip the map's sign to correlate with the mean activation (principal components). */
  signFix?: boolean;
}
