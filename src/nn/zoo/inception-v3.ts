// Inception-v3 (Szegedy et al. 2016, "Rethinking the Inception Architecture for Computer
// Vision", Table 1) as keras.applications.InceptionV3 builds it in Keras 2 (TF 2): every
// conv2d_bn is Conv2D (no bias) → BatchNormalization (scale=False) → Activation('relu') with
// Keras's automatic names (conv2d, conv2d_1, …), blocks named mixed0 … mixed10, head avg_pool
// and predictions.
import { Model } from '../model.ts';
import { checkInput, conv, KerasGraph, pool, type ApplicationOptions, applicationHead } from './keras-graph.ts';

/**
 * InceptionV3 (weights not allocated: initWeights() or a loader). Inputs from 75×75 up.
 * @example
 *   const m = inceptionV3({ inputShape: [299, 299, 3] });   // m.getLayer('mixed10')
 */
export function inceptionV3(o: ApplicationOptions = {}): Model {
  const { inputShape = [299, 299, 3] } = o;
  checkInput('inception_v3', inputShape, 75);
  const g = new KerasGraph('inception_v3');
  const bn = (x: string, filters: number, rows: number, cols: number, padding: 'same' | 'valid' = 'same', strides = 1): string => {
    const c = g.add('Conv2D', conv(filters, [rows, cols], { strides, padding, useBias: false }), x);
    const b = g.add('BatchNormalization', { axis: 3, momentum: 0.99, epsilon: 1e-3, center: true, scale: false }, c);
    return g.add('Activation', { activation: 'relu' }, b);
  };
  const avg = (x: string) => g.add('AveragePooling2D', pool(3, 1, 'same'), x);
  const maxp = (x: string) => g.add('MaxPooling2D', pool(3, 2), x);
  const cat = (xs: string[], name?: string) => g.add('Concatenate', { axis: 3 }, xs, name);

  let x = g.input(inputShape);
  x = bn(x, 32, 3, 3, 'valid', 2);
  x = bn(x, 32, 3, 3, 'valid');
  x = bn(x, 64, 3, 3);
  x = maxp(x);
  x = bn(x, 80, 1, 1, 'valid');
  x = bn(x, 192, 3, 3, 'valid');
  x = maxp(x);

  // mixed 0, 1, 2: 35 × 35 × 256/288 (at 299)
  for (const [i, poolFilters] of [32, 64, 64].entries()) {
    const b1 = bn(x, 64, 1, 1);
    const b5 = bn(bn(x, 48, 1, 1), 64, 5, 5);
    const b3 = bn(bn(bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3);
    const bp = bn(avg(x), poolFilters, 1, 1);
    x = cat([b1, b5, b3, bp], `mixed${i}`);
  }
  // mixed 3: 17 × 17 × 768
  {
    const b3 = bn(x, 384, 3, 3, 'valid', 2);
    const bd = bn(bn(bn(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, 'valid', 2);
    const bp = maxp(x);
    x = cat([b3, bd, bp], 'mixed3');
  }
  // mixed 4, 5, 6, 7: 17 × 17 × 768 with factorised 7×7 convolutions
  for (const [i, f] of [128, 160, 160, 192].entries()) {
    const b1 = bn(x, 192, 1, 1);
    const b7 = bn(bn(bn(x, f, 1, 1), f, 1, 7), 192, 7, 1);
    const bd = bn(bn(bn(bn(bn(x, f, 1, 1), f, 7, 1), f, 1, 7), f, 7, 1), 192, 1, 7);
    const bp = bn(avg(x), 192, 1, 1);
    x = cat([b1, b7, bd, bp], `mixed${4 + i}`);
  }
  // mixed 8: 8 × 8 × 1280
  {
    const b3 = bn(bn(x, 192, 1, 1), 320, 3, 3, 'valid', 2);
    const b7 = bn(bn(bn(bn(x, 192, 1, 1), 192, 1, 7), 192, 7, 1), 192, 3, 3, 'valid', 2);
    const bp = maxp(x);
    x = cat([b3, b7, bp], 'mixed8');
  }
  // mixed 9, 10: 8 × 8 × 2048 with expanded filter banks
  for (let i = 0; i < 2; i++) {
    const b1 = bn(x, 320, 1, 1);
    const b3 = bn(x, 384, 1, 1);
    const b3cat = cat([bn(b3, 384, 1, 3), bn(b3, 384, 3, 1)], `mixed9_${i}`);
    const bd = bn(bn(x, 448, 1, 1), 384, 3, 3);
    const bdcat = cat([bn(bd, 384, 1, 3), bn(bd, 384, 3, 1)]);
    const bp = bn(avg(x), 192, 1, 1);
    x = cat([b1, b3cat, bdcat, bp], `mixed${9 + i}`);
  }
  x = applicationHead(g, x, o, { topPool: 'avg_pool' });
  return Model.fromKerasConfig(g.topology(x));
}
