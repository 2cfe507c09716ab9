// XGrad-CAM: Fu et al. 2020, "Axiom-based Grad-CAM: Towards Accurate Visualization and
// Explanation of CNNs", Eq. 16: w_c = Σ_hw (A_hwc / Σ_ab A_abc) · ∂y/∂A_hwc (ε = 1e-7 as
// pytorch-grad-cam), map = ReLU(Σ_c w_c A_c).
import { defineCamMethod } from './define.ts';

export const xgradcam = defineCamMethod({
  name: 'xgradcam',
  cite: 'Fu et al. 2020, XGrad-CAM, Eq. 16',
  needs: 'gradients',
  weighting: {
    key: 'xgradcam',
    channel: `var sa = 0.0;
  for (var p = 0u; p < u.P; p++) { sa += act(p, c); }
  for (var p = 0u; p < u.P; p++) { w += act(p, c) * grad(p, c); }
  w = w / (sa + 1e-7);`,
  },
});
