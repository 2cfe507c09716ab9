// `camlight cam`'s inputs: the image files named on the command line (folders expanded), and an
// overlay name for each that no other input shares (a repeated name keeps its relative path).
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, relative, resolve, sep } from 'node:path';
import { hasImageExtension, IMAGE_EXTENSIONS } from '../io/image.ts';
import { UsageError } from './args.ts';

/**
 * Files named on the command line, with folders expanded to the images they hold (sorted; only
 * the folder's own entries, sub-folders are not entered). The same file named twice is kept once.
 * A missing path is a usage error; a named file of any kind is returned (reading it decides).
 * @example
 *   await collectImages(['photos/', 'cat.jpg']); // ['photos/a.png', 'photos/b.jpg', 'cat.jpg']
 */
export async function collectImages(args: string[]): Promise<string[]> {
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (f: string) => {
    const r = resolve(f);
    if (!seen.has(r)) {
      seen.add(r);
      out.push(f);
    }
  };
  for (const a of args) {
    const s = await stat(a).catch(() => null);
    if (!s) throw new UsageError(`${a}: no such file or folder`);
    if (s.isDirectory()) {
      const ents = await readdir(a, { withFileTypes: true }).catch(() => {
        throw new UsageError(`${a}: the folder cannot be listed (permission denied?)`);
      });
      const names = ents.filter((e) => !e.isDirectory() && hasImageExtension(e.name)).map((e) => e.name).sort();
      if (!names.length) throw new UsageError(`${a}: folder holds no images (${IMAGE_EXTENSIONS.join(', ')})`);
      names.forEach((n) => add(join(a, n)));
    } else add(a);
  }
  if (!out.length) throw new UsageError('no images given; see --help');
  return out;
}

/** The deepest folder holding every one of the (absolute) paths. */
export function commonFolder(paths: string[]): string {
  let parts = dirname(paths[0]!).split(sep);
  for (const p of paths.slice(1)) {
    const q = dirname(p).split(sep);
    let i = 0;
    while (i < parts.length && i < q.length && parts[i] === q[i]) i++;
    parts = parts.slice(0, i);
  }
  return parts.join(sep) || sep;
}

/**
 * A name per input file (no extension; '/'-separated, relative to the output folder) that no
 * other input shares, case-insensitively: the file's base name when it is unique; else its path
 * relative to the inputs' common folder; else that path with its extension ('x.jpg' beside
 * 'x.png'). Overlays are then written as NAME.cam.png (NAME.TARGET.cam.png for top-K).
 * @example
 *   overlayNames(['a/x.jpg', 'b/x.jpg', 'c/y.png']); // ['a/x', 'b/x', 'y']
 */
export function overlayNames(files: string[]): string[] {
  const abs = files.map((f) => resolve(f));
  const root = commonFolder(abs);
  const rel = abs.map((f) => relative(root, f).split(sep).join('/'));
  const levels = rel.map((r) => {
    const ext = extname(r);
    const stem = basename(r, ext);
    const dir = r.includes('/') ? r.slice(0, r.lastIndexOf('/') + 1) : '';
    return [stem, dir + stem, dir + stem + ext];
  });
  const count = (level: number) => {
    const m = new Map<string, number>();
    for (const l of levels) m.set(l[level]!.toLowerCase(), (m.get(l[level]!.toLowerCase()) ?? 0) + 1);
    return m;
  };
  const counts = [count(0), count(1), count(2)];
  const taken = new Set<string>();
  return levels.map((l) => {
    let name = l[2]!;
    for (let k = 0; k < 3; k++) {
      if (counts[k]!.get(l[k]!.toLowerCase()) === 1) {
        name = l[k]!;
        break;
      }
    }
    // Two levels can still meet (a's base name equal to b's relative path): number the later one.
    let unique = name;
    for (let n = 2; taken.has(unique.toLowerCase()); n++) unique = `${name}-${n}`;
    taken.add(unique.toLowerCase());
    return unique;
  });
}
