// LayerCAM: Jiang et al. 2021, "LayerCAM: Exploring Hierarchical Class Activation Maps for
// Localization", Eq. 5–6: map_hw = ReLU(Σ_c ReLU(∂y/∂A_hwc) · A_hwc): each position's own positive
// gradient weights it, which keeps fine detail on shallow layers.
import { defineCamMethod } from './define.ts';

export const layercam = defineCamMethod({
  name: 'layercam',
  cite: 'Jiang et al. 2021, LayerCAM, Eq. 5-6',
  needs: 'gradients',
  weighting: { key: 'layercam', pixel: 'max(g, 0.0) * a' },
});
