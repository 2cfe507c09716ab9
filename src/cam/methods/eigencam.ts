// Eigen-CAM: Muhammad & Yeasin 2020, "Eigen-CAM: Class Activation Map using Principal
// Components", Eq. 4–5: the map is the projection of the (h·w, C) activations on their first
// right singular vector v₁, map = ReLU(A·v₁). By default the activations are centred first
// (each channel's mean over positions subtracted), as pytorch-grad-cam's get_2d_projection;
// `eigenCentring: 'uncentred'` projects A itself, as the paper's Eq. 4. v₁ comes from power
// iteration on the smaller Gram matrix, on the device. A singular vector's sign is arbitrary
// (pytorch-grad-cam keeps LAPACK's); camlight chooses the sign that makes the map correlate
// positively with the channel sum Σ_c A_hwc. Class-agnostic.
import { eigenMaps, layerActivations, combineLayers } from '../paths.ts';
import { defineCamMethod } from './define.ts';

export const eigencam = defineCamMethod({
  name: 'eigencam',
  cite: 'Muhammad & Yeasin 2020, Eigen-CAM, Eq. 4-5',
  needs: 'activations',
  // The projection's weights v₁ are given per row; camReduce applies them with the sign fix.
  weighting: { key: 'given', channel: 'w = given(c);' },
  run(ctx) {
    const per = layerActivations(ctx).map((a) => eigenMaps(a, ctx.K, ctx.method.weighting!, { centred: ctx.options.centred }));
    return { maps: combineLayers(per, ctx.size), top: null };
  },
});
