// Guided Grad-CAM: Selvaraju et al. 2017, Sec. 3.1: Guided Backpropagation (Springenberg et al.
// 2015: every ReLU passes back only positive gradients where its input was positive) multiplied
// by the up-sampled Grad-CAM. Here the guided gradient is reduced to max_c |·| per pixel (as
// saliency) before the product. Adebayo et al. 2018 ("Sanity Checks for Saliency Maps") show that
// Guided Backpropagation barely changes when the model's weights are randomised: the result says
// more about the image's edges than about the model, so every result carries that warning.
import type { CamMethod } from '../types.ts';

export const guidedGradcam: CamMethod = {
  name: 'guided-gradcam',
  cite: 'Selvaraju et al. 2017, Grad-CAM, Sec. 3.1 (Guided Grad-CAM)',
  kind: 'guided',
  weighting: { key: 'absmax', pixel: 'abs(g)', pixelMax: true },
};

export const GUIDED_WARNING =
  'guided-gradcam: Guided Backpropagation fails the model-parameter randomisation test (Adebayo et al. 2018, ' +
  '"Sanity Checks for Saliency Maps"): its detail reflects the image more than the model; compare with gradcam';
