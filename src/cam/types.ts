// The public types of camlight/cam: what a caller asks for (method, layer, target) and what comes
// back (one normalised map per image and target, with the layer and classes it came from).
import type { CamWeighting } from '../kernels/cam.ts';
import type { Model } from '../nn/model.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { Head, TargetPlan } from './targets.ts';

import type { CamMethodName } from './methods/index.ts';

/** The built-in methods' names, derived from the one list in methods/index.ts. */
export type { CamMethodName };

/** 'top1', { topK } (one map per class, best first), a class index, a class name (needs labels), or one index per image. */
export type CamTarget = 'top1' | { topK: number } | number | string | number[];

export interface CamOptions {
  /**
   * Default 'gradcam'. A built-in method's name or a CamMethod object (methods/README.md: how to
   * write one; a method added with registerCamMethod is also found by its name at run time).
   */
  method?: CamMethodName | CamMethod;
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
  /** The method's name (a built-in's, or a registered or passed method's own). */
  method: CamMethodName | (string & {});
  /** The layer the map lives on (several layers: their names joined by '+', at the input size). */
  layer: CamLayerInfo;
  /** One entry per (image, target), images in order; with { topK: K }, K entries per image, best first. */
  images: CamImageResult[];
  warnings: string[];
}

/**
 * What a method reads from the model, which decides the layer and when the targets are known:
 * - 'gradients': a taped forward and a backward that stops at the CAM layer(s); top-K targets are
 *   picked on the device inside that same pass.
 * - 'activations': a forward pass only (no tape); the targets are fixed on the host first, from
 *   a separate forward pass, so the method may need them (Score-CAM's masked passes).
 * - 'input-gradients': the gradient with respect to the input image; the "layer" is the input and
 *   the `layer` option is ignored (saliency).
 */
export type CamNeeds = 'gradients' | 'activations' | 'input-gradients';

/** Normalised maps (R,h,w) on the device and each one's peak before normalising (R). */
export interface Maps {
  map: Tensor;
  peak: Tensor;
}

/** The best classes of each row, probabilities and float-encoded indices, (rows, k) each. */
export interface Top {
  values: Tensor;
  indices: Tensor;
}

/**
 * Everything one pass of a method needs, resolved by cam() before it runs (methods/README.md).
 * R = N·K rows: K maps per image, image-major.
 */
export interface CamRunContext {
  model: Model;
  /** How the class score (the logit) and the probabilities are read from a run of the model. */
  head: Head;
  /** The input batch (N,H,W,C); under SmoothGrad one noisy copy of it. */
  x: Tensor;
  /** The targets: picked on the device ('top', K per image) or fixed per row ('fixed'). */
  plan: TargetPlan;
  /** Each row's class when it is known on the host (always for needs 'activations'), else null. */
  hostTargets: number[] | null;
  /** The CAM layers (empty for needs 'input-gradients'). Several: their maps are averaged. */
  layers: string[];
  /** The input's (H, W): the size several layers' maps are averaged at. */
  size: [number, number];
  /** Maps per image. */
  K: number;
  /** Classes per row in `top` (topk width). */
  kk: number;
  /** Method-specific options from CamOptions, checked. */
  options: { scoreCamBatch: number; centred: boolean };
  /** The method being run (its weighting, for a run that reuses the fused reduction). */
  method: CamMethod;
}

/** What one pass of a method returns: maps (R,h,w) and, when the pass computed them, the top classes per row (null otherwise). */
export interface CamRunOutput {
  maps: Maps;
  top: Top | null;
}

/**
 * One CAM method: its citation, what it reads, and either a WGSL weighting the shared gradient
 * path splices into the fused reduction or its own `run` (methods/README.md has the contract).
 */
export interface CamMethod<N extends string = string> {
  name: N;
  /** Paper, year and equation. */
  cite: string;
  needs: CamNeeds;
  /**
   * The weights (or per-position terms) the fused reduction applies (kernels/cam.ts; the snippet
   * contract is in methods/README.md). Without `run`, cam() reduces each layer's activations and
   * gradients with it; a `run` may use it or not.
   */
  weighting?: CamWeighting;
  /** Warnings every result of this method carries (Guided Grad-CAM's sanity-check caveat). */
  warnings?: readonly string[];
  /** A pass of the method on ctx.x, for a method that is not a weighting of (A, ∂y/∂A). */
  run?(ctx: CamRunContext): CamRunOutput | Promise<CamRunOutput>;
}
