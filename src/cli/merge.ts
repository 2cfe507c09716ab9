// `camlight merge DIR… --out OUT`: joins the folders of a `camlight cam --shard i/n` run into the
// one cams.json (and overlays) a single run would have written, after checking that the parts
// are one run's: every shard present once, no input missing or in two parts, the same model,
// method and options, none interrupted.
import { copyFile, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { atomicWrite, checkWritableFolder, safeMkdir } from '../io/node-files.ts';
import { parseArgs, UsageError } from './args.ts';
import { writeGallery } from './cam-gallery.ts';
import type { ShardRecord } from './shard.ts';

export const MERGE_USAGE = `usage: camlight merge <shard folders…> --out DIR [--json]

  Joins the output folders of \`camlight cam … --shard I/N\` (one per shard, in any order) into DIR:
  one cams.json listing every image in input order (per method, with --methods), the overlays and
  input copies it names, and the gallery DIR/index.html rebuilt from them.
  Refused, naming the folder, when a shard is missing or given twice, an input is missing or in
  two shards, the shards differ in model, method, layer or options, or one was interrupted.
  --out DIR    where the merged cams.json and overlays go (required; new or empty is safest)
  --json       also print the merged cams.json to stdout`;

interface ImageEntry { file: string; overlay: string; method?: string; original?: string; [k: string]: unknown }
interface Failure { file: string; error: string }
interface ShardDoc {
  model: string;
  method: string;
  layer: unknown;
  preprocess: string;
  inputSize: unknown;
  warnings?: string[];
  images: ImageEntry[];
  failures?: Failure[];
  shard?: ShardRecord;
  /** The gallery's fields (src/cli/cam-gallery.ts): every method run, each one's layer, the metrics' settings. */
  methods?: string[];
  layers?: Record<string, string>;
  metricsInfo?: unknown;
  interrupted?: { signal: string; inputsDone: number; inputs: number };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

async function readPart(dir: string): Promise<ShardDoc> {
  const path = join(dir, 'cams.json');
  let doc: ShardDoc;
  try {
    doc = JSON.parse(await readFile(path, 'utf8')) as ShardDoc;
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new UsageError(`${path}: ${code === 'ENOENT' ? 'no such file (give the --out folders of the shard runs)' : `cannot read it (${(e as Error).message})`}`);
  }
  if (!doc.shard || !Array.isArray(doc.images) || !Array.isArray(doc.shard.assigned)) {
    throw new UsageError(`${path}: not the cams.json of a sharded run (run camlight cam with --shard I/N)`);
  }
  return doc;
}

/**
 * Runs `camlight merge`; resolves to the exit code.
 * @example
 *   await mergeCommand(['part0', 'part1', 'part2', '--out', 'all']);
 */
export async function mergeCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(MERGE_USAGE);
    return 0;
  }
  const a = parseArgs(argv, ['out'], ['json']);
  const out = a.values.get('out');
  if (!out) throw new UsageError('--out is required (the folder for the merged cams.json); see --help');
  if (!a.positional.length) throw new UsageError('give the output folders of the shard runs; see --help');
  const dirs = a.positional;
  const parts = await Promise.all(dirs.map(readPart));

  // One run's parts: the first folder is the reference the others must agree with.
  const ref = parts[0]!;
  const n = ref.shard!.count;
  const name = (k: number) => `shard ${parts[k]!.shard!.index}/${parts[k]!.shard!.count} (${dirs[k]})`;
  parts.forEach((p, k) => {
    const s = p.shard!;
    const differ = (what: string) => new UsageError(`${name(k)} differs from ${name(0)} in ${what}: the shards are not parts of one run`);
    if (s.count !== n) throw differ(`N (${s.count} vs ${n})`);
    if (s.inputs !== ref.shard!.inputs) throw differ(`the number of inputs (${s.inputs} vs ${ref.shard!.inputs})`);
    for (const f of ['model', 'method', 'preprocess', 'inputSize', 'methods', 'metricsInfo'] as const) if (!same(p[f], ref[f])) throw differ(`${f} (${JSON.stringify(p[f])} vs ${JSON.stringify(ref[f])})`);
    for (const [o, v] of Object.entries(s.options)) if (!same(v, ref.shard!.options[o])) throw differ(`--${o} (${v ?? 'not given'} vs ${ref.shard!.options[o] ?? 'not given'})`);
    if (p.interrupted) throw new UsageError(`${name(k)} was interrupted (${p.interrupted.signal}) after ${p.interrupted.inputsDone} of its ${p.interrupted.inputs} inputs; run that shard again`);
  });
  // The layer is known only to shards that explained something; those must agree.
  const layered = parts.findIndex((p) => p.layer !== null);
  parts.forEach((p, k) => {
    if (p.layer !== null && !same(p.layer, parts[layered]!.layer)) throw new UsageError(`${name(k)} differs from ${name(layered)} in layer: the shards are not parts of one run`);
  });

  // Every shard once; every input in exactly one shard.
  const byIndex = new Map<number, number>();
  parts.forEach((p, k) => {
    const prev = byIndex.get(p.shard!.index);
    if (prev !== undefined) throw new UsageError(`shard ${p.shard!.index}/${n} is given twice: ${dirs[prev]} and ${dirs[k]}`);
    byIndex.set(p.shard!.index, k);
  });
  const missing = Array.from({ length: n }, (_, i) => i).filter((i) => !byIndex.has(i));
  if (missing.length) throw new UsageError(`shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${n}`).join(', ')} missing: give the --out folders of all ${n} shards`);
  const owner = new Map<string, number>();
  const position = new Map<string, number>(); // shard k's file → its place in the whole list
  parts.forEach((p, k) => {
    for (const x of p.shard!.assigned) {
      const prev = owner.get(x.key);
      if (prev !== undefined) throw new UsageError(`input ${x.key} is in two shards, ${name(prev)} and ${name(k)}: the shards were run on different file lists`);
      owner.set(x.key, k);
      position.set(`${k}\0${x.file}`, x.position);
    }
  });
  if (owner.size !== ref.shard!.inputs) {
    throw new UsageError(`${ref.shard!.inputs - owner.size} of the run's ${ref.shard!.inputs} inputs are in no shard: the shards were run on different file lists`);
  }

  // Images (and failures) in the single run's order: by place in the whole list, then as written.
  const methods = ref.methods ?? [ref.method];
  const images: { m: number; pos: number; seq: number; k: number; im: ImageEntry }[] = [];
  const failures: { pos: number; f: Failure }[] = [];
  parts.forEach((p, k) => {
    const pos = (file: string) => {
      const v = position.get(`${k}\0${file}`);
      if (v === undefined) throw new UsageError(`${join(dirs[k]!, 'cams.json')}: ${file} is listed but was not assigned to ${name(k)}`);
      return v;
    };
    p.images.forEach((im, seq) => images.push({ m: methods.indexOf(im.method ?? ref.method), pos: pos(im.file), seq, k, im }));
    for (const f of p.failures ?? []) failures.push({ pos: pos(f.file), f });
  });
  images.sort((x, y) => x.m - y.m || x.pos - y.pos || x.seq - y.seq);
  failures.sort((x, y) => x.pos - y.pos);

  await checkWritableFolder(out, '--out');
  const copied = new Set<string>();
  for (const { k, im } of images) {
    for (const rel of [im.overlay, im.original]) {
      if (typeof rel !== 'string' || copied.has(rel)) continue;
      if (rel.startsWith('/') || rel.split('/').includes('..')) throw new UsageError(`${join(dirs[k]!, 'cams.json')}: ${rel} is outside the folder`);
      copied.add(rel);
      const dest = join(out, ...rel.split('/'));
      await safeMkdir(dirname(dest)); // one level at a time (node-files.ts)
      // Copied beside the target and renamed into place, so no file is ever half there.
      const tmp = `${dest}.${process.pid}.tmp`;
      try {
        await copyFile(join(dirs[k]!, ...rel.split('/')), tmp);
        await rename(tmp, dest);
      } catch (e) {
        await rm(tmp, { force: true });
        throw new UsageError(`${join(dirs[k]!, rel)}: cannot copy it (${(e as Error).message.replace(/^\w+: /, '')})`);
      }
    }
  }
  const warnings = [...new Set(parts.flatMap((p) => p.warnings ?? []))];
  // Each method's layer, from the shards that ran it on something (they agree: same model and --layer).
  const layers = parts.some((p) => p.layers) ? Object.assign({}, ...parts.map((p) => p.layers ?? {})) as Record<string, string> : null;
  const doc = {
    model: ref.model,
    method: ref.method,
    layer: layered >= 0 ? parts[layered]!.layer : null,
    preprocess: ref.preprocess,
    inputSize: ref.inputSize,
    ...(warnings.length ? { warnings } : {}),
    images: images.map((x) => x.im),
    ...(failures.length ? { failures: failures.map((x) => x.f) } : {}),
    ...(ref.methods ? { methods: ref.methods } : {}),
    ...(layers ? { layers } : {}),
    ...(ref.metricsInfo !== undefined ? { metricsInfo: ref.metricsInfo } : {}),
    merged: { shards: n, inputs: ref.shard!.inputs, from: dirs.slice().sort((x, y) => parts[dirs.indexOf(x)]!.shard!.index - parts[dirs.indexOf(y)]!.shard!.index) },
  };
  const text = JSON.stringify(doc, null, 1);
  await atomicWrite(join(out, 'cams.json'), text);
  // The gallery page, rebuilt from the merged cams.json and the files it names.
  const page = await writeGallery(out);
  if (a.flags.has('json')) console.log(text);
  console.error(`camlight merge: ${n} shard(s), ${ref.shard!.inputs} input(s), ${images.length} map(s)${failures.length ? `, ${failures.length} failure(s)` : ''} → ${out}/cams.json, gallery ${page}`);
  return 0;
}
