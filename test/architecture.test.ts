// docs/ARCHITECTURE.md and README's layout against the tree: every "where to change" recipe names
// at most 4 files, each of which exists (a placeholder such as <op> stands for any file in an
// existing folder); the layer diagram names every LAYERS entry of scripts/check-layers.mjs; the
// README's layout block lists exactly the folders under src/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
// @ts-expect-error plain .mjs script without types
import { LAYERS } from '../scripts/check-layers.mjs';

const s = suite('architecture');
const root = resolve(import.meta.dirname, '..');
const doc = readFileSync(join(root, 'docs/ARCHITECTURE.md'), 'utf8');

/** The files a recipe row names: backticked repository paths (a folder, then a file with an extension). */
function namedFiles(row: string): string[] {
  const paths = [...row.matchAll(/`((?:src|test|bench|docs|scripts|web|weights)\/[^`\s]+\.[a-z]+|package\.json)`/g)].map((m) => m[1]!);
  return [...new Set(paths)];
}

/** Whether a named file exists; `a/<x>.ts` means some file in folder a. */
function exists(p: string): boolean {
  if (!p.includes('<')) return existsSync(join(root, p));
  return existsSync(join(root, dirname(p))) && !dirname(p).includes('<');
}

const recipes = doc.slice(doc.indexOf('## Where to change')).split('\n').filter((l) => l.startsWith('| **'));

s('five recipes, each naming 1 to 4 files that exist', () => {
  assert.equal(recipes.map((r) => /\*\*(.+?)\*\*/.exec(r)![1]), ['Add a CAM method', 'Add a layer', 'Add a kernel variant', 'Add an image format', 'Add a model loader']);
  for (const r of recipes) {
    const files = namedFiles(r);
    const what = /\*\*(.+?)\*\*/.exec(r)![1];
    assert.ok(files.length >= 1 && files.length <= 4, `${what}: ${files.length} files (${files.join(', ')})`);
    for (const f of files) assert.ok(exists(f), `${what}: ${f} does not exist`);
  }
});

s('control: the file counter sees paths and placeholders, and a missing file is caught', () => {
  assert.equal(namedFiles('`src/a/b.ts` (`x`); `test/a/<op>.test.ts`, `package.json`, `src/a/b.ts` again, `rt.adapterClass`'), ['src/a/b.ts', 'test/a/<op>.test.ts', 'package.json']);
  assert.ok(exists('src/nn/layers/<family>.ts'));
  assert.not.ok(exists('src/nowhere/<x>.ts'));
  assert.not.ok(exists('src/nn/no-such-file.ts'));
});

s('the layer diagram names every entry of the layer table', () => {
  const diagram = doc.slice(doc.indexOf('```'), doc.indexOf('```', doc.indexOf('```') + 3));
  for (const k of (LAYERS as string[][]).flat()) assert.ok(diagram.includes(k.replace(/\.ts$/, '')), `the diagram lacks '${k}'`);
});

s('README: the layout block lists exactly the folders under src/ and links ARCHITECTURE.md', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const at = readme.indexOf('## Repository layout');
  const block = readme.slice(readme.indexOf('```', at), readme.indexOf('```', readme.indexOf('```', at) + 3));
  const listed = [...block.matchAll(/^src\/([\w-]+)\//gm)].map((m) => m[1]!).sort();
  const folders = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort();
  assert.equal(listed, folders);
  assert.ok(readme.slice(at, at + 400).includes('(docs/ARCHITECTURE.md)'));
});

s.run();
