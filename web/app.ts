// The static page (web/index.html): pick a served demo model or drop a model folder or .h5, drop
// photographs, choose method, layer and target, and see overlays, top-k bars and a few figures
// per map. Everything runs on the client's GPU through camlight's browser build; h5wasm loads
// in a chunk of its own on the first .h5. Bundled by web/build.mjs into dist/web/app.js.
import { init, loadH5Model, loadLayersModel, useH5wasm, type Model } from '../src/index.ts';
import { autoLayer, camCandidates, cam, centerCropBox, inputGeometry, overlay, prepareTensor, readCamlightJson, METHOD_NAMES, type CamMethodName, type CamTarget } from '../src/cam/index.ts';
import { decodeImage, fetchFiles, memoryFiles, type FileSource, type RgbaImage } from '../src/io/index.ts';
import type { PreprocessName } from '../src/cam/prepare.ts';

useH5wasm(() => import('h5wasm'));

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const status = (text: string, error = false) => {
  const el = $('status');
  el.textContent = text;
  el.className = error ? 'error' : '';
};

let model: Model | null = null;
let labels: string[] | undefined;
let images: { name: string; image: RgbaImage }[] = [];

async function start(): Promise<void> {
  for (const m of METHOD_NAMES) $<HTMLSelectElement>('method').append(new Option(m, m));
  try {
    const rt = await init();
    $('gpu').textContent = `WebGPU adapter: ${rt.adapterName}`;
  } catch (e) {
    $('gpu').textContent = (e as Error).message;
    $('gpu').className = 'error';
    return;
  }
  await listDemos();
  $('demo').addEventListener('change', () => void loadDemo());
  $('model-files').addEventListener('change', (e) => void loadDropped(Array.from((e.target as HTMLInputElement).files ?? [])));
  $('model-h5').addEventListener('change', (e) => void loadDropped(Array.from((e.target as HTMLInputElement).files ?? [])));
  $('images').addEventListener('change', (e) => void addImages(Array.from((e.target as HTMLInputElement).files ?? [])));
  document.querySelectorAll<HTMLElement>('.drop').forEach(dropZone);
  $('run').addEventListener('click', () => void run());
}

/** `camlight serve DIR` lists the model folders of DIR in models/index.json. */
async function listDemos(): Promise<void> {
  try {
    const res = await fetch('models/index.json');
    if (!res.ok) return;
    const names = (await res.json()) as string[];
    const sel = $<HTMLSelectElement>('demo');
    sel.replaceChildren(new Option('(pick one)', ''), ...names.map((n) => new Option(n, n)));
  } catch {
    /* a plain static host: no demo list */
  }
}

async function loadDemo(): Promise<void> {
  const name = $<HTMLSelectElement>('demo').value;
  if (name) await useModel(name, fetchFiles(`models/${name}/`), 'model.json');
}

/** A dropped folder (model.json + shards [+ camlight.json]) or a single .h5 file. */
async function loadDropped(files: File[]): Promise<void> {
  const h5 = files.find((f) => f.name.endsWith('.h5'));
  const entries: Record<string, Uint8Array> = {};
  for (const f of files) entries[f.name] = new Uint8Array(await f.arrayBuffer());
  if (h5) return useModel(h5.name, memoryFiles(entries), h5.name);
  if (!entries['model.json']) return status('drop a folder holding model.json and its weight shards, or a Keras .h5 file', true);
  await useModel(files[0]?.webkitRelativePath.split('/')[0] || 'dropped model', memoryFiles(entries), 'model.json');
}

async function useModel(name: string, source: FileSource, path: string): Promise<void> {
  status(`loading ${name}…`);
  try {
    model?.dispose();
    model = null;
    const m = path.endsWith('.h5') ? await loadH5Model({ source, path }) : await loadLayersModel({ source, path });
    const cfg = path.endsWith('.h5') ? null : await readCamlightJson(source, path);
    labels = cfg?.labels;
    if (cfg?.preprocess) $<HTMLSelectElement>('preprocess').value = cfg.preprocess;
    const layer = $<HTMLSelectElement>('layer');
    const auto = autoLayer(m);
    layer.replaceChildren(new Option(`auto (${auto})`, 'auto'), ...camCandidates(m).map((l) => new Option(l, l)));
    const classes = m.layers.length ? (m.nodes[m.nodes.length - 1]?.outputShape.at(-1) ?? 0) : 0;
    const target = $<HTMLSelectElement>('target');
    target.replaceChildren(new Option('top-1 class', 'top1'), ...Array.from({ length: Number(classes) }, (_, i) => new Option(labels?.[i] ?? `class ${i}`, String(i))));
    model = m;
    const p = m.parameterCount();
    $('model-info').textContent = `${name}: input ${m.inputShape.slice(1).join('×')}, ${m.layers.length} layers, ${(p.trainable + p.nonTrainable).toLocaleString()} parameters`;
    status('');
  } catch (e) {
    status(`could not load ${name}: ${(e as Error).message}`, true);
  }
  refresh();
}

