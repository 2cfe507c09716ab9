// HiResCAM: Draelos & Carin 2020, "Use HiResCAM instead of Grad-CAM for faithful explanations of
// convolutional neural networks", Eq. 3: map_hw = ReLU(Σ_c ∂y/∂A_hwc ⊙ A_hwc): the gradient
// multiplies the activations position by position instead of being averaged first.
import { defineCamMethod } from './define.ts';

export const hirescam = defineCamMethod({
  name: 'hirescam',
  cite: 'Draelos & Carin 2020, HiResCAM, Eq. 3',
  needs: 'gradients',
  weighting: { key: 'hirescam', pixel: 'g * a' },
});
