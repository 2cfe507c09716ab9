// Moves TypeScript modules and rewrites every relative import that names them (and theirs), so a
// restructuring is one reviewed command: node scripts/move-module.mjs OLD NEW [OLD NEW ...].
import fs from 'node:fs';
import path from 'node:path';

const pairs = process.argv.slice(2);
if (pairs.length === 0 || pairs.length % 2) {
  console.error('usage: node scripts/move-module.mjs OLD.ts NEW.ts [OLD NEW ...] (paths from the repository root)');
  process.exit(1);
}
const moves = new Map();
for (let i = 0; i < pairs.length; i += 2) moves.set(path.resolve(pairs[i]), path.resolve(pairs[i + 1]));
const skip = new Set(['node_modules', 'dist', '.git', '.cache']);
const files = [];
(function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    if (skip.has(e.name)) continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) walk(p);
    else if (/\.(ts|mts|mjs|js)$/.test(e.name)) files.push(p);
  }
})(process.cwd());

const rel = (fromFile, target) => {
  let r = path.relative(path.dirname(fromFile), target).split(path.sep).join('/');
  return r.startsWith('.') ? r : './' + r;
};
let changed = 0;
for (const file of files) {
  const oldAbs = path.resolve(file);
  const newAbs = moves.get(oldAbs) ?? oldAbs;
  const src = fs.readFileSync(file, 'utf8');
  const out = src.replace(/((?:from|import)\s*\(?\s*)(['"])(\.{1,2}\/[^'"]+)\2/g, (m, pre, q, spec) => {
    const target = path.resolve(path.dirname(oldAbs), spec);
    const moved = moves.get(target) ?? target;
    if (moved === target && newAbs === oldAbs) return m;
    return `${pre}${q}${rel(newAbs, moved)}${q}`;
  });
  if (newAbs !== oldAbs) {
    fs.mkdirSync(path.dirname(newAbs), { recursive: true });
    fs.writeFileSync(newAbs, out);
    fs.unlinkSync(oldAbs);
    changed++;
  } else if (out !== src) {
    fs.writeFileSync(file, out);
    changed++;
  }
}
console.log(`${changed} files written`);
