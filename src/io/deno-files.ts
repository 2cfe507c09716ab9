// Deno's FileSource: files under a base folder read with Deno.readFile, so a model on disk
// loads with nothing beyond --allow-read for its folder. Uses only the global `Deno`.
import { FileNotFoundError, joinPath, type FileSource } from './files.ts';

interface DenoFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  mkdir(path: string, o: { recursive: boolean }): Promise<void>;
  stat(path: string): Promise<{ isFile: boolean }>;
  readDir(path: string): AsyncIterable<{ name: string; isDirectory: boolean }>;
  cwd(): string;
  errors: { NotFound: new () => Error };
}

/**
 * Reads (and writes) files under `base` (default: the current folder) in Deno.
 * @example
 *   const files = denoFiles('models/vgg19');
 *   const json = await files.read('model.json');
 */
export function denoFiles(base = '.'): FileSource {
  const deno = (globalThis as unknown as { Deno: DenoFs }).Deno;
  // Deno.cwd() needs read permission for '.', so a relative base stays relative.
  const abs = (path: string) => joinPath(base, path) || '.';
  return {
    async read(path) {
      try {
        return await deno.readFile(abs(path));
      } catch (e) {
        if (e instanceof deno.errors.NotFound) throw new FileNotFoundError(path, abs(path));
        throw e;
      }
    },
    async exists(path) {
      try {
        return (await deno.stat(abs(path))).isFile;
      } catch {
        return false;
      }
    },
    async write(path, data) {
      const file = abs(path);
      const slash = file.lastIndexOf('/');
      if (slash > 0) await deno.mkdir(file.slice(0, slash), { recursive: true });
      await deno.writeFile(file, typeof data === 'string' ? new TextEncoder().encode(data) : data);
    },
    describe(path) {
      return abs(path);
    },
    async list(dir) {
      const out: { name: string; folder: boolean }[] = [];
      for await (const e of deno.readDir(abs(dir))) out.push({ name: e.name, folder: e.isDirectory });
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  };
}
