// index.html of a `camlight cam` run: one self-contained page (no scripts, images inlined as data:
// URIs) built from cams.json alone plus the files it names, so a merge of shards can rebuild it.
import { BAR_COLOR, TRUE_BAR_COLOR, escapeXml } from './chart.ts';
import { toBase64 } from './html.ts';

/** Fragility figures against perturbed copies (src/cam/metrics/fragility.ts), averaged over the copies kept. */
export interface FragilitySummary {
  /** Copies that kept the predicted class and were compared (random), or attack steps kept. */
  n: number;
  /** Copies tried (random), or attack steps allowed. */
  tried: number;
  topK: number | null;
  spearman: number | null;
  centreShift: number | null;
}

/** --metrics figures of one (image, method), as cams.json stores them (null: not computable, e.g. a constant map). */
export interface EntryMetrics {
  deletionAuc?: number | null;
  insertionAuc?: number | null;
  /** Cascading randomisation: the similarity to the map with every weighted layer re-initialised. */
  randomisation?: { spearman: number | null; ssim: number | null; layers: string[] } | null;
  fragility?: {
    random: FragilitySummary | null;
    /** The iterative attack, or why it was not run for this method. */
    attack: FragilitySummary | { skipped: string } | null;
  };
}

/** One (image, method, target) entry of cams.json's `images`. Fields past `overlay` were added with the gallery. */
export interface GalleryEntry {
  file: string;
  topk: { index: number; label?: string; prob: number }[];
  target: number;
  targetLabel?: string;
  overlay: string;
  /** The method of this map (absent in cams.json written before --methods: the top-level method). */
  method?: string;
  /** The input image copied into the output folder, relative to it. */
  original?: string;
  metrics?: EntryMetrics;
}

/** The parts of cams.json the page reads. */
export interface GalleryDoc {
  model: string;
  method: string;
  methods?: string[];
  layer?: { name: string; height: number; width: number } | null;
  preprocess?: string;
  inputSize?: { height: number; width: number };
  warnings?: string[];
  images: GalleryEntry[];
  failures?: { file: string; error: string }[];
  /** Settings of --metrics (ε, copies, k, attack steps). */
  metricsInfo?: Record<string, unknown>;
}

/** Reads a file of the output folder by its relative path (null when missing). */
export type AssetReader = (relPath: string) => Uint8Array | null;

const MIME: Record<string, string> = { png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg' };
const rgb = (c: readonly number[]) => `rgb(${c.join(',')})`;
const fmt = (v: number | null | undefined, d = 2) => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(d));

/** Width of a PNG from its IHDR (null for other formats): small images are shown with crisp pixels. */
function pngWidth(b: Uint8Array): number | null {
  return b.length > 24 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47 ? ((b[16]! << 24) | (b[17]! << 16) | (b[18]! << 8) | b[19]!) >>> 0 : null;
}

function img(read: AssetReader, rel: string | undefined, alt: string): string {
  if (!rel) return '<div class="missing">no copy of the image</div>';
  const bytes = read(rel);
  if (!bytes) return `<div class="missing">missing: ${escapeXml(rel)}</div>`;
  const ext = rel.slice(rel.lastIndexOf('.') + 1).toLowerCase();
  const w = pngWidth(bytes);
  const cls = w !== null && w < 160 ? ' class="px"' : '';
  return `<img${cls} src="data:${MIME[ext] ?? 'application/octet-stream'};base64,${toBase64(bytes)}" alt="${escapeXml(alt)}">`;
}

/** Top-k bars as inline SVG: class name, a bar on a 0–100 % track, the percentage; the explained class in green. */
function bars(topk: GalleryEntry['topk'], targets: Set<number>): string {
  const row = 18, w = 240, labelW = 110, barW = 90;
  const rows = topk.map((t, i) => {
    const y = i * row;
    const name = t.label ?? `class ${t.index}`;
    const short = name.length > 18 ? `${name.slice(0, 17)}…` : name;
    const col = targets.has(t.index) ? TRUE_BAR_COLOR : BAR_COLOR;
    return `<text x="0" y="${y + 13}">${escapeXml(short)}</text><rect x="${labelW}" y="${y + 4}" width="${barW}" height="10" fill="#e4e4e4"/>` +
      `<rect x="${labelW}" y="${y + 4}" width="${(barW * Math.max(0, Math.min(1, t.prob))).toFixed(1)}" height="10" fill="${rgb(col)}"/>` +
      `<text x="${w}" y="${y + 13}" text-anchor="end">${(t.prob * 100).toFixed(1)}%</text>`;
  });
  return `<svg class="bars" width="${w}" height="${topk.length * row}" viewBox="0 0 ${w} ${topk.length * row}" role="img" aria-label="top classes">${rows.join('')}</svg>`;
}