async function addImages(files: File[]): Promise<void> {
  for (const f of files) {
    try {
      images.push({ name: f.name, image: decodeImage(new Uint8Array(await f.arrayBuffer()), f.name) });
    } catch (e) {
      status((e as Error).message, true);
    }
  }
  status(`${images.length} image${images.length === 1 ? '' : 's'} ready`);
  refresh();
}

function refresh(): void {
  $<HTMLButtonElement>('run').disabled = !model || !images.length;
}

async function run(): Promise<void> {
  if (!model) return;
  const method = $<HTMLSelectElement>('method').value as CamMethodName;
  const layer = $<HTMLSelectElement>('layer').value;
  const t = $<HTMLSelectElement>('target').value;
  const target: CamTarget = t === 'top1' ? 'top1' : Number(t);
  const preprocess = $<HTMLSelectElement>('preprocess').value as PreprocessName;
  const geo = inputGeometry(model.inputShape);
  const size: [number, number] = [geo.height ?? 224, geo.width ?? 224];
  const out = $('results');
  out.replaceChildren();
  for (const { name, image } of images) {
    status(`${method} on ${name}…`);
    const x = prepareTensor([image], { size, channels: geo.channels as 1 | 3, preprocess, crop: 'center' });
    try {
      const t0 = performance.now();
      const r = await cam(model, x, { method, layer, target, ...(labels ? { labels } : {}) });
      const ms = performance.now() - t0;
      const region = centerCropBox(image.height, image.width, size);
      for (const one of r.images) out.append(card(name, image, region, one.map, one.topk, one.target, r.layer.name, ms, r.warnings ?? []));
    } catch (e) {
      const err = document.createElement('p');
      err.className = 'error';
      err.textContent = `${name}: ${(e as Error).message}`;
      out.append(err);
    } finally {
      x.dispose();
    }
  }
  status('done');
}

function card(name: string, image: RgbaImage, region: ReturnType<typeof centerCropBox>, map: { height: number; width: number; values: Float32Array }, topk: { index: number; label?: string; prob: number }[], target: number, layer: string, ms: number, warnings: string[]): HTMLElement {
  const div = document.createElement('div');
  div.className = 'card';
  const canvas = document.createElement('canvas');
  // The model saw the central crop: the map is laid over that part of the photo.
  const img = overlay(image, map, { region });
  canvas.width = img.width;
  canvas.height = img.height;
  canvas.getContext('2d')!.putImageData(new ImageData(new Uint8ClampedArray(img.data), img.width, img.height), 0, 0);
  const title = document.createElement('strong');
  title.textContent = `${name}: ${labels?.[target] ?? `class ${target}`}`;
  div.append(title, canvas);
  for (const k of topk) {
    const bar = document.createElement('div');
    bar.className = k.index === target ? 'bar target' : 'bar';
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.width = `${Math.round(k.prob * 150)}px`;
    bar.append(fill, `${k.label ?? labels?.[k.index] ?? k.index} ${(k.prob * 100).toFixed(1)}%`);
    div.append(bar);
  }
  // Sanity figures: where the map is and how much of the image it covers.
  const v = map.values;
  let sum = 0, hot = 0, arg = 0;
  for (let i = 0; i < v.length; i++) {
    sum += v[i]!;
    if (v[i]! > 0.5) hot++;
    if (v[i]! > v[arg]!) arg = i;
  }
  const rows: [string, string][] = [
    ['layer', `${layer} (${map.height}×${map.width})`],
    ['time', `${ms.toFixed(0)} ms`],
    ['mean', (sum / v.length).toFixed(3)],
    ['area > 0.5', `${((100 * hot) / v.length).toFixed(1)}%`],
    ['peak at', `row ${Math.floor(arg / map.width)}, col ${arg % map.width}`],
  ];
  const table = document.createElement('table');
  table.className = 'figures';
  for (const [k, val] of rows) table.insertRow().append(Object.assign(document.createElement('td'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: val }));
  div.append(table);
  for (const w of warnings) div.append(Object.assign(document.createElement('p'), { className: 'muted', textContent: w }));
  return div;
}

function dropZone(el: HTMLElement): void {
  el.addEventListener('dragover', (e) => {
    e.preventDefault();
    el.classList.add('over');
  });
  el.addEventListener('dragleave', () => el.classList.remove('over'));
  el.addEventListener('drop', (e) => {
    e.preventDefault();
    el.classList.remove('over');
    const files = Array.from(e.dataTransfer?.files ?? []);
    const isImage = (f: File) => /\.(png|jpe?g)$/i.test(f.name);
    if (files.every(isImage)) void addImages(files);
    else void loadDropped(files);
  });
}

void start();
