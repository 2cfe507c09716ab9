// report.html: one self-contained page (no scripts, no external assets) with the training curves,
// every animation inlined as a data: URI, the triage table with its numbers, and the configuration.
import { escapeXml, svgLineChart } from './chart.ts';
import type { TriageView } from './views.ts';

/** One epoch of the training curves. */
export interface CurvePoint {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number | null;
  valAccuracy?: number | null;
}

/** An animation of one tracked image. */
export interface ReportAnimation {
  /** File name or id (shown, and used as the element id). */
  name: string;
  /** The APNG bytes. */
  png: Uint8Array;
  trueLabel?: string;
  triage?: TriageView;
  /** A second animation group (e.g. the side-by-side comparison) goes in `comparisons`. */
  caption?: string;
}

export interface ReportInput {
  title?: string;
  /** The run's settings (command line, model, data, epochs …), shown as a table. */
  config: Record<string, unknown>;
  curves: CurvePoint[];
  animations: ReportAnimation[];
  /** Side-by-side animations of two models, if any. */
  comparisons?: ReportAnimation[];
  /** Extra notes (e.g. recording time per epoch), shown under the title. */
  notes?: string[];
}

/**
 * Base64 of bytes (btoa over binary strings, in chunks; no Node Buffer needed).
 * @example
 *   toBase64(new Uint8Array([104, 105]));   // 'aGk='
 */
export function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/** A PNG (or APNG) as a data: URI. */
export function pngDataUri(png: Uint8Array): string {
  return `data:image/png;base64,${toBase64(png)}`;
}

const VERDICT_COLOURS: Record<string, string> = { good: '#1e9640', bad: '#c0392b', ugly: '#d35400', unknown: '#7f8c8d' };

function num(v: number | null | boolean | undefined, digits = 3): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  return Number.isInteger(v) ? String(v) : v.toFixed(digits);
}

function configValue(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
}

function figure(a: ReportAnimation): string {
  const v = a.triage?.verdict;
  const badge = v ? ` <span class="v" style="background:${VERDICT_COLOURS[v] ?? '#555'}">${escapeXml(v)}</span>` : '';
  const cap = `${escapeXml(a.name)}${a.trueLabel ? ` — ${escapeXml(a.trueLabel)}` : ''}${badge}${a.caption ? `<br><small>${escapeXml(a.caption)}</small>` : ''}`;
  return `<figure id="anim-${escapeXml(a.name)}"><img src="${pngDataUri(a.png)}" alt="CAM animation of ${escapeXml(a.name)}"><figcaption>${cap}</figcaption></figure>`;
}

/** Ratios: ∞ for all the energy inside, else 2 digits. */
const ratio = (v: number | null) => (v === Infinity ? '∞' : num(v, 2));
/** Probabilities always with 2 decimals (1 → '1.00'). */
const prob = (v: number | null) => (v === null ? '–' : v.toFixed(2));

function triageTable(anims: ReportAnimation[]): string {
  const rows = anims.filter((a) => a.triage);
  if (!rows.length) return '<p>No triage.</p>';
  // Per image: the verdict and the sentence saying why, the CAM's focus against chance (object,
  // then cue), the occlusion check (p of the true class as given / object removed / cue removed /
  // both removed) and the map's stability over the window of trained epochs.
  const head = ['image', 'true class', 'verdict', 'why', 'p(true)', 'energy on object / its area (ratio)', 'energy on cue / its area (ratio)',
    'p: no object · no cue · blank', 'stability ρ', 'window', 'turnover'];
  const body = rows.map((a) => {
    const t = a.triage!, n = t.numbers;
    const focus = (e: number | null, ar: number | null, r: number | null) => (e === null ? '–' : `${num(e, 2)} / ${num(ar, 2)} (${ratio(r)})`);
    const cells = [a.name, a.trueLabel ?? '', t.verdict, t.reason, prob(n.trueProb), focus(n.energyInside, n.objectArea, n.objectRatio), focus(n.cueEnergy, n.cueArea, n.cueRatio),
      n.pFull === null ? '–' : `${prob(n.pNoObject)} · ${prob(n.pNoCue)} · ${prob(n.pBlank)}`, num(n.stability, 2), n.window.length ? `epochs ${n.window.join(', ')}` : '–', num(n.turnover, 2)];
    return `<tr class="${escapeXml(t.verdict)}">${cells.map((c, i) => (i === 2 ? `<td><span class="v" style="background:${VERDICT_COLOURS[t.verdict]}">${escapeXml(c)}</span></td>` : `<td>${escapeXml(c)}</td>`)).join('')}</tr>`;
  });
  const th = rows[0]!.triage!.thresholds;
  const thr = Object.entries(th).map(([k, v]) => `${escapeXml(k)} = ${v}`).join(', ');
  const legend = 'Energy ratios are the map\'s density inside the region over its density outside: a flat map scores 1 whatever the region\'s size. ' +
    'The occlusion check fills the object, the cue, or both with the image\'s background and reads the true class\'s probability again (no CAM involved). ' +
    'The window is the last recorded epochs after training began; epoch 0 (the untrained model) never counts.';
  return `<table class="triage"><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>${body.join('')}</tbody></table><p class="thr">${escapeXml(legend)}</p><p class="thr">Thresholds: ${thr}.</p>`;
}

