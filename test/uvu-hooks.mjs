// Module resolve hook the test runner registers (test/run.ts): test files' `import ... from 'uvu'`
// gets test/uvu-suite.ts, uvu itself with suite() wrapped so hook failures are reported with their
// message. The wrapper's own import of uvu resolves normally.
const shim = new URL('./uvu-suite.ts', import.meta.url).href;

export async function resolve(specifier, context, next) {
  // Resolved through the rest of the chain (tsx) so the .ts file is loaded as TypeScript.
  if (specifier === 'uvu' && context.parentURL !== shim) return next(shim, context);
  return next(specifier, context);
}
