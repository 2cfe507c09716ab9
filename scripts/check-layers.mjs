// The import-direction check CI runs (via test/layers.test.ts): every relative import in src/ must
// point to the same layer or one below it, so the tree reads bottom-up (docs/ARCHITECTURE.md).
// Usage: node scripts/check-layers.mjs [--graph]   (exit 1 and one line per upward import)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Layers from the bottom. A module may import its own layer or any lower one. Keys are folders
 * under src/ or single files (the more specific entry wins). io (codecs, the file-access interface)
 * needs nothing but itself; platform/hooks.ts is the seam the adapters fill at start-up (it names
 * io's interfaces), so it sits just above; the adapters that fill it (platform/node.ts,
 * platform/deno.ts) and the package entry (index.ts) sit at the top with the CLI.
 */
export const LAYERS = [
  ['io'],
  ['platform/hooks.ts'],
  ['gpu'],
  ['tensor'],
  ['kernels'],
  ['nn'],
  ['cam'],
  ['train', 'report'],
  ['cli', 'platform', 'index.ts'],
];

/**
 * Keys of one layer that must not import each other either: training computes histories and
 * verdicts, the report draws them through its own view types (report/views.ts), and only the
 * CLI joins the two.
 */
export const APART = [['train', 'report']];

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'src');

/** The layer index of a file under src/ and the LAYERS key that placed it; layer -1 when no layer names it. */
export function placeOf(rel) {
  let layer = -1, key = '';
  LAYERS.forEach((keys, i) => {
    for (const k of keys) {
      const hit = rel === k || rel.startsWith(k + '/');
      if (hit && k.length > key.length) { layer = i; key = k; }
    }
  });
  return { layer, key };
}

/** The layer index of a file under src/, or -1 when no layer names it. */
export function layerOf(rel) {
  return placeOf(rel).layer;
}

export function sourceFiles(dir = src) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.ts$/.test(e.name)) out.push(p);
  }
  return out;
}

/** Every relative import (static, type-only, re-export or dynamic with a literal) of every file. */
export function importEdges() {
  const edges = [];
  for (const file of sourceFiles()) {
    const text = fs.readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*['"](\.{1,2}\/[^'"]+)['"]/g)) {
      const from = path.relative(src, file).split(path.sep).join('/');
      const to = path.relative(src, path.resolve(path.dirname(file), m[1])).split(path.sep).join('/');
      edges.push({ from, to, spec: m[1] });
    }
  }
  return edges;
}

/** The edges (default: the tree's own) that point up, leave the layers, or join two APART keys. */
export function violations(edges = importEdges()) {
  const bad = [];
  for (const e of edges) {
    const from = placeOf(e.from), to = placeOf(e.to);
    const a = from.layer, b = to.layer;
    if (a < 0) bad.push({ ...e, why: `src/${e.from} is in no layer: add its folder to LAYERS in scripts/check-layers.mjs` });
    else if (b < 0) bad.push({ ...e, why: `src/${e.to} is in no layer (imported by src/${e.from})` });
    else if (b > a) bad.push({ ...e, why: `src/${e.from} (layer ${LAYERS[a].join('/')}) imports src/${e.to} (layer ${LAYERS[b].join('/')}, above it)` });
    else if (from.key !== to.key && APART.some((g) => g.includes(from.key) && g.includes(to.key))) {
      bad.push({ ...e, why: `src/${e.from} (${from.key}) imports src/${e.to} (${to.key}); ${from.key} and ${to.key} stay apart (APART in scripts/check-layers.mjs)` });
    }
  }
  return bad;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--graph')) {
    const counts = new Map();
    for (const e of importEdges()) {
      const a = e.from.split('/')[0], b = e.to.split('/')[0];
      if (a !== b) counts.set(`${a} -> ${b}`, (counts.get(`${a} -> ${b}`) ?? 0) + 1);
    }
    for (const [k, n] of [...counts].sort()) console.log(`${k}  (${n})`);
  }
  const bad = violations();
  for (const v of bad) console.error(`layers: ${v.why} ('${v.spec}')`);
  console.log(`layers: ${bad.length} upward import(s) in ${sourceFiles().length} files`);
  process.exit(bad.length ? 1 : 0);
}
