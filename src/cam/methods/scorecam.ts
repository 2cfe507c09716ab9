// Score-CAM: Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for Convolutional
// Neural Networks", Eq. 6–8: each channel's up-sampled, min-max normalised map masks the input;
// the channel's weight is the target's score on that masked input, softmax-normalised over the
// channels (as pytorch-grad-cam, scores are pre-softmax logits); map = ReLU(Σ_c w_c A_c). No
// gradients: one forward pass per channel, in batches.
import type { CamMethod } from '../types.ts';

export const scorecam: CamMethod = {
  name: 'scorecam',
  cite: 'Wang et al. 2020, Score-CAM, Eq. 6-8',
  kind: 'score',
  weighting: { key: 'given', channel: 'w = given(c);' },
};
