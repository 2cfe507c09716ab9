// A tiny RGBA canvas for the report's pictures: rectangles, up-scaling, pasting, and an
// anti-aliased path filler (exact-area coverage, as font-rs) that the text renderer fills glyphs with.
import type { RgbaImage } from '../io/image.ts';

/** An sRGB colour, 0–255 per channel. */
export type Rgb = readonly [number, number, number];

/** One drawing command of a vector path (the shape of opentype.js's path commands). */
export interface PathCommand {
  type: 'M' | 'L' | 'Q' | 'C' | 'Z';
  x?: number;
  y?: number;
  x1?: number;
  y1?: number;
  x2?: number;
  y2?: number;
}

/**
 * A new opaque image filled with one colour.
 * @example
 *   const img = canvas(224, 300, [255, 255, 255]);
 */
export function canvas(width: number, height: number, color: Rgb = [255, 255, 255]): RgbaImage {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`canvas: size ${width}×${height} must be two positive integers`);
  }
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < data.length; i += 4) {
    data[i] = color[0];
    data[i + 1] = color[1];
    data[i + 2] = color[2];
    data[i + 3] = 255;
  }
  return { width, height, data };
}

/**
 * Fills the rectangle [x, x + w) × [y, y + h) (clipped to the image; fractional edges are
 * rounded) with a colour, optionally blended with `alpha` in [0, 1].
 * @example
 *   fillRect(img, 10, 10, 50, 8, [200, 40, 40]);
 */
export function fillRect(img: RgbaImage, x: number, y: number, w: number, h: number, color: Rgb, alpha = 1): void {
  const x0 = Math.max(0, Math.round(x)), x1 = Math.min(img.width, Math.round(x + w));
  const y0 = Math.max(0, Math.round(y)), y1 = Math.min(img.height, Math.round(y + h));
  for (let yy = y0; yy < y1; yy++) {
    for (let xx = x0; xx < x1; xx++) blendPixel(img, (yy * img.width + xx) * 4, color, alpha);
  }
}

function blendPixel(img: RgbaImage, o: number, color: Rgb, a: number): void {
  const d = img.data;
  d[o] = d[o]! + (color[0] - d[o]!) * a;
  d[o + 1] = d[o + 1]! + (color[1] - d[o + 1]!) * a;
  d[o + 2] = d[o + 2]! + (color[2] - d[o + 2]!) * a;
  d[o + 3] = Math.max(d[o + 3]!, 255 * a);
}

/**
 * Copies `src` into `dst` with its top-left corner at (x, y), clipped to `dst`.
 * @example
 *   paste(frame, overlayImage, 0, 24);
 */
export function paste(dst: RgbaImage, src: RgbaImage, x: number, y: number): void {
  for (let sy = 0; sy < src.height; sy++) {
    const dy = y + sy;
    if (dy < 0 || dy >= dst.height) continue;
    const sx0 = Math.max(0, -x), sx1 = Math.min(src.width, dst.width - x);
    if (sx1 <= sx0) continue;
    dst.data.set(src.data.subarray((sy * src.width + sx0) * 4, (sy * src.width + sx1) * 4), (dy * dst.width + x + sx0) * 4);
  }
}

/**
 * The image resized to width × height: 'nearest' (keeps the pixels of a 28×28 digit crisp) or
 * 'bilinear' (half-pixel centres, edges replicated).
 * @example
 *   const big = resizeImage(img28, 224, 224, 'nearest');
 */
export function resizeImage(img: RgbaImage, width: number, height: number, mode: 'nearest' | 'bilinear' = 'nearest'): RgbaImage {
  const out = canvas(width, height);
  const { width: W, height: H, data: s } = img;
  const d = out.data;
  for (let y = 0; y < height; y++) {
    const fy = Math.min(H - 1, Math.max(0, ((y + 0.5) * H) / height - 0.5));
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if (mode === 'nearest') {
        const i = (Math.min(H - 1, Math.floor(((y + 0.5) * H) / height)) * W + Math.min(W - 1, Math.floor(((x + 0.5) * W) / width))) * 4;
        for (let c = 0; c < 4; c++) d[o + c] = s[i + c]!;
        continue;
      }
      const fx = Math.min(W - 1, Math.max(0, ((x + 0.5) * W) / width - 0.5));
      const x0 = Math.floor(fx), y0 = Math.floor(fy), x1 = Math.min(W - 1, x0 + 1), y1 = Math.min(H - 1, y0 + 1);
      const tx = fx - x0, ty = fy - y0;
      for (let c = 0; c < 4; c++) {
        const a = s[(y0 * W + x0) * 4 + c]! * (1 - tx) + s[(y0 * W + x1) * 4 + c]! * tx;
        const b = s[(y1 * W + x0) * 4 + c]! * (1 - tx) + s[(y1 * W + x1) * 4 + c]! * tx;
        d[o + c] = a * (1 - ty) + b * ty;
      }
    }
  }
  return out;
}