function fragilityCells(f: FragilitySummary | { skipped: string } | null | undefined, what: string): string {
  if (!f) return `<tr><th>${what}</th><td colspan="3">–</td></tr>`;
  if ('skipped' in f) return `<tr><th>${what}</th><td colspan="3" class="skip">not run: ${escapeXml(f.skipped)}</td></tr>`;
  const n = what === 'attack' ? `${f.n}/${f.tried} steps` : `${f.n}/${f.tried} copies`;
  return `<tr><th title="${n}">${what}</th><td>${fmt(f.topK)}</td><td>${fmt(f.spearman)}</td><td>${fmt(f.centreShift, 1)}</td></tr>`;
}

function metricsTable(m: EntryMetrics | undefined): string {
  if (!m) return '';
  const r = m.randomisation;
  const fr = m.fragility;
  return `<table class="m"><tr><th>deletion AUC</th><td colspan="3">${fmt(m.deletionAuc, 3)}</td></tr>` +
    `<tr><th>insertion AUC</th><td colspan="3">${fmt(m.insertionAuc, 3)}</td></tr>` +
    `<tr><th>randomised ρ</th><td colspan="3">${r ? `${r.spearman === null ? '<span title="the randomised model\'s map is constant: ρ is undefined, nothing of the original survives">flat</span>' : fmt(r.spearman)} <small>(SSIM ${fmt(r.ssim)})</small>` : '–'}</td></tr>` +
    (fr ? `<tr class="h"><th>fragility</th><td>top-k ∩</td><td>ρ</td><td>shift px</td></tr>${fragilityCells(fr.random, 'random')}${fragilityCells(fr.attack, 'attack')}` : '') +
    '</table>';
}

/** One line on how to read each figure (shown above the grid when --metrics was given). */
export const METRIC_READINGS: [string, string][] = [
  ['deletion AUC', 'the class probability as the map\'s most important pixels are removed first (Petsiuk et al. 2018): lower means the map found what the model needs.'],
  ['insertion AUC', 'the probability as those pixels are put back into a blurred copy: higher means the same, from the other side.'],
  ['randomised ρ', 'Spearman correlation with the map once every weighted layer is re-initialised (Adebayo et al. 2018): near 0 passes (the map depends on what was learnt), near 1 fails; "flat" when the randomised model\'s map is constant (passes); strongly negative: an inverted map, still tied to the image.'],
  ['top-k ∩', 'share of the map\'s top-k pixels still in the top k after a perturbation of L∞ ε that keeps the predicted class (Ghorbani et al. 2019): 1 is stable, low is fragile.'],
  ['ρ', 'Spearman rank correlation of all pixels between the map and the perturbed copy\'s: 1 means the same ordering of importance.'],
  ['shift px', 'how far the map\'s centre of mass moved, in input pixels: compare it with the input size.'],
  ['random / attack', 'random: mean over random ±ε sign copies; attack: the iterative attack that pushes the map off its top-k pixels. Attack far below random means an adversary can move the explanation without changing the prediction. ' +
    'The attack needs the map\'s gradient: the tape has no second derivatives, so only Grad-CAM (channel weights locally constant in a piecewise-linear network, held fixed per step) is attacked; other methods show why not.'],
];

/**
 * The gallery page: a grid with one row per image (its copy and top-k bars, the explained
 * classes in green) and one column per method × target rank (the overlay, the class and, with
 * --metrics, the figures). Reads every image through `read` and inlines it.
 * @example
 *   const html = renderGallery(JSON.parse(camsJson), (p) => readFileSync(join(dir, p)));
 */
