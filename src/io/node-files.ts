// Node's FileSource: files relative to a base folder on disk. The only module under src/io with
// `node:` imports; the Node platform entry (src/platform/node.ts) hands it to the loaders for plain paths.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { FileNotFoundError, type FileSource } from './files.ts';

/**
 * Reads (and writes) files under `base` (default: the current folder).
 * @example
 *   const files = nodeFiles('models/vgg19');
 *   const json = await files.read('model.json');
 */
export function nodeFiles(base = '.'): FileSource {
  const root = resolve(base);
  const abs = (path: string) => resolve(root, path);
  return {
    async read(path) {
      try {
        const buf = await readFile(abs(path));
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === 'ENOENT' || code === 'ENOTDIR') throw new FileNotFoundError(path, abs(path));
        throw e;
      }
    },
    async exists(path) {
      try {
        return (await stat(abs(path))).isFile();
      } catch {
        return false;
      }
    },
    async write(path, data) {
      await mkdir(dirname(abs(path)), { recursive: true });
      await writeFile(abs(path), data);
    },
    describe(path) {
      return abs(path);
    },
    async list(dir) {
      const ents = await readdir(abs(dir || '.'), { withFileTypes: true });
      return ents.map((e) => ({ name: e.name, folder: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  };
}
