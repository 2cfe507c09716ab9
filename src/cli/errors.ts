// How the CLI ends on an error: exit code 1 for what the user can fix (a file, an option, the
// machine's setup; the message names it, one line) and 2 for camlight's own bugs (JavaScript's
// TypeError & co., a WGSL kernel the GPU rejects), with a hint to rerun with CAMLIGHT_DEBUG=1,
// which alone shows the stack.

/** Exit codes: 0 done, 1 the user's mistake, 2 camlight's internal error. */
export const EXIT = { ok: 0, user: 1, internal: 2 } as const;

/**
 * Errors that mean a bug in camlight rather than a mistake in the input: the language's own
 * (a property of undefined, an array length out of range…), failed assertions, and GPU
 * validation of camlight's kernels. Every error camlight raises on purpose is a plain Error or
 * one of its named classes (UsageError, ModelLoadError, ImageDecodeError…), and carries a message
 * for the user. A SyntaxError counts as the user's: JSON.parse of a user's file raises it.
 */
const INTERNAL = new Set(['TypeError', 'ReferenceError', 'RangeError', 'EvalError', 'AssertionError', 'GpuKernelError', 'InternalError']);

export function isInternal(e: unknown): boolean {
  if (!(e instanceof Error)) return true; // something thrown that is not an Error at all
  return INTERNAL.has(e.name) || INTERNAL.has(e.constructor?.name ?? '');
}

/**
 * Prints the error for command `name` and returns the exit code: one line for the user's errors;
 * for internal ones the line plus the hint, and the stack only with CAMLIGHT_DEBUG=1.
 * @example
 *   catch (e) { return reportError('cam', e); }
 */
export function reportError(name: string, e: unknown, env = process.env, err: (s: string) => void = (s) => console.error(s)): number {
  const msg = (e instanceof Error ? e.message : String(e)).replace(/\s*\n\s*/g, ' ');
  const debug = env.CAMLIGHT_DEBUG === '1';
  if (!isInternal(e)) {
    err(`camlight ${name}: ${msg}`);
    if (debug && e instanceof Error && e.stack) err(e.stack);
    return EXIT.user;
  }
  const kind = e instanceof Error ? e.name : typeof e;
  err(`camlight ${name}: internal error (${kind}: ${msg}); this is a bug in camlight: ${debug ? 'the stack follows' : 'rerun with CAMLIGHT_DEBUG=1 for the stack'} and report it`);
  if (debug && e instanceof Error && e.stack) err(e.stack);
  return EXIT.internal;
}
