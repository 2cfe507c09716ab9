// Charts of the report: the top-3 probability bars under each animation frame (drawn into the
// frame's pixels) and the loss/accuracy curves of the HTML page (inline SVG).
import type { RgbaImage } from '../io/image.ts';
import { fillPath, fillRect, type Rgb } from './raster.ts';
import type { TextFont } from './text.ts';

/** One bar: a class, its probability, and whether it is the image's true class. */
export interface BarItem {
  label: string;
  prob: number;
  isTrue: boolean;
}

/** Colours and text size of the bar chart. */
export interface BarStyle {
  /** Text size in px. */
  size: number;
  bar?: Rgb;
  trueBar?: Rgb;
  track?: Rgb;
  text?: Rgb;
}

export const BAR_COLOR: Rgb = [70, 110, 190];
export const TRUE_BAR_COLOR: Rgb = [30, 150, 60];
const TRACK_COLOR: Rgb = [228, 228, 228];
const TEXT_COLOR: Rgb = [20, 20, 20];

/**
 * Height one bar row takes at text size `size` (the chart is rows × this).
 * @example
 *   barRowHeight(14);   // 22
 */
export function barRowHeight(size: number): number {
  return Math.round(size * 1.6);
}

/** Where the chart's parts start and end, given its left edge and width (also used by tests). */
export function barLayout(x: number, width: number, size: number, font: TextFont): { markerX: number; labelX: number; barX: number; barEnd: number; pctRight: number } {
  const pad = Math.max(2, Math.round(size * 0.3));
  const marker = Math.round(size * 0.8);
  const labelW = Math.round(width * 0.34);
  const pctW = Math.ceil(font.measure('100.0%', size));
  const labelX = x + pad + marker;
  const barX = labelX + labelW + pad;
  const pctRight = x + width - pad;
  return { markerX: x + pad, labelX, barX, barEnd: pctRight - pctW - pad, pctRight };
}

/**
 * Draws horizontal probability bars, one row per item from the top at y: a ▶ marker before the
 * true class, the class name, a bar on a grey 0–100 % track (the true class's in TRUE_BAR_COLOR)
 * and the percentage. Returns the height used.
 * @example
 *   drawBars(frame, 0, 250, 224, [{ label: 'Sneaker', prob: 0.9, isTrue: true }], font, { size: 14 });
 */
export function drawBars(img: RgbaImage, x: number, y: number, width: number, items: BarItem[], font: TextFont, style: BarStyle): number {
  const { size } = style;
  const row = barRowHeight(size);
  const L = barLayout(x, width, size, font);
  const text = style.text ?? TEXT_COLOR;
  const barH = Math.max(3, Math.round(size * 0.9));
  items.forEach((it, i) => {
    const top = y + i * row;
    const baseline = Math.round(top + (row + font.ascent(size) - font.descent(size)) / 2);
    const colour = it.isTrue ? (style.trueBar ?? TRUE_BAR_COLOR) : (style.bar ?? BAR_COLOR);
    if (it.isTrue) {
      const m = size * 0.7, cy = top + row / 2;
      fillPath(img, [
        { type: 'M', x: L.markerX, y: cy - m / 2 }, { type: 'L', x: L.markerX + m * 0.85, y: cy },
        { type: 'L', x: L.markerX, y: cy + m / 2 }, { type: 'Z' },
      ], colour);
    }
    font.draw(img, font.fit(it.label, L.barX - L.labelX - 2, size), L.labelX, baseline, size, it.isTrue ? colour : text);
    const by = Math.round(top + (row - barH) / 2);
    fillRect(img, L.barX, by, L.barEnd - L.barX, barH, style.track ?? TRACK_COLOR);
    const p = Number.isFinite(it.prob) ? Math.min(1, Math.max(0, it.prob)) : 0;
    fillRect(img, L.barX, by, (L.barEnd - L.barX) * p, barH, colour);
    font.draw(img, `${(100 * p).toFixed(1)}%`, L.pctRight, baseline, size, text, 'right');
  });
  return items.length * row;
}

/** One line of a line chart: a value per epoch (null where missing). */
export interface Series {
  name: string;
  values: (number | null)[];
  color: string;
}

