// Heat maps as pictures: a CAM coloured through a colour map, or laid over the photo it explains
// (colour blend, or the seed's style: each pixel's brightness weighted by its importance).
import { encodePng, type RgbaImage } from '../io/image.ts';
import { colormapLut, COLORMAPS, lutIndex, type ColormapName } from './colormaps.ts';
import { resizeBilinearHost, type CropBox } from './prepare.ts';

/** A map of values in [0, 1] (structurally a CamMap from cam/index.ts). */
export interface HeatMap {
  height: number;
  width: number;
  values: ArrayLike<number>;
}

export type OverlayStyle = 'blend' | 'intensity';

export interface OverlayOptions {
  /** Default 'jet' (as pytorch-grad-cam and keras-vis draw CAMs). Unused by 'intensity'. */
  colormap?: ColormapName;
  /** Weight of the colour in 'blend' (0: the photo unchanged, 1: only the heat map); default 0.5. */
  opacity?: number;
  /** 'blend' (default): photo·(1 − opacity) + colour·opacity. 'intensity': photo·(floor + (1 − floor)·map). */
  style?: OverlayStyle;
  /** ε of 'intensity': the brightness left where the map is 0 (default 0.2, so the context stays visible). */
  floor?: number;
  /** Where the map lies in the image (the crop the model saw); outside it the map counts as 0. Default: all of it. */
  region?: CropBox;
}

function checkMap(map: HeatMap, what: string): void {
  if (!(Number.isInteger(map.height) && Number.isInteger(map.width) && map.height > 0 && map.width > 0) || map.values.length !== map.height * map.width) {
    throw new RangeError(`${what}: the map's ${map.values.length} values are not ${map.height}×${map.width}`);
  }
}

function checkColormap(name: unknown): ColormapName {
  if (typeof name === 'string' && (COLORMAPS as readonly string[]).includes(name)) return name as ColormapName;
  throw new RangeError(`colormap: unknown colormap ${JSON.stringify(name)}; use one of ${COLORMAPS.join(', ')}`);
}

/**
 * The map coloured through a colour map, at the map's own resolution (opaque).
 * Values are clamped to [0, 1]; NaN counts as 0.
 * @example
 *   const img = heatmapRgba(result.images[0].map, 'turbo'); // 7×7 RgbaImage
 */
export function heatmapRgba(map: HeatMap, colormap: ColormapName = 'jet'): RgbaImage {
  checkMap(map, 'heatmapRgba');
  const lut = colormapLut(checkColormap(colormap));
  const n = map.height * map.width;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) {
    const k = 3 * lutIndex(map.values[i]!);
    data[4 * i] = lut[k]!;
    data[4 * i + 1] = lut[k + 1]!;
    data[4 * i + 2] = lut[k + 2]!;
    data[4 * i + 3] = 255;
  }
  return { width: map.width, height: map.height, data };
}

/**
 * The map bilinearly resized to height × width (half-pixel centres, as tf.image.resize), on the host.
 * @example
 *   upsampleMap({ height: 7, width: 7, values }, 224, 224).values.length; // 50176
 */
export function upsampleMap(map: HeatMap, height: number, width: number): { height: number; width: number; values: Float32Array } {
  checkMap(map, 'upsampleMap');
  return { height, width, values: resizeBilinearHost(map.values, map.height, map.width, 1, height, width) };
}

/**
 * The photo with the map laid over it, at the photo's size (the map, at any resolution, is
 * bilinearly up-sampled to the photo, or to `region`). The photo's alpha is kept.
 * @example
 *   const out = overlay(photo, result.images[0].map, { colormap: 'jet', opacity: 0.4 });
 *   const dim = overlay(photo, result.images[0].map, { style: 'intensity' });
 */
export function overlay(image: RgbaImage, map: HeatMap, opts: OverlayOptions = {}): RgbaImage {
  const { colormap = 'jet', opacity = 0.5, style = 'blend', floor = 0.2 } = opts;
  const { width: W, height: H } = image;
  if (!(W > 0 && H > 0) || image.data.length !== W * H * 4) throw new RangeError(`overlay: the image's data (${image.data.length} bytes) is not ${W}×${H} RGBA`);
  checkMap(map, 'overlay');
  if (style !== 'blend' && style !== 'intensity') throw new RangeError(`overlay: style must be 'blend' or 'intensity', got ${JSON.stringify(style)}`);
  if (!(opacity >= 0 && opacity <= 1)) throw new RangeError(`overlay: opacity must be in [0, 1], got ${opacity}`);
  if (!(floor >= 0 && floor <= 1)) throw new RangeError(`overlay: floor must be in [0, 1], got ${floor}`);
  const r = opts.region ?? { top: 0, left: 0, height: H, width: W };
  if (!(r.top >= 0 && r.left >= 0 && r.height > 0 && r.width > 0 && r.top + r.height <= H && r.left + r.width <= W)) {
    throw new RangeError(`overlay: region ${JSON.stringify(r)} is not inside the ${W}×${H} image`);
  }
  const lut = colormapLut(checkColormap(colormap));
  const up = map.height === r.height && map.width === r.width ? map.values : resizeBilinearHost(map.values, map.height, map.width, 1, r.height, r.width);
  const src = image.data;
  const out = new Uint8ClampedArray(src.length);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const inside = y >= r.top && y < r.top + r.height && x >= r.left && x < r.left + r.width;
      const raw = inside ? up[(y - r.top) * r.width + (x - r.left)]! : 0;
      const m = raw > 0 ? Math.min(raw, 1) : 0; // clamps, NaN → 0
      const o = 4 * i;
      if (style === 'blend') {
        const k = 3 * lutIndex(m);
        for (let c = 0; c < 3; c++) out[o + c] = (1 - opacity) * src[o + c]! + opacity * lut[k + c]!;
      } else {
        const w = floor + (1 - floor) * m;
        for (let c = 0; c < 3; c++) out[o + c] = src[o + c]! * w;
      }
      out[o + 3] = src[o + 3]!;
    }
  }
  return { width: W, height: H, data: out };
}

/**
 * overlay() encoded as PNG bytes.
 * @example
 *   writeFileSync('cat.cam.png', overlayPng(photo, result.images[0].map, { opacity: 0.5 }));
 */
export function overlayPng(image: RgbaImage, map: HeatMap, opts: OverlayOptions = {}): Uint8Array {
  return encodePng(overlay(image, map, opts));
}
