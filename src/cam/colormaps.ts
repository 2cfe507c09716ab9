// Colour maps for heat-map overlays (jet, turbo, viridis, inferno) as 256-entry RGB8 tables,
// generated at load time from their published definitions rather than pasted tables.

export type ColormapName = 'jet' | 'turbo' | 'viridis' | 'inferno';
export const COLORMAPS: readonly ColormapName[] = ['jet', 'turbo', 'viridis', 'inferno'];

/** r, g, b in [0, 1] (unclamped) for t in [0, 1]. */
type Rgb = [number, number, number];

// matplotlib's jet (matplotlib/_cm.py, `_jet_data`): piecewise-linear segments (x, value).
const JET: Record<'r' | 'g' | 'b', [number, number][]> = {
  r: [[0, 0], [0.35, 0], [0.66, 1], [0.89, 1], [1, 0.5]],
  g: [[0, 0], [0.125, 0], [0.375, 1], [0.64, 1], [0.91, 0], [1, 0]],
  b: [[0, 0.5], [0.11, 1], [0.34, 1], [0.65, 0], [1, 0]],
};

function piecewise(points: [number, number][], t: number): number {
  for (let i = 1; i < points.length; i++) {
    const [x1, v1] = points[i]!;
    if (t <= x1) {
      const [x0, v0] = points[i - 1]!;
      return v0 + ((v1 - v0) * (t - x0)) / (x1 - x0);
    }
  }
  return points[points.length - 1]![1];
}

/** matplotlib's jet at t (the segment data above, sampled as LinearSegmentedColormap does). */
export function jetRgb(t: number): Rgb {
  return [piecewise(JET.r, t), piecewise(JET.g, t), piecewise(JET.b, t)];
}

// Turbo (Anton Mikhailov, Google, 2019: "Turbo, an improved rainbow colormap for
// visualization"): every 8th entry (and the last) of the published 256-entry table
// (gist.github.com/mikhailov-work/ee72ba4191942acecc03fe6da94fc73f, Apache-2.0), interpolated
// linearly; within about 1/255 of the full table. (The published polynomial approximation is off
// by up to 0.12 at the ends, so it is not used.)
const TURBO_AT = [...Array.from({ length: 32 }, (_, i) => 8 * i), 255];
const TURBO: Rgb[] = [
  [0.18995, 0.07176, 0.23217], [0.225, 0.16354, 0.45096], [0.25107, 0.25237, 0.63374], [0.26816, 0.33825, 0.7805],
  [0.27628, 0.42118, 0.89123], [0.27543, 0.50115, 0.96594], [0.25862, 0.57958, 0.99876], [0.21382, 0.65886, 0.97959],
  [0.15844, 0.73551, 0.92305], [0.11167, 0.80569, 0.84525], [0.09267, 0.86554, 0.7623], [0.12014, 0.91193, 0.6866],
  [0.19659, 0.94901, 0.59466], [0.30513, 0.97697, 0.48987], [0.42778, 0.99419, 0.38575], [0.54658, 0.99907, 0.29581],
  [0.64362, 0.98999, 0.23356], [0.72596, 0.9647, 0.2064], [0.80473, 0.92452, 0.20459], [0.8753, 0.87267, 0.21555],
  [0.93301, 0.81236, 0.22667], [0.97323, 0.74682, 0.22536], [0.99314, 0.67408, 0.20348], [0.99593, 0.58703, 0.16899],
  [0.9836, 0.49291, 0.12849], [0.95801, 0.39958, 0.08831], [0.92105, 0.31489, 0.05475], [0.87422, 0.24526, 0.03297],
  [0.81608, 0.18462, 0.01809], [0.74617, 0.13098, 0.00851], [0.66449, 0.08436, 0.00424], [0.57103, 0.04474, 0.00529],
  [0.4796, 0.01583, 0.01055],
];

