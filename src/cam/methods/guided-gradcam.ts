// Guided Grad-CAM: Selvaraju et al. 2017, Sec. 3.1: Guided Backpropagation (Springenberg et al.
// 2015: every ReLU passes back only positive gradients where its input was positive) multiplied
// by the up-sampled Grad-CAM. Here the guided gradient is reduced to max_c |·| per pixel (as
// saliency) before the product. Adebayo et al. 2018 ("Sanity Checks for Saliency Maps") found
// Guided Backpropagation and Guided Grad-CAM barely changed when a trained Inception v3's weights
// were randomised (the detail reflects the image's edges more than the model), so every result
// carries that warning. camlight's own check on a small trained CNN did not reproduce it (test/cam/
// randomisation.test.ts; docs/METHODS.md): the warning reports the paper, not a measurement.
import { normalizeMaps } from '../../kernels/cam.ts';
import { mul } from '../../kernels/elementwise.ts';
import { gradientMaps, layerGradientMaps, upsample } from '../paths.ts';
import { defineCamMethod } from './define.ts';
import { gradcam } from './gradcam.ts';

export const GUIDED_WARNING =
  'guided-gradcam: Adebayo et al. 2018 ("Sanity Checks for Saliency Maps") found Guided Backpropagation and ' +
  'Guided Grad-CAM nearly unchanged when a trained Inception v3 was randomised: the detail may reflect the image more than the model; compare with gradcam';

export const guidedGradcam = defineCamMethod({
  name: 'guided-gradcam',
  cite: 'Selvaraju et al. 2017, Grad-CAM, Sec. 3.1 (Guided Grad-CAM)',
  needs: 'gradients',
  // The guided gradient's reduction at the input: max_c |g| (as saliency).
  weighting: { key: 'absmax', pixel: 'abs(g)', pixelMax: true },
  warnings: [GUIDED_WARNING],
  // gb:(R,H,W) guided backprop to the input; cams:(R,h,w) Grad-CAM, up-sampled to (H,W); map = normalise(gb ⊙ Up(cams)).
  run(ctx) {
    const cams = layerGradientMaps(ctx, gradcam.weighting);
    const gb = gradientMaps(ctx.model, ctx.head, ctx.x, ctx.plan, null, ctx.method.weighting!, { kk: ctx.kk, guided: true });
    const up = upsample(cams.maps.map, ctx.size);
    return { maps: normalizeMaps(mul(gb.maps[0]!.map, up)), top: cams.top };
  },
});
