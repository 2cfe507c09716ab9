// What `camlight cam` adds for its gallery: a copy of every input beside the overlays, the maps of
// further --methods, the --metrics figures, the cams.json fields the page needs, and
// writeGallery(dir), which renders DIR/index.html from DIR/cams.json alone (also after a merge).
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, normalize, sep } from 'node:path';
import { cam } from '../cam/base.ts';
import { METHOD_NAMES } from '../cam/methods/index.ts';
import { overlayPng, type OverlayOptions } from '../cam/overlay.ts';
import { centerCropBox, prepareImages, type PreprocessName } from '../cam/prepare.ts';
import type { CamMethodName, CamResult, CamTarget } from '../cam/types.ts';
import type { DecodedImage } from '../io/image.ts';
import { atomicWrite, readRegularFile, safeMkdir } from '../io/node-files.ts';
import type { Model } from '../nn/model.ts';
import { renderGallery, type EntryMetrics, type GalleryDoc, type GalleryEntry } from '../report/gallery.ts';
import { upload } from '../tensor/tensor.ts';
import { UsageError } from './args.ts';
import { DEFAULT_METRICS, imageMetrics, inputBox, type MetricsSettings } from './cam-metrics.ts';

/**
 * --methods a,b,c: checked names, the first one the run's primary method (its overlays keep the
 * plain NAME.cam.png names, so cams.json stays as before for one method).
 * @example
 *   parseMethods('gradcam,scorecam', undefined);   // ['gradcam', 'scorecam']
 */
export function parseMethods(methods: string | undefined, method: string | undefined): CamMethodName[] {
  if (methods === undefined) return [(method ?? 'gradcam') as CamMethodName];
  if (method !== undefined) throw new UsageError('--method and --methods: give one of them (--methods a,b,c lists every method)');
  const list = methods.split(',').map((m) => m.trim()).filter(Boolean);
  if (!list.length) throw new UsageError('--methods: give a comma-separated list, e.g. --methods gradcam,scorecam');
  for (const m of list) if (!METHOD_NAMES.includes(m as CamMethodName)) throw new UsageError(`--methods ${methods}: '${m}' is not a method; use ${METHOD_NAMES.join(', ')}`);
  if (new Set(list).size !== list.length) throw new UsageError(`--methods ${methods}: a method is named twice`);
  return list as CamMethodName[];
}

/** --metrics [--perturbations N]: the settings, or null when off. */
export function parseMetrics(on: boolean, perturbations: string | undefined): MetricsSettings | null {
  if (perturbations !== undefined) {
    const n = Number(perturbations);
    if (!Number.isInteger(n) || n < 1 || n > 1000) throw new UsageError(`--perturbations ${perturbations}: expected a whole number in [1, 1000]`);
    if (!on) throw new UsageError('--perturbations needs --metrics');
    return { ...DEFAULT_METRICS, copies: n };
  }
  return on ? { ...DEFAULT_METRICS } : null;
}

export interface ExtrasOptions {
  out: string;
  /** Every method, the primary first. */
  methods: CamMethodName[];
  metrics: MetricsSettings | null;
  layer: string;
  target: CamTarget;
  labels?: string[];
  size: [number, number];
  channels: 1 | 3;
  preprocess: PreprocessName;
  crop: 'none' | 'center';
  overlay: Pick<OverlayOptions, 'colormap' | 'opacity' | 'style'>;
  /** Each input file's overlay name (NAME of NAME.cam.png). */
  names: Map<string, string>;
}

const key = (method: string, file: string, target: number) => `${method}\u0000${file}\u0000${target}`;

/** Collects, per batch, what the gallery needs beyond the primary method's overlays, and adds it to cams.json. */
export class CamExtras {
  private originals = new Map<string, string>();
  private entries: GalleryEntry[] = [];
  private metrics = new Map<string, EntryMetrics>();
  private layers = new Map<string, string>();

  constructor(private readonly model: Model, private readonly o: ExtrasOptions) {}

