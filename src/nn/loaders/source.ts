// Turns what a user hands a loader (a path, a URL, a FileSource) into a FileSource plus the
// file's path inside it, picking the Node adapter only in Node so the core stays web-standard.
import { basename, dirname, type FileSource } from '../../io/files.ts';
import { fetchFiles } from '../../io/fetch-files.ts';
import { platform } from '../../platform/hooks.ts';

/** A file inside a FileSource. */
export interface FileRef {
  source: FileSource;
  path: string;
}

/** What the loaders accept: a path (Node) or URL, a FileSource (its `defaultName` is read), or both. */
export type Location = string | URL | FileSource | FileRef;

const hasScheme = (s: string): boolean => /^[a-z][a-z0-9+.-]*:\/\//i.test(s);

/**
 * Resolves a location to a FileSource rooted at the file's folder and the file's name.
 * @example
 *   const { source, path } = await resolveLocation('models/vgg19/model.json', 'model.json');
 */
export async function resolveLocation(loc: Location, defaultName: string): Promise<FileRef> {
  if (typeof loc === 'object' && !(loc instanceof URL)) {
    if ('source' in loc && 'path' in loc) return loc;
    return { source: loc as FileSource, path: defaultName };
  }
  const s = String(loc);
  // A platform with a disk (Node, Deno) reads plain paths from it; the web fetches them.
  const folder = platform().folder;
  if (folder && (!hasScheme(s) || s.startsWith('file://'))) {
    const filePath = s.startsWith('file://') ? decodeURIComponent(new URL(s).pathname) : s;
    const modelFile = platform().modelFile;
    if (modelFile) return modelFile(filePath);
    return { source: folder(dirname(filePath) || '.'), path: basename(filePath) };
  }
  const i = s.lastIndexOf('/');
  return { source: fetchFiles(i < 0 ? '' : s.slice(0, i + 1)), path: s.slice(i + 1) };
}

/**
 * Resolves a save target: a folder path (Node), or a FileSource that can write.
 * @example
 *   const sink = await resolveSink('weights/vgg19');
 */
export async function resolveSink(target: string | FileSource): Promise<FileSource> {
  if (typeof target !== 'string') {
    if (!target.write) throw new Error('saving needs a FileSource with write() (nodeFiles(dir) in Node, memoryFiles() anywhere)');
    return target;
  }
  const folder = platform().folder;
  if (!folder) throw new Error(`cannot save to the path '${target}' in a browser: pass a FileSource with write() (e.g. memoryFiles())`);
  return folder(target);
}
