// Host-side helpers the metrics share: a map type structurally equal to the CAM API's CamMap, and
// bilinear up-sampling of a layer-resolution map into the input's pixel frame.
import { ShapeError } from '../../gpu/errors.ts';

/** A 2-D map in row-major order (the CAM API's CamMap; any array-like of numbers is read). */
export interface MapLike {
  height: number;
  width: number;
  values: ArrayLike<number>;
}

/**
 * Checks a map's fields and that values holds height·width entries (throws a ShapeError naming `what`).
 * @example
 *   checkMap(result.images[0].map, 'pointingGame');
 */
export function checkMap(map: MapLike, what: string): void {
  const { height: h, width: w } = map;
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new ShapeError(`${what}: map size ${h}×${w} is not two positive integers`);
  }
  if (map.values.length !== h * w) {
    throw new ShapeError(`${what}: map is ${h}×${w} but holds ${map.values.length} values (want ${h * w}); pass { height, width, values } in row-major order`);
  }
}

/**
 * Bilinear resize of a map on the host, with TensorFlow 2's half-pixel centres (the convention
 * tf.image.resize and Keras's Resizing use; edge pixels replicated): src = (dst + ½)·in/out − ½.
 * Computed in float64; a map already at the size is copied.
 * @example
 *   const big = resizeMap({ height: 7, width: 7, values: cam }, 224, 224);
 */
export function resizeMap(map: MapLike, height: number, width: number): { height: number; width: number; values: Float64Array } {
  checkMap(map, 'resizeMap');
  if (!Number.isInteger(height) || !Number.isInteger(width) || height <= 0 || width <= 0) {
    throw new ShapeError(`resizeMap: target size ${height}×${width} is not two positive integers`);
  }
  const { height: h, width: w, values: v } = map;
  const out = new Float64Array(height * width);
  if (h === height && w === width) {
    for (let i = 0; i < out.length; i++) out[i] = v[i]!;
    return { height, width, values: out };
  }
  const axis = (n: number, len: number) => {
    const lo = new Int32Array(n), hi = new Int32Array(n), t = new Float64Array(n);
    for (let o = 0; o < n; o++) {
      const f = Math.max(0, ((o + 0.5) * len) / n - 0.5);
      const l = Math.min(Math.floor(f), len - 1);
      lo[o] = l;
      hi[o] = Math.min(l + 1, len - 1);
      t[o] = f - l;
    }
    return { lo, hi, t };
  };
  const ry = axis(height, h), rx = axis(width, w);
  for (let y = 0; y < height; y++) {
    const r0 = ry.lo[y]! * w, r1 = ry.hi[y]! * w, ty = ry.t[y]!;
    for (let x = 0; x < width; x++) {
      const c0 = rx.lo[x]!, c1 = rx.hi[x]!, tx = rx.t[x]!;
      const top = v[r0 + c0]! + (v[r0 + c1]! - v[r0 + c0]!) * tx;
      const bottom = v[r1 + c0]! + (v[r1 + c1]! - v[r1 + c0]!) * tx;
      out[y * width + x] = top + (bottom - top) * ty;
    }
  }
  return { height, width, values: out };
}

/**
 * The map scaled to [0, 1] by its minimum and maximum (a constant map becomes all zeros), in float64.
 * @example
 *   const m = minMaxNormalise([2, 4, 6]);   // [0, 0.5, 1]
 */
export function minMaxNormalise(values: ArrayLike<number>): Float64Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x < lo) lo = x;
    if (x > hi) hi = x;
  }
  const out = new Float64Array(values.length);
  const span = hi - lo;
  if (!(span > 0)) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i]! - lo) / span;
  return out;
}
