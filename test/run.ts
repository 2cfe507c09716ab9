// Runs every test/**/*.test.ts in one process (one GPU device for all), then prints the
// summary line CI reads: `tests: N passed, N failed`. A file may be chosen with arguments.
// Test files get uvu through test/uvu-suite.ts (a resolve hook), which reports hook failures;
// tests skipped for missing data (test/real-data.ts) are listed, with why, before the summary.
import '../src/platform/node.ts'; // Node's platform hooks: Dawn, files on disk, h5wasm (see src/platform)
import { register } from 'node:module';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = resolve(import.meta.dirname, '..');

function find(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (p !== join(root, 'test/fixtures')) out.push(...find(p));
    }
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filters = process.argv.slice(2);
// A filter naming a file under test/fixtures runs that file (the runner's own tests use this).
const fixtures = filters.map((f) => resolve(f)).filter((f) => f.startsWith(join(root, 'test/fixtures/')) && existsSync(f));
const files = fixtures.length ? fixtures : find(join(root, 'test')).filter((f) => !filters.length || filters.some((x) => f.includes(x)));

register('./uvu-hooks.mjs', import.meta.url);
(globalThis as { UVU_DEFER?: number }).UVU_DEFER = 1;
const g = globalThis as unknown as { UVU_QUEUE: unknown[][]; UVU_INDEX: number };
const uvu = await import('uvu');
g.UVU_QUEUE ??= [];

// Each queued suite runner (uvu's own, one per s.run()) resolves to [errors, passed, skipped,
// total]; tallying those gives the summary without reading uvu's printed report.
const tally = { passed: 0, skipped: 0, total: 0 };
type SuiteRun = () => Promise<[unknown, number, number, number]>;
const counted = (run: SuiteRun): SuiteRun => async () => {
  const r = await run();
  tally.passed += r[1];
  tally.skipped += r[2];
  tally.total += r[3];
  return r;
};

// One group per file, [file name, ...suite runners]: s.run() pushes its runner into the group,
// counted on the way in; uvu.exec runs the groups in order and prints its own report.
let idx = 0;
for (const f of files) {
  g.UVU_INDEX = idx++;
  const group: unknown[] = [relative(root, f)];
  group.push = (...runs: unknown[]) => Array.prototype.push.apply(group, runs.map((r) => counted(r as SuiteRun)));
  g.UVU_QUEUE.push(group);
  await import(pathToFileURL(f).href);
}
await uvu.exec(false);
const { passed, total, skipped } = tally;
if (files.length === 0) console.error('no test files matched');
// An exception in an `after` hook (test/uvu-suite.ts) is one failure more, printed with its stack.
const hookFailures = (globalThis as { CAMLIGHT_HOOK_FAILURES?: { suite: string; error: Error }[] }).CAMLIGHT_HOOK_FAILURES ?? [];
for (const { suite, error } of hookFailures) console.log(`FAIL: after hook of suite '${suite}': ${error.stack ?? error.message}`);
if (hookFailures.length) process.exitCode = 1;
// Skipped tests (uvu's own count) with the reasons test/real-data.ts recorded; not passed, not failed.
const reasons = (globalThis as { CAMLIGHT_SKIPPED?: { test: string; why: string }[] }).CAMLIGHT_SKIPPED ?? [];
for (const r of reasons) console.log(`skipped: ${r.test}: ${r.why}`);
if (skipped) console.log(`${skipped} skipped`);
// uvu's Total counts the tests that ran: skipped ones are not in it.
console.log(`tests: ${passed} passed, ${total - passed + hookFailures.length} failed`);
