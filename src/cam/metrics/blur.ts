// A separable Gaussian blur of one NHWC image on the host: the "blurred canvas" the insertion
// metric starts from (Petsiuk et al. 2018), and an optional deletion baseline.

export interface BlurOptions {
  /** Standard deviation in pixels (default 5, as RISE's evaluation code: gkern(klen=11, nsig=5)). */
  sigma?: number;
  /** Kernel half-width in pixels (default 5: an 11-tap kernel, as RISE's klen = 11). */
  radius?: number;
}

/**
 * Blurs an (H, W, C) row-major image with a Gaussian of σ = `sigma` truncated to 2·radius + 1 taps
 * per axis. At the borders the weights that fall inside the image are renormalised to sum to 1
 * (RISE pads with zeros, which darkens the border; renormalising keeps a constant image constant).
 * @example
 *   const canvas = gaussianBlur(pixels, 224, 224, 3, { sigma: 5, radius: 5 });
 */
export function gaussianBlur(image: ArrayLike<number>, height: number, width: number, channels: number, opts: BlurOptions = {}): Float32Array {
  const sigma = opts.sigma ?? 5, radius = opts.radius ?? 5;
  if (!(sigma > 0) || !Number.isInteger(radius) || radius < 0) {
    throw new RangeError(`gaussianBlur: sigma ${sigma} must be positive and radius ${radius} a non-negative integer`);
  }
  if (image.length !== height * width * channels) {
    throw new RangeError(`gaussianBlur: image holds ${image.length} values, ${height}×${width}×${channels} needs ${height * width * channels}`);
  }
  const g = new Float64Array(2 * radius + 1);
  for (let i = -radius; i <= radius; i++) g[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
  // Blur along one axis: `len` positions of stride `step` within lines starting at `starts`.
  const pass = (src: Float64Array, dst: Float64Array, lines: number, len: number, lineStride: number, step: number) => {
    for (let l = 0; l < lines; l++) {
      const base = Math.floor(l / channels) * lineStride + (l % channels);
      for (let p = 0; p < len; p++) {
        let s = 0, wsum = 0;
        for (let k = Math.max(-radius, -p); k <= Math.min(radius, len - 1 - p); k++) {
          const wk = g[k + radius]!;
          s += wk * src[base + (p + k) * step]!;
          wsum += wk;
        }
        dst[base + p * step] = s / wsum;
      }
    }
  };
  const a = Float64Array.from(image);
  const b = new Float64Array(a.length);
  // Rows: lines are (y, c), positions x with stride C; then columns: lines are (x, c), positions y with stride W·C.
  pass(a, b, height * channels, width, width * channels, channels);
  pass(b, a, width * channels, height, channels, width * channels);
  return Float32Array.from(a);
}
