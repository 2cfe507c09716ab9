// uvu with its suite() wrapped, so that hook failures are reported rather than swallowed: uvu
// 0.5.6 runs a suite's `before` hooks inside try/finally with a `return` in the finally, which
// drops the exception, and its tests then count as failed with no message. Here an exception in a
// `before` hook is kept and every test of the suite fails with it (through a `before.each` hook,
// i.e. uvu's own per-test error report); an exception in an `after` hook is recorded for the
// runner (test/run.ts), which prints it and counts it as a failure. Everything else is uvu's.
import * as uvu from 'uvu';

export * from 'uvu';

type Ctx = Record<string, unknown>;
type Hook = (ctx: Ctx) => unknown;

/** After-hook failures, read by test/run.ts. */
export const hookFailures: { suite: string; error: Error }[] = [];
(globalThis as { CAMLIGHT_HOOK_FAILURES?: typeof hookFailures }).CAMLIGHT_HOOK_FAILURES = hookFailures;

const asError = (e: unknown) => (e instanceof Error ? e : new Error(String(e)));

export const suite = (<T = uvu.Context>(name = '', state?: T): uvu.Test<T> => {
  const t = uvu.suite<T>(name, state);
  let failed: Error | null = null;
  const { before, after } = t;
  const wrappedBefore = Object.assign((fn: Hook) => before(async (ctx: Ctx) => {
    if (failed) return;
    try {
      await fn(ctx);
    } catch (e) {
      failed = asError(e);
    }
  }), { each: before.each });
  const wrappedAfter = Object.assign((fn: Hook) => after(async (ctx: Ctx) => {
    try {
      await fn(ctx);
    } catch (e) {
      hookFailures.push({ suite: name, error: asError(e) });
    }
  }), { each: after.each });
  // Registered first, so it runs before the suite's own before.each hooks.
  before.each(() => {
    if (!failed) return;
    const err = new Error(`the suite's before hook failed, so this test did not run: ${failed.message}`);
    err.stack = `${err.name}: ${err.message}\n${(failed.stack ?? '').split('\n').slice(1).join('\n')}`;
    throw err;
  });
  (t as unknown as { before: unknown }).before = wrappedBefore;
  (t as unknown as { after: unknown }).after = wrappedAfter;
  return t;
}) as typeof uvu.suite;