  /** After the primary method's batch: copies the inputs, runs the other methods, computes the metrics. */
  async batch(files: string[], decoded: DecodedImage[], primary: CamResult, broken: Set<number>): Promise<void> {
    const o = this.o;
    for (let i = 0; i < files.length; i++) {
      if (broken.has(i)) continue;
      const f = files[i]!;
      const rel = `originals/${o.names.get(f)!}${extname(f).toLowerCase() || '.png'}`;
      const path = join(o.out, ...rel.split('/'));
      await safeMkdir(dirname(path));
      await atomicWrite(path, await readRegularFile(f));
      this.originals.set(f, rel);
    }
    const [H, W] = o.size;
    const per = H * W * o.channels;
    const xs = prepareImages(decoded, { size: o.size, channels: o.channels, preprocess: o.preprocess, crop: o.crop });
    const results: [CamMethodName, CamResult][] = [[o.methods[0]!, primary]];
    for (const m of o.methods.slice(1)) {
      const x = upload(xs, [decoded.length, H, W, o.channels]);
      try {
        results.push([m, await cam(this.model, x, { method: m, layer: o.layer, target: o.target, labels: o.labels, upsample: false })]);
      } finally {
        x.dispose();
      }
    }
    for (const [m, r] of results) {
      this.layers.set(m, r.layer.name);
      const seen = new Set<number>();
      for (const res of r.images) {
        if (broken.has(res.image)) continue;
        const file = files[res.image]!;
        if (m !== o.methods[0]) {
          if (!res.map.values.every(Number.isFinite)) continue;
          const suffix = typeof o.target === 'object' && !Array.isArray(o.target) ? `.${res.target}` : '';
          const pngName = `${o.names.get(file)!}.${m}${suffix}.cam.png`;
          const img = decoded[res.image]!;
          const region = o.crop === 'center' ? centerCropBox(img.height, img.width, o.size) : undefined;
          const path = join(o.out, ...pngName.split('/'));
          if (pngName.includes('/')) await safeMkdir(dirname(path));
          await atomicWrite(path, overlayPng(img, res.map, { ...o.overlay, region }));
          this.entries.push({
            file, topk: res.topk, target: res.target,
            ...(o.labels?.[res.target] !== undefined ? { targetLabel: o.labels[res.target] } : {}),
            map: { height: res.map.height, width: res.map.width, values: Array.from(res.map.values, (v) => Math.round(v * 1e6) / 1e6) },
            overlay: pngName, method: m,
          } as GalleryEntry);
        }
        // Metrics for each image's first target (its top-1 under the default target).
        if (o.metrics && !seen.has(res.image)) {
          seen.add(res.image);
          const x = xs.slice(res.image * per, (res.image + 1) * per);
          this.metrics.set(key(m, file, res.target), await imageMetrics({
            model: this.model, method: m, layerOption: o.layer, layerName: r.layer.name, x, hwc: [H, W, o.channels],
            target: res.target, predicted: res.topk[0]!.index, map: res.map,
            box: inputBox(o.preprocess, o.channels, o.metrics.epsSteps), settings: o.metrics, seed: hashSeed(file),
          }));
        }
      }
    }
  }

  /** Adds the gallery's fields to the run's cams.json document (new fields only; none renamed). */
  complete(doc: { method: string; images: unknown[] } & Record<string, unknown>): void {
    const o = this.o;
    const tag = (e: GalleryEntry) => {
      const m = e.method ?? o.methods[0]!;
      const metrics = this.metrics.get(key(m, e.file, e.target));
      return Object.assign(e, { method: m }, this.originals.has(e.file) ? { original: this.originals.get(e.file) } : {}, metrics ? { metrics } : {});
    };
    doc.images = [...(doc.images as GalleryEntry[]), ...this.entries].map(tag);
    doc.methods = o.methods;
    if (o.methods.length > 1) doc.layers = Object.fromEntries(this.layers);
    if (o.metrics) {
      doc.metricsInfo = {
        'perturbation L∞ ε': `${o.metrics.epsSteps}/255 of the pixel range`,
        'random copies': o.metrics.copies,
        'top-k': '10% of the input pixels',
        'attack steps': `${o.metrics.attackSteps} of ε/4`,
        'deletion/insertion steps': 50,
      };
    }
  }
}

/** A stable seed from a file name (FNV-1a), so a rerun or a shard draws the same random copies. */
function hashSeed(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h % 100000;
}

/** A path from cams.json that stays inside DIR (no absolute paths, no '..'). */
function inside(dir: string, rel: string): string | null {
  if (isAbsolute(rel) || normalize(rel).split(/[\\/]/).includes('..')) return null;
  return join(dir, ...rel.split('/')).split('/').join(sep);
}

/**
 * Renders DIR/index.html from DIR/cams.json and the files it names (overlays, copies of the
 * inputs); used by `camlight cam` at the end of a run and by `camlight merge` after joining
 * shards. Returns the page's path.
 * @example
 *   await writeGallery('camlight-cams');   // → 'camlight-cams/index.html'
 */
export async function writeGallery(dir: string): Promise<string> {
  const text = await readFile(join(dir, 'cams.json'), 'utf8').catch(() => {
    throw new UsageError(`${join(dir, 'cams.json')}: cannot be read; run camlight cam --out ${dir} first`);
  });
  let doc: GalleryDoc;
  try {
    doc = JSON.parse(text) as GalleryDoc;
  } catch (e) {
    throw new UsageError(`${join(dir, 'cams.json')}: not valid JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(doc.images)) throw new UsageError(`${join(dir, 'cams.json')}: no "images" list; is it a camlight cam output?`);
  const html = renderGallery(doc, (rel) => {
    const p = inside(dir, rel);
    if (!p) return null;
    try {
      return new Uint8Array(readFileSync(p));
    } catch {
      return null;
    }
  });
  const path = join(dir, 'index.html');
  await atomicWrite(path, html);
  return path;
}