/** Google's Turbo at t (the published table's control points, linearly interpolated). */
export function turboRgb(t: number): Rgb {
  const out: Rgb = [0, 0, 0];
  for (let k = 0; k < 3; k++) out[k] = piecewise(TURBO.map((c, i) => [TURBO_AT[i]! / 255, c[k]!]), Math.min(1, Math.max(0, t)));
  return out;
}

// viridis and inferno (Stéfan van der Walt and Nathaniel Smith, matplotlib 1.5/2.0): Matt Zucker's
// degree-6 minimax polynomial fits (shadertoy.com/view/WlfXRN) to the CC0 tables in
// github.com/BIDS/colormap/colormaps.py; measured against matplotlib's table: within 0.013 at
// t = 0.5 and 0.035 at the ends (inferno's blue at 0 is the worst), which a heat map does not show.
// Rows are c0..c6 of c0 + t·(c1 + t·(c2 + …)), each (r, g, b).
const VIRIDIS: Rgb[] = [
  [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
  [0.1050930431085774, 1.404613529898575, 1.384590162594685],
  [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
  [-4.634230498983486, -5.799100973351585, -19.33244095627987],
  [6.228269936347081, 14.17993336680509, 56.69055260068105],
  [4.776384997670288, -13.74514537774601, -65.35303263337234],
  [-5.435455855934631, 4.645852612178535, 26.3124352495832],
];
const INFERNO: Rgb[] = [
  [0.0002189403691192265, 0.001651004631001012, -0.01948089843709184],
  [0.1065134194856116, 0.5639564367884091, 3.932712388889277],
  [11.60249308247187, -3.972853965665698, -15.9423941062914],
  [-41.70399613139459, 17.43639888205313, 44.35414519872813],
  [77.162935699427, -33.40235894210092, -81.80730925738993],
  [-71.31942824499214, 32.62606426397723, 73.20951985803202],
  [25.13112622477341, -12.24266895238567, -23.07032500287172],
];

function horner(c: Rgb[], t: number): Rgb {
  const out: Rgb = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    let v = 0;
    for (let i = c.length - 1; i >= 0; i--) v = v * t + c[i]![k]!;
    out[k] = v;
  }
  return out;
}

/** matplotlib's viridis at t (Zucker's polynomial fit). */
export function viridisRgb(t: number): Rgb {
  return horner(VIRIDIS, t);
}

/** matplotlib's inferno at t (Zucker's polynomial fit). */
export function infernoRgb(t: number): Rgb {
  return horner(INFERNO, t);
}

const FORMULAS: Record<ColormapName, (t: number) => Rgb> = { jet: jetRgb, turbo: turboRgb, viridis: viridisRgb, inferno: infernoRgb };
const cache = new Map<ColormapName, Uint8Array>();

/**
 * The colour map as a 256×3 RGB8 table: entry i is the map at t = i/255, clamped and rounded
 * (as matplotlib samples a 256-colour map). Unknown names throw, listing the known ones.
 * @example
 *   const lut = colormapLut('turbo'); const [r, g, b] = lut.subarray(3 * 255, 3 * 256); // t = 1
 */
export function colormapLut(name: ColormapName): Uint8Array {
  const hit = cache.get(name);
  if (hit) return hit;
  const f = FORMULAS[name];
  if (!f) throw new RangeError(`unknown colormap '${String(name)}'; use one of ${COLORMAPS.join(', ')}`);
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const rgb = f(i / 255);
    for (let k = 0; k < 3; k++) lut[3 * i + k] = Math.round(255 * Math.min(1, Math.max(0, rgb[k]!)));
  }
  cache.set(name, lut);
  return lut;
}

/**
 * The table index of a value in [0, 1]: round(v·255), clamped; NaN maps to 0.
 * @example
 *   lutIndex(0.5); // 128
 */
export function lutIndex(v: number): number {
  if (!(v > 0)) return 0;
  return v >= 1 ? 255 : Math.round(v * 255);
}