/** Path commands → closed polylines (curves flattened into `steps` segments each). */
function flatten(cmds: readonly PathCommand[], steps: number): number[][] {
  const polys: number[][] = [];
  let cur: number[] = [];
  let px = 0, py = 0, sx = 0, sy = 0;
  const close = () => {
    if (cur.length >= 6) polys.push(cur.concat([sx, sy]));
    cur = [];
  };
  for (const c of cmds) {
    const x = c.x ?? 0, y = c.y ?? 0;
    if (c.type === 'M') {
      close();
      cur = [x, y];
      sx = px = x;
      sy = py = y;
    } else if (c.type === 'L') {
      cur.push(x, y);
      px = x;
      py = y;
    } else if (c.type === 'Q' || c.type === 'C') {
      const x1 = c.x1 ?? 0, y1 = c.y1 ?? 0, x2 = c.x2 ?? x1, y2 = c.y2 ?? y1;
      for (let i = 1; i <= steps; i++) {
        const t = i / steps, u = 1 - t;
        if (c.type === 'Q') cur.push(u * u * px + 2 * u * t * x1 + t * t * x, u * u * py + 2 * u * t * y1 + t * t * y);
        else cur.push(u * u * u * px + 3 * u * u * t * x1 + 3 * u * t * t * x2 + t * t * t * x, u * u * u * py + 3 * u * u * t * y1 + 3 * u * t * t * y2 + t * t * t * y);
      }
      px = x;
      py = y;
    } else {
      close();
      px = sx;
      py = sy;
    }
  }
  close();
  return polys;
}

/**
 * Fills a vector path (glyph outlines, markers) with anti-aliasing: each pixel is blended by the
 * exact fraction of its area the path covers (signed-area accumulation, as in font-rs; overlapping
 * contours of the same direction count once, as the non-zero rule). Curves are flattened.
 * @example
 *   fillPath(img, [{ type: 'M', x: 0, y: 0 }, { type: 'L', x: 8, y: 4 }, { type: 'L', x: 0, y: 8 }, { type: 'Z' }], [0, 0, 0]);
 */
export function fillPath(img: RgbaImage, cmds: readonly PathCommand[], color: Rgb, alpha = 1): void {
  const polys = flatten(cmds, 8);
  let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
  for (const p of polys) {
    for (let i = 0; i < p.length; i += 2) {
      minX = Math.min(minX, p[i]!);
      maxX = Math.max(maxX, p[i]!);
      minY = Math.min(minY, p[i + 1]!);
      maxY = Math.max(maxY, p[i + 1]!);
    }
  }
  if (!(maxX > minX && maxY > minY)) return;
  const ox = Math.floor(minX), oy = Math.floor(minY);
  const bw = Math.ceil(maxX) - ox + 2, bh = Math.ceil(maxY) - oy + 1;
  if (bw * bh > 1 << 24) throw new RangeError(`fillPath: the path spans ${bw}×${bh} pixels; draw it in pieces`);
  const acc = new Float32Array(bw * bh + 2);
  for (const p of polys) {
    for (let i = 0; i + 3 < p.length; i += 2) accumulateLine(acc, bw, bh, p[i]! - ox, p[i + 1]! - oy, p[i + 2]! - ox, p[i + 3]! - oy);
  }
  let sum = 0;
  for (let by = 0; by < bh; by++) {
    for (let bx = 0; bx < bw; bx++) {
      sum += acc[by * bw + bx]!;
      const cover = Math.min(1, Math.abs(sum));
      const x = ox + bx, y = oy + by;
      if (cover > 1 / 512 && x >= 0 && y >= 0 && x < img.width && y < img.height) blendPixel(img, (y * img.width + x) * 4, color, cover * alpha);
    }
  }
}

// Adds the signed area a line segment contributes to each cell of the rows it crosses
// (Raph Levien's font-rs accumulation rasteriser); a running sum then gives the coverage.
function accumulateLine(a: Float32Array, w: number, h: number, x0: number, y0: number, x1: number, y1: number): void {
  if (Math.abs(y0 - y1) <= 1e-9) return;
  let dir = 1;
  if (y0 > y1) {
    dir = -1;
    [x0, y0, x1, y1] = [x1, y1, x0, y0];
  }
  const dxdy = (x1 - x0) / (y1 - y0);
  let x = x0;
  if (y0 < 0) x -= y0 * dxdy;
  for (let y = Math.max(0, Math.floor(y0)); y < Math.min(h, Math.ceil(y1)); y++) {
    const line = y * w;
    const dy = Math.min(y + 1, y1) - Math.max(y, y0);
    const xnext = x + dxdy * dy;
    const d = dy * dir;
    const lo = Math.min(x, xnext), hi = Math.max(x, xnext);
    const lof = Math.floor(lo), loi = lof;
    const hic = Math.ceil(hi), hii = hic;
    if (hii <= loi + 1) {
      const xmf = 0.5 * (x + xnext) - lof;
      a[line + loi] = a[line + loi]! + d - d * xmf;
      a[line + loi + 1] = a[line + loi + 1]! + d * xmf;
    } else {
      const s = 1 / (hi - lo);
      const x0f = lo - lof;
      const a0 = 0.5 * s * (1 - x0f) * (1 - x0f);
      const x1f = hi - hic + 1;
      const am = 0.5 * s * x1f * x1f;
      a[line + loi] = a[line + loi]! + d * a0;
      if (hii === loi + 2) a[line + loi + 1] = a[line + loi + 1]! + d * (1 - a0 - am);
      else {
        const a1 = s * (1.5 - x0f);
        a[line + loi + 1] = a[line + loi + 1]! + d * (a1 - a0);
        for (let xi = loi + 2; xi < hii - 1; xi++) a[line + xi] = a[line + xi]! + d * s;
        const a2 = a1 + (hii - loi - 3) * s;
        a[line + hii - 1] = a[line + hii - 1]! + d * (1 - a2 - am);
      }
      a[line + hii] = a[line + hii]! + d * am;
    }
    x = xnext;
  }
}
