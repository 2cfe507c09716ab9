// The error loaders throw for files that are missing, short, malformed or of a format camlight
// does not read; every message names the file and says what to do.

/** A model file could not be loaded; the message names the file and the fix. */
export class ModelLoadError extends Error {
  override name = 'ModelLoadError';
}

/**
 * Prefixes an error's message with the file it came from, keeping its class (ShapeError from
 * setWeights stays a ShapeError) and its stack.
 * @example
 *   try { model.setWeights(w); } catch (e) { throw withFile(e, 'vgg19.h5'); }
 */
export function withFile(e: unknown, where: string): unknown {
  if (e instanceof Error && !e.message.startsWith(where)) e.message = `${where}: ${e.message}`;
  return e;
}