export interface LineChartOptions {
  title: string;
  /** The x value of each point (default 1, 2, …). */
  x?: number[];
  xLabel?: string;
  width?: number;
  height?: number;
  /** Fixed y range (default: the data's, padded). */
  yRange?: [number, number];
  /** Format of the y tick labels (default: 3 significant digits). */
  yFormat?: (v: number) => string;
}

/** Escapes text for HTML/SVG element content and attribute values. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

/** About n round tick values covering [lo, hi]. */
function ticks(lo: number, hi: number, n: number): number[] {
  const span = hi - lo || 1;
  const raw = span / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

/**
 * A line chart as an inline SVG element (no scripts, no external assets): axes with ticks, one
 * polyline with point markers per series, a legend. Missing values break the line.
 * @example
 *   svgLineChart([{ name: 'train', values: [2.1, 1.2, 0.8], color: '#1f77b4' }], { title: 'loss' });
 */
export function svgLineChart(series: Series[], opts: LineChartOptions): string {
  const W = opts.width ?? 480, H = opts.height ?? 260;
  const m = { l: 52, r: 12, t: 28, b: 40 };
  const n = Math.max(0, ...series.map((s) => s.values.length));
  const xs = opts.x ?? Array.from({ length: n }, (_, i) => i + 1);
  const finite = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  let [lo, hi] = opts.yRange ?? [Math.min(...finite), Math.max(...finite)];
  if (!finite.length && !opts.yRange) [lo, hi] = [0, 1];
  if (!(hi > lo)) [lo, hi] = [lo - 0.5, hi + 0.5];
  const x0 = xs.length ? Math.min(...xs) : 0, x1 = xs.length ? Math.max(...xs) : 1;
  const px = (x: number) => m.l + ((x - x0) / (x1 - x0 || 1)) * (W - m.l - m.r);
  const py = (y: number) => H - m.b - ((y - lo) / (hi - lo)) * (H - m.t - m.b);
  const fmt = opts.yFormat ?? ((v: number) => String(Number(v.toPrecision(3))));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${escapeXml(opts.title)}" font-family="sans-serif" font-size="11">`);
  parts.push(`<rect width="${W}" height="${H}" fill="#fff"/>`);
  parts.push(`<text x="${W / 2}" y="17" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(opts.title)}</text>`);
  for (const t of ticks(lo, hi, 5)) {
    const y = py(t).toFixed(1);
    parts.push(`<line x1="${m.l}" x2="${W - m.r}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    parts.push(`<text x="${m.l - 5}" y="${y}" text-anchor="end" dominant-baseline="middle">${escapeXml(fmt(t))}</text>`);
  }
  const xt = xs.length <= 12 ? xs : ticks(x0, x1, 10);
  for (const t of xt) parts.push(`<text x="${px(t).toFixed(1)}" y="${H - m.b + 15}" text-anchor="middle">${escapeXml(String(t))}</text>`);
  parts.push(`<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/><line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>`);
  if (opts.xLabel) parts.push(`<text x="${(m.l + W - m.r) / 2}" y="${H - 6}" text-anchor="middle">${escapeXml(opts.xLabel)}</text>`);
  series.forEach((s, k) => {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v) || xs[i] === undefined) { pen = false; return; }
      d += `${pen ? 'L' : 'M'}${px(xs[i]!).toFixed(1)},${py(v).toFixed(1)}`;
      pen = true;
    });
    if (d) parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(s.color)}" stroke-width="2"/>`);
    s.values.forEach((v, i) => {
      if (v !== null && Number.isFinite(v) && xs[i] !== undefined) parts.push(`<circle cx="${px(xs[i]!).toFixed(1)}" cy="${py(v).toFixed(1)}" r="2.5" fill="${escapeXml(s.color)}"><title>${escapeXml(`${s.name} @ ${xs[i]}: ${v}`)}</title></circle>`);
    });
    const lx = m.l + 10 + k * 110;
    parts.push(`<rect x="${lx}" y="${m.t + 4}" width="12" height="3" fill="${escapeXml(s.color)}"/><text x="${lx + 16}" y="${m.t + 9}">${escapeXml(s.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}
