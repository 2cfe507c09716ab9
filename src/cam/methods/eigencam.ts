// Eigen-CAM: Muhammad & Yeasin 2020, "Eigen-CAM: Class Activation Map using Principal
// Components", Eq. 4–5: the map is the projection of the (h·w, C) activations on their first
// right singular vector v₁, map = ReLU(A·v₁) (not centred, as the paper; pytorch-grad-cam centres
// first). v₁ comes from power iteration on the smaller Gram matrix, on the device; its sign is
// chosen so that the map correlates positively with the mean activation. Class-agnostic.
import type { CamMethod } from '../types.ts';

export const eigencam: CamMethod = {
  name: 'eigencam',
  cite: 'Muhammad & Yeasin 2020, Eigen-CAM, Eq. 4-5',
  kind: 'eigen',
  weighting: { key: 'given', channel: 'w = given(c);' },
  signFix: true,
};
