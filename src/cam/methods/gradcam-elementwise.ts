// Grad-CAM element-wise: pytorch-grad-cam's GradCAMElementWise (no paper; the HiResCAM family):
// map_hw = Σ_c ReLU(∂y/∂A_hwc · A_hwc), each position-channel product clipped before the channel
// sum (HiResCAM clips only the sum), so negative evidence cannot cancel positive evidence.
import { defineCamMethod } from './define.ts';

export const gradcamElementwise = defineCamMethod({
  name: 'gradcam-elementwise',
  cite: "pytorch-grad-cam's GradCAMElementWise (Gildenblat et al., pytorch-grad-cam, 2021): HiResCAM's Eq. 3 with the ReLU inside the channel sum",
  needs: 'gradients',
  weighting: { key: 'gradcam-elementwise', pixel: 'max(g * a, 0.0)' },
});
