// Gradient saliency: Simonyan et al. 2014, "Deep Inside Convolutional Networks: Visualising Image
// Classification Models and Saliency Maps", Sec. 3.1: M_ij = max_c |∂S/∂I_ijc|, at the input's
// resolution (the "layer" is the input).
import type { CamMethod } from '../types.ts';

export const saliency: CamMethod = {
  name: 'saliency',
  cite: 'Simonyan et al. 2014, Saliency Maps, Sec. 3.1',
  kind: 'saliency',
  weighting: { key: 'absmax', pixel: 'abs(g)', pixelMax: true },
};
