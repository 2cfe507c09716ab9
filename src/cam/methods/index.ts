// Every CAM method by name: one file each, citing its paper and supplying its weighting.
import type { CamMethod, CamMethodName } from '../types.ts';
import { eigencam } from './eigencam.ts';
import { eigengradcam } from './eigengradcam.ts';
import { gradcam } from './gradcam.ts';
import { gradcamElementwise } from './gradcam-elementwise.ts';
import { gradcamPlusPlus } from './gradcam-plus-plus.ts';
import { guidedGradcam } from './guided-gradcam.ts';
import { hirescam } from './hirescam.ts';
import { layercam } from './layercam.ts';
import { saliency } from './saliency.ts';
import { scorecam } from './scorecam.ts';
import { xgradcam } from './xgradcam.ts';

export const METHODS: Record<CamMethodName, CamMethod> = {
  gradcam, 'gradcam++': gradcamPlusPlus, hirescam, xgradcam, layercam, scorecam, eigencam, saliency, 'guided-gradcam': guidedGradcam,
  'gradcam-elementwise': gradcamElementwise, eigengradcam,
};

export const METHOD_NAMES = Object.keys(METHODS) as CamMethodName[];

/** The method for a name; the error lists the known ones. */
export function getMethod(name: string): CamMethod {
  const m = (METHODS as Record<string, CamMethod>)[name];
  if (!m) throw new Error(`unknown CAM method '${name}'; use one of ${METHOD_NAMES.join(', ')}`);
  return m;
}
