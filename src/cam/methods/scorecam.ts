// Score-CAM: Wang et al. 2020, "Score-CAM: Score-Weighted Visual Explanations for Convolutional
// Neural Networks", Eq. 6–8: each channel's up-sampled, min-max normalised map masks the input;
// the channel's weight is the target's score on that masked input, softmax-normalised over the
// channels (as pytorch-grad-cam, scores are pre-softmax logits); map = ReLU(Σ_c w_c A_c). No
// gradients: one forward pass per channel, in batches.
import { combineLayers, layerActivations, scoreMaps } from '../paths.ts';
import { defineCamMethod } from './define.ts';

export const scorecam = defineCamMethod({
  name: 'scorecam',
  cite: 'Wang et al. 2020, Score-CAM, Eq. 6-8',
  // Forward passes only; the masked passes score fixed classes, so cam() fixes them on the host first.
  needs: 'activations',
  weighting: { key: 'given', channel: 'w = given(c);' },
  async run(ctx) {
    const per = [];
    for (const a of layerActivations(ctx)) {
      per.push(await scoreMaps(ctx.model, ctx.head, ctx.x, a, ctx.hostTargets!, ctx.K, ctx.options.scoreCamBatch, ctx.method.weighting!));
    }
    return { maps: combineLayers(per, ctx.size), top: null };
  },
});
