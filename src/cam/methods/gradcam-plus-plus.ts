// Grad-CAM++: Chattopadhay et al. 2018, "Grad-CAM++: Improved Visual Explanations for Deep
// Convolutional Networks", Eq. 19 with the exponential score S = exp(Y): the higher derivatives
// become powers of the first, α_hwc = g² / (2g² + Σ_ab A_abc · g³) (g = ∂Y/∂A_hwc; 0 where g = 0)
// and w_c = Σ_hw α_hwc · ReLU(g) (Eq. 10; the common factor exp(Y) cancels in the normalised
// map). ε = 1e-6 in α's denominator, pytorch-grad-cam's GradCAMPlusPlus constant (the paper has
// none; with g² ≈ ε on global-average-pooled heads the choice moves the map, so it follows the
// reference implementation). Measured against pytorch-grad-cam: docs/METHODS.md.
import { defineCamMethod } from './define.ts';

export const gradcamPlusPlus = defineCamMethod({
  name: 'gradcam++',
  cite: 'Chattopadhay et al. 2018, Grad-CAM++, Eq. 19 (exp score) and Eq. 10',
  needs: 'gradients',
  weighting: {
    key: 'gradcam++',
    channel: `var sa = 0.0;
  for (var p = 0u; p < u.P; p++) { sa += act(p, c); }
  for (var p = 0u; p < u.P; p++) {
    let g = grad(p, c);
    let g2 = g * g;
    let alpha = select(0.0, g2 / (2.0 * g2 + sa * g2 * g + 1e-6), g != 0.0);
    w += alpha * max(g, 0.0);
  }`,
  },
});
