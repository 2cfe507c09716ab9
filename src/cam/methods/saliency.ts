// Gradient saliency: Simonyan et al. 2014, "Deep Inside Convolutional Networks: Visualising Image
// Classification Models and Saliency Maps", Sec. 3.1: M_ij = max_c |∂S/∂I_ijc|, at the input's
// resolution (the "layer" is the input).
import { gradientMaps } from '../paths.ts';
import { defineCamMethod } from './define.ts';

export const saliency = defineCamMethod({
  name: 'saliency',
  cite: 'Simonyan et al. 2014, Saliency Maps, Sec. 3.1',
  needs: 'input-gradients',
  weighting: { key: 'absmax', pixel: 'abs(g)', pixelMax: true },
  // One backward to the input (layers null); the input is its own "activation".
  run(ctx) {
    const g = gradientMaps(ctx.model, ctx.head, ctx.x, ctx.plan, null, ctx.method.weighting!, { kk: ctx.kk });
    return { maps: g.maps[0]!, top: g.top };
  },
});