export function renderGallery(doc: GalleryDoc, read: AssetReader): string {
  const methods = doc.methods ?? [doc.method];
  const files: string[] = [];
  const byFile = new Map<string, GalleryEntry[]>();
  for (const e of doc.images) {
    if (!byFile.has(e.file)) { byFile.set(e.file, []); files.push(e.file); }
    byFile.get(e.file)!.push(e);
  }
  // Target ranks per (file, method): top-K runs have K columns per method.
  const ranks = Math.max(1, ...files.flatMap((f) => methods.map((m) => byFile.get(f)!.filter((e) => (e.method ?? doc.method) === m).length)));
  const hasMetrics = doc.images.some((e) => e.metrics);
  const head = ['image', ...methods.flatMap((m) => Array.from({ length: ranks }, (_, j) => (ranks > 1 ? `${m} · target ${j + 1}` : m)))];
  const rows = files.map((f) => {
    const es = byFile.get(f)!;
    const first = es[0]!;
    const cells = [`<td class="orig">${img(read, first.original, f)}<div class="name">${escapeXml(f)}</div>${bars(first.topk, new Set(es.map((e) => e.target)))}</td>`];
    for (const m of methods) {
      const mine = es.filter((e) => (e.method ?? doc.method) === m);
      for (let j = 0; j < ranks; j++) {
        const e = mine[j];
        if (!e) { cells.push('<td></td>'); continue; }
        const cls = e.targetLabel ?? e.topk.find((t) => t.index === e.target)?.label ?? `class ${e.target}`;
        const p = e.topk.find((t) => t.index === e.target)?.prob;
        cells.push(`<td>${img(read, e.overlay, `${m} map of ${cls} for ${f}`)}<div class="cap">${escapeXml(cls)}${p !== undefined ? ` <small>p=${p.toFixed(2)}</small>` : ''}</div>${metricsTable(e.metrics)}</td>`);
      }
    }
    return `<tr>${cells.join('')}</tr>`;
  });
  const info: [string, string][] = [
    ['model', doc.model], ['methods', methods.join(', ')],
    ...(doc.layer ? [['layer', `${doc.layer.name} (${doc.layer.height}×${doc.layer.width})`] as [string, string]] : []),
    ...(doc.preprocess ? [['preprocess', doc.preprocess] as [string, string]] : []),
    ...(doc.inputSize ? [['input', `${doc.inputSize.height}×${doc.inputSize.width}`] as [string, string]] : []),
    ...(doc.metricsInfo ? [['metrics', Object.entries(doc.metricsInfo).map(([k, v]) => `${k} ${typeof v === 'string' ? v : JSON.stringify(v)}`).join(' · ')] as [string, string]] : []),
  ];
  const legend = hasMetrics
    ? `<h2>Reading the figures</h2><dl class="read">${METRIC_READINGS.map(([k, v]) => `<dt>${escapeXml(k)}</dt><dd>${escapeXml(v)}</dd>`).join('')}</dl>`
    : '';
  const failures = doc.failures?.length
    ? `<h2>Skipped inputs</h2><ul>${doc.failures.map((x) => `<li>${escapeXml(x.file)}: ${escapeXml(x.error)}</li>`).join('')}</ul>`
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>camlight cam: ${escapeXml(methods.join(', '))}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1400px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.88em}td,th{border:1px solid #ddd;padding:.25em .5em;text-align:left;vertical-align:top}
.grid td{text-align:center}.grid img{display:block;width:160px;height:auto;margin:0 auto;border:1px solid #ddd}.grid img.px{image-rendering:pixelated}
.name,.cap{font-size:.85em;margin:.2em 0;word-break:break-all}.bars text{font-size:11px;fill:#222}
table.m{margin:.3em auto 0;font-size:.8em}table.m td,table.m th{padding:.1em .3em;border-color:#eee}table.m tr.h td{color:#666}
.skip{color:#666;max-width:16em;white-space:normal}.missing{color:#c0392b;width:160px}
dl.read{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;font-size:.9em}dt{font-weight:600}dd{margin:0}
small{color:#666}
</style>
</head>
<body>
<h1>camlight cam <small>${files.length} image(s), ${escapeXml(methods.join(', '))}</small></h1>
<table class="info">${info.map(([k, v]) => `<tr><th>${escapeXml(k)}</th><td>${escapeXml(v)}</td></tr>`).join('')}</table>
${(doc.warnings ?? []).map((w) => `<p><small>warning: ${escapeXml(w)}</small></p>`).join('\n')}
${legend}
<h2>Maps</h2>
<table class="grid"><thead><tr>${head.map((h) => `<th>${escapeXml(h)}</th>`).join('')}</tr></thead><tbody>
${rows.join('\n')}
</tbody></table>
${failures}
</body>
</html>
`;
}
