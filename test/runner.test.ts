// The test runner's reporting (test/run.ts, test/uvu-suite.ts, test/real-data.ts) on a fixture
// suite run in a child process: a `before` hook's exception fails each of its tests with the
// hook's message; an `after` hook's exception is printed and counted; a test whose data set is
// missing is skipped (not passed) with the reason, and fails with it in CI. The last line is
// always `tests: N passed, N failed`.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

const s = suite('runner');
const root = resolve(import.meta.dirname, '..');

function runFixture(env: Record<string, string | undefined>) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'test/run.ts'), join(root, 'test/fixtures/runner/hooks.ts')], {
    cwd: root, encoding: 'utf8', env: { ...process.env, CI: undefined, CAMLIGHT_STRICT: undefined, ...env }, timeout: 60_000,
  });
  const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
  return { out, last: r.stdout.trim().split('\n').pop() };
}

s('outside CI: hook failures reported with their message; the missing data set is skipped, not passed', () => {
  const { out, last } = runFixture({});
  // before-throws: 2 failed, each naming the hook's error; after-throws: 1 passed + 1 failed hook;
  // data: 1 passed, 1 skipped.
  assert.is(last, 'tests: 2 passed, 3 failed', out);
  assert.is(out.match(/the suite's before hook failed, so this test did not run: the model file fixture\.json could not be read/g)?.length, 2, out);
  assert.match(out, /FAIL: after hook of suite 'fixture\/after-throws': Error: cleanup of \/tmp\/fixture failed/);
  assert.match(out, /skipped: needs a data set: the fixture data set is missing: install it/);
  assert.match(out, /\n1 skipped\ntests: /, 'the skipped count comes just before the summary');
});

s('in CI: the missing data set fails with its message', () => {
  const { out, last } = runFixture({ CI: 'true' });
  assert.is(last, 'tests: 2 passed, 4 failed', out);
  assert.match(out, /the fixture data set is missing: install it \(required here: CI=true or CAMLIGHT_STRICT=1\)/);
  assert.not.match(out, /skipped:/);
});

s.run();