/**
 * The report page as an HTML string.
 * @example
 *   writeFileSync('out/report.html', renderReport({ config, curves, animations }));
 */
export function renderReport(r: ReportInput): string {
  const title = r.title ?? 'camlight training report';
  const x = r.curves.map((c) => c.epoch);
  const hasVal = r.curves.some((c) => c.valLoss !== undefined && c.valLoss !== null);
  const lossSeries = [{ name: 'train', values: r.curves.map((c) => c.loss), color: '#1f77b4' }];
  const accSeries = [{ name: 'train', values: r.curves.map((c) => c.accuracy), color: '#1f77b4' }];
  if (hasVal) {
    lossSeries.push({ name: 'validation', values: r.curves.map((c) => c.valLoss ?? NaN), color: '#d62728' });
    accSeries.push({ name: 'validation', values: r.curves.map((c) => c.valAccuracy ?? NaN), color: '#d62728' });
  }
  const curves = r.curves.length
    ? svgLineChart(lossSeries, { title: 'loss', x, xLabel: 'epoch' }) + svgLineChart(accSeries, { title: 'accuracy', x, xLabel: 'epoch', yRange: [0, 1], yFormat: (v) => `${Math.round(v * 100)}%` })
    : '<p>No epochs.</p>';
  const config = Object.entries(r.config).map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(configValue(v))}</td></tr>`).join('');
  const counts = ['good', 'bad', 'ugly', 'unknown'].map((v) => `${r.animations.filter((a) => a.triage?.verdict === v).length} ${v}`).join(' · ');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeXml(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
.curves svg{margin:0 1em 1em 0;border:1px solid #eee}
.anims{display:flex;flex-wrap:wrap;gap:1em}
figure{margin:0;text-align:center}figure img{display:block;image-rendering:auto;border:1px solid #ddd}
figcaption{font-size:.9em;margin-top:.3em}
.v{color:#fff;border-radius:3px;padding:0 .4em;font-size:.85em}
table{border-collapse:collapse;font-size:.88em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.triage td:nth-child(4){max-width:28em}.thr,small{color:#666}
</style>
</head>
<body>
<h1>${escapeXml(title)}</h1>
${(r.notes ?? []).map((n) => `<p>${escapeXml(n)}</p>`).join('\n')}
<h2>Training curves</h2>
<div class="curves">${curves}</div>
<h2>Animations <small>(${escapeXml(counts)})</small></h2>
<p><small>Each frame: the CAM of the true class after an epoch, the top-3 classes beneath (the true class green, marked ▶).</small></p>
<div class="anims">${r.animations.map(figure).join('\n')}</div>
${r.comparisons?.length ? `<h2>Comparison</h2>\n<div class="anims">${r.comparisons.map(figure).join('\n')}</div>` : ''}
<h2>Triage</h2>
${triageTable(r.animations)}
<h2>Configuration</h2>
<table class="config">${config}</table>
</body>
</html>
`;
}
