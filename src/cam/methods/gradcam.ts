// Grad-CAM: Selvaraju et al. 2017, "Grad-CAM: Visual Explanations from Deep Networks via
// Gradient-based Localization", Eq. 1–2: α_c = (1/Z) Σ_hw ∂y/∂A_hwc, map = ReLU(Σ_c α_c A_c).
import { defineCamMethod } from './define.ts';

export const gradcam = defineCamMethod({
  name: 'gradcam',
  cite: 'Selvaraju et al. 2017, Grad-CAM, Eq. 1-2',
  needs: 'gradients',
  weighting: {
    key: 'gradcam',
    // α_c: the gradient averaged over the h·w positions (global average pooling of dA).
    channel: 'for (var p = 0u; p < u.P; p++) { w += grad(p, c); }\n  w = w / f32(u.P);',
  },
});
