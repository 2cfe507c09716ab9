// Eigen-Grad-CAM: pytorch-grad-cam's EigenGradCAM (no paper of its own): Eigen-CAM's principal
// projection (Muhammad & Yeasin 2020, Eq. 4-5) applied to the gradient-weighted activations
// ∂y/∂A ⊙ A (HiResCAM's per-position product, Draelos & Carin 2020 Eq. 3) instead of A, so the
// map is class-specific: map = ReLU(±(M − mean_p M)·v₁) with M = ∂y/∂A ⊙ A, centred by default
// as pytorch-grad-cam; the sign as Eigen-CAM (correlating with M's channel sum, i.e. with
// HiResCAM's pre-ReLU map).
import { eigenGradMaps, layerGradientMaps } from '../paths.ts';
import { defineCamMethod } from './define.ts';

export const eigengradcam = defineCamMethod({
  name: 'eigengradcam',
  cite: "pytorch-grad-cam's EigenGradCAM: Eigen-CAM (Muhammad & Yeasin 2020, Eq. 4-5) on ∂y/∂A ⊙ A",
  needs: 'gradients',
  weighting: { key: 'given', channel: 'w = given(c);' },
  // The gradient path, each layer's (A, ∂y/∂A) reduced by the projection of their product.
  run(ctx) {
    const wt = ctx.method.weighting!;
    return layerGradientMaps(ctx, wt, (a, g) => eigenGradMaps(a, g, wt, { centred: ctx.options.centred }));
  },
});
