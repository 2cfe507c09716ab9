#!/usr/bin/env node
// The `camlight` command. An installed package runs the built JavaScript in dist/; a clone of
// the repository (src/ present, tsx installed as a dev dependency) runs the TypeScript sources
// through tsx, so `npm start` and `npm test` never need a build and never see a stale one.
import { existsSync } from 'node:fs';

const source = new URL('../src/cli/main.ts', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);
let entry = built;
if (existsSync(source)) {
  try {
    const { register } = await import('tsx/esm/api');
    register();
    entry = source;
  } catch {
    // tsx is a dev dependency; without it, fall back to dist/ (run `npm run build` first).
  }
}
if (entry === built && !existsSync(built)) {
  console.error('camlight: dist/cli/main.js is missing; run `npm run build` (or `npm ci` for the dev dependencies).');
  process.exit(1);
}
await import(entry.href);
