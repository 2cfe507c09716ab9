// Node's FileSource: files relative to a base folder on disk. The only module under src/io with
// `node:` imports; the Node platform entry (src/platform/node.ts) hands it to the loaders for plain paths.
// Reads open only regular files (a FIFO or /dev/zero would block or never end) and are bounded;
// writes go to a temporary file renamed into place, so a reader never sees half a file.
import { constants } from 'node:fs';
import { mkdir, open, readdir, realpath, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { FileNotFoundError, FileTooLargeError, PathOutsideError, type FileSource, type ReadOptions } from './files.ts';

/** Options of nodeFiles. */
export interface NodeFilesOptions {
  /**
   * Refuse reads whose real path (symlinks followed) is outside the base folder: for the files
   * a model names (shards, labels), so a link out of the model's folder is not followed.
   */
  confine?: boolean;
}

/** A plain, user-facing message for a file system error code, or null for an unusual one. */
function fsReason(code: string | undefined): string | null {
  switch (code) {
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EISDIR': return 'it is a folder, not a file';
    case 'ENOTDIR': return 'a part of the path is a file, not a folder';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOSPC': return 'the disk is full';
    case 'EDQUOT': return 'the disk quota is exhausted';
    case 'ENAMETOOLONG': return 'the name is too long';
    case 'ELOOP': return 'too many symbolic links';
    case 'EEXIST': return 'it already exists';
    case 'ENOENT': return 'no such file or folder';
    case 'EMFILE': case 'ENFILE': return 'too many open files';
    case 'EIO': return 'an input/output error';
    default: return null;
  }
}

/** An Error for a failed file operation: the path, what was attempted, and why in plain words. */
export function fileError(e: unknown, what: string, path: string): Error {
  const code = (e as { code?: string }).code;
  const reason = fsReason(code) ?? (code ? `error ${code}` : e instanceof Error ? e.message : String(e));
  return new Error(`cannot ${what} ${path}: ${reason}`, { cause: e });
}

/** What kind of special file a Stats is, for "not a regular file" messages. */
function kind(s: { isDirectory(): boolean; isFIFO(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (s.isDirectory()) return 'a folder';
  if (s.isFIFO()) return 'a named pipe (FIFO)';
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device';
  if (s.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a whole regular file, refusing folders, FIFOs, devices and sockets by type (before
 * opening, and again on the open handle), and files over `maxBytes`. Opening never blocks:
 * O_NONBLOCK keeps a FIFO swapped in between the two checks from waiting for a writer.
 * @example
 *   const bytes = await readRegularFile('photos/cat.png', { maxBytes: 64 << 20 });
 */
export async function readRegularFile(path: string, opts: ReadOptions & { shown?: string; relPath?: string } = {}): Promise<Uint8Array> {
  const shown = opts.shown ?? path;
  const s = await stat(path).catch((e: { code?: string }) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') throw new FileNotFoundError(opts.relPath ?? path, shown);
    throw fileError(e, 'read', shown);
  });
  if (!s.isFile()) throw new Error(`cannot read ${shown}: it is ${kind(s)}; camlight reads only regular files`);
  if (opts.maxBytes !== undefined && s.size > opts.maxBytes) throw new FileTooLargeError(opts.relPath ?? path, shown, s.size, opts.maxBytes);
  const fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch((e) => {
    throw fileError(e, 'read', shown);
  });
  try {
    const fs2 = await fh.stat();
    if (!fs2.isFile()) throw new Error(`cannot read ${shown}: it is ${kind(fs2)}; camlight reads only regular files`);
    if (opts.maxBytes !== undefined && fs2.size > opts.maxBytes) throw new FileTooLargeError(opts.relPath ?? path, shown, fs2.size, opts.maxBytes);
    // Read exactly the size stat reported: a file that grows meanwhile is not followed.
    const out = new Uint8Array(fs2.size);
    let got = 0;
    while (got < out.length) {
      const { bytesRead } = await fh.read(out, got, out.length - got, got).catch((e) => {
        throw fileError(e, 'read', shown);
      });
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return got === out.length ? out : out.subarray(0, got);
  } finally {
    await fh.close();
  }
}

/**
 * Creates a folder and its missing parents one level at a time (never Node's recursive mkdir,
 * which can loop forever on /proc), and fails with a plain message when a part of the path is a
 * file or cannot be created. Resolves to the absolute path.
 * @example
 *   await safeMkdir('runs/fashion/checkpoint');
 */
export async function safeMkdir(dir: string, shown = dir): Promise<string> {
  if (dir === '') throw new Error('an empty folder name was given; name the folder to write to');
  const abs = resolve(dir);
  const parts = abs.split(sep).filter(Boolean);
  let cur = abs.startsWith(sep) ? sep : '';
  for (const part of parts) {
    cur = cur === sep || cur === '' ? `${cur}${part}` : `${cur}${sep}${part}`;
    const s = await stat(cur).catch((e: { code?: string }) => (e.code === 'ENOENT' ? null : Promise.reject(fileError(e, 'create the folder', shown))));
    if (s?.isDirectory()) continue;
    if (s) throw new Error(`cannot create the folder ${shown}: ${cur} exists and is ${kind(s) === 'not a regular file' ? 'a file' : kind(s)}, not a folder; choose another path`);
    try {
      await mkdir(cur);
    } catch (e) {
      if ((e as { code?: string }).code === 'EEXIST' && (await stat(cur).catch(() => null))?.isDirectory()) continue;
      throw fileError(e, 'create the folder', shown);
    }
  }
  return abs;
}

/**
 * Writes a file atomically: the data goes to a temporary file in the same folder, which is
 * then renamed over `path` (a rename within a folder is atomic on POSIX file systems), so an
 * interrupted write leaves the old file or the new one, never a mix.
 * @example
 *   await atomicWrite('out/cams.json', JSON.stringify(doc));
 */
export async function atomicWrite(path: string, data: Uint8Array | string, shown = path): Promise<void> {
  const tmp = `${dirname(path)}${sep}.${path.slice(dirname(path).length + 1)}.${process.pid}.${Math.random().toString(36).slice(2, 8)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await unlink(tmp).catch(() => {});
    throw fileError(e, 'write', shown);
  }
}

/**
 * Checks, before any work, that `dir` can be written: creates it (and its parents) and writes
 * and removes a probe file. Errors name the folder and the reason.
 * @example
 *   await checkWritableFolder('camlight-cams', '--out');
 */
export async function checkWritableFolder(dir: string, option: string): Promise<string> {
  let abs: string;
  try {
    abs = await safeMkdir(dir);
  } catch (e) {
    throw new Error(`${option} ${dir}: ${(e as Error).message.replace(/^cannot /, 'cannot ')}`);
  }
  const probe = `${abs}${sep}.camlight-probe-${process.pid}`;
  try {
    await writeFile(probe, '');
  } catch (e) {
    throw new Error(`${option} ${dir}: ${fileError(e, 'write into', dir).message}; choose a folder you can write to`);
  }
  await rm(probe, { force: true });
  return abs;
}

/** True when `child` is `root` or inside it (both absolute). */
function inside(root: string, child: string): boolean {
  const r = relative(root, child);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}

/**
 * Reads (and writes) files under `base` (default: the current folder).
 * @example
 *   const files = nodeFiles('models/vgg19');
 *   const json = await files.read('model.json');
 */
export function nodeFiles(base = '.', opts: NodeFilesOptions = {}): FileSource {
  const root = resolve(base);
  const abs = (path: string) => resolve(root, path);
  let realRoot: Promise<string> | null = null;
  const confined = async (path: string): Promise<void> => {
    if (!opts.confine) return;
    realRoot ??= realpath(root).catch(() => root);
    const real = await realpath(abs(path)).catch(() => null);
    // A missing file is reported by the read itself; a link out of the folder is refused
    // without saying anything about its target.
    if (real && !inside(await realRoot, real)) throw new PathOutsideError(`${abs(path)} is a link to a file outside the model's folder ${root}; copy the file into the folder instead`);
    if (!inside(root, abs(path))) throw new PathOutsideError(`${path} is outside the model's folder ${root}`);
  };
  return {
    async read(path, o) {
      await confined(path);
      return readRegularFile(abs(path), { ...o, relPath: path, shown: abs(path) });
    },
    async exists(path) {
      try {
        await confined(path);
        return (await stat(abs(path))).isFile();
      } catch {
        return false;
      }
    },
    async write(path, data) {
      await safeMkdir(dirname(abs(path)));
      await atomicWrite(abs(path), data);
    },
    describe(path) {
      return abs(path);
    },
    async list(dir) {
      const ents = await readdir(abs(dir || '.'), { withFileTypes: true }).catch((e) => {
        throw fileError(e, 'list', abs(dir || '.'));
      });
      return ents.map((e) => ({ name: e.name, folder: e.isDirectory() })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
  };
}

/**
 * The FileSource and path for a model file given by path: rooted at the file's folder and
 * confined to it (the folder the file really lives in, when the file itself is a link).
 * @example
 *   const { source, path } = await nodeModelFiles('models/vgg19/model.json');
 */
export async function nodeModelFiles(filePath: string): Promise<{ source: FileSource; path: string }> {
  const real = await realpath(filePath).catch(() => resolve(filePath));
  return { source: nodeFiles(dirname(real), { confine: true }), path: real.slice(dirname(real).length + 1) };
}
