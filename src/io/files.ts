// The one file-access interface the loaders use, so the same loader code reads model files from
// a Node folder, a web server or memory. Adapters: node-files.ts (Node), fetch-files.ts (web).

/**
 * Where model files come from (and, for saving, go to). Paths are '/'-separated and relative
 * to the source's base (a folder, a URL, a map's keys).
 */
export interface FileSource {
  /**
   * The whole file; rejects with FileNotFoundError when it does not exist, and with
   * FileTooLargeError when it holds more than `opts.maxBytes` (checked before reading it all).
   */
  read(path: string, opts?: ReadOptions): Promise<Uint8Array>;
  /** True when the file exists (optional: loaders fall back to read()). */
  exists?(path: string): Promise<boolean>;
  /** Writes a file, creating folders as needed (only sources that can save have it). */
  write?(path: string, data: Uint8Array | string): Promise<void>;
  /** Where a path points, for error messages (an absolute file path, a full URL). */
  describe?(path: string): string;
  /** A folder's entries, sorted by name (only sources that can list, e.g. the Node one). */
  list?(dir: string): Promise<FolderEntry[]>;
}

/** Bounds on a read. */
export interface ReadOptions {
  /** Refuse files larger than this many bytes (the size the format says the file has). */
  maxBytes?: number;
}

/** One entry of a folder listing. */
export interface FolderEntry {
  name: string;
  folder: boolean;
}

/** A file a FileSource was asked for is not there (404, ENOENT, missing key). */
export class FileNotFoundError extends Error {
  override name = 'FileNotFoundError';
  constructor(
    readonly path: string,
    readonly where: string,
    detail = '',
  ) {
    super(`file not found: ${where}${detail ? ` (${detail})` : ''}`);
  }
}

/** A file is larger than the caller allows (a shard longer than its manifest, a huge image). */
export class FileTooLargeError extends Error {
  override name = 'FileTooLargeError';
  constructor(
    readonly path: string,
    readonly where: string,
    readonly size: number,
    readonly maxBytes: number,
  ) {
    super(`${where} holds ${size} bytes, more than the ${maxBytes} expected`);
  }
}

/** A model file names a path outside the model's folder (or a URL elsewhere); nothing was read. */
export class PathOutsideError extends Error {
  override name = 'PathOutsideError';
}

/**
 * Joins a path that a model file names (`rel`, e.g. a shard path from model.json) to the folder
 * `base` of that file, refusing anything that would leave the folder: '..' above it, absolute
 * paths, URLs (any 'scheme:'), backslashes and NUL bytes. The error names only the path as
 * written in the file, never anything about what lies outside.
 * @example
 *   confinedJoin('models/vgg', 'group1-shard1of2.bin', 'model.json', 'weight shard'); // 'models/vgg/group1-shard1of2.bin'
 *   confinedJoin('models/vgg', '../secret.bin', 'model.json', 'weight shard');        // throws PathOutsideError
 */
export function confinedJoin(base: string, rel: unknown, where: string, what: string): string {
  if (typeof rel !== 'string' || rel === '') throw new PathOutsideError(`${where}: a ${what} path must be a non-empty string, got ${JSON.stringify(rel) ?? String(rel)}`);
  const shown = JSON.stringify(rel.length > 200 ? rel.slice(0, 200) + '…' : rel);
  const refuse = (why: string) => new PathOutsideError(`${where}: the ${what} path ${shown} ${why}; a model may only name files inside its own folder`);
  if (/[\\\0]/.test(rel)) throw refuse('holds a backslash or NUL byte');
  if (rel.startsWith('/')) throw refuse('is absolute');
  if (/^[a-z][a-z0-9+.-]*:/i.test(rel)) throw refuse('is a URL');
  const norm = joinPath(rel);
  if (norm === '' || norm === '..' || norm.startsWith('../')) throw refuse('leads out of the folder');
  return joinPath(base, norm);
}

/**
 * The location of `path` in `source` as a person would look for it (for error messages).
 * @example
 *   describePath(nodeFiles('models'), 'vgg/model.json'); // '/home/me/models/vgg/model.json'
 */
export function describePath(source: FileSource, path: string): string {
  return source.describe?.(path) ?? path;
}

/**
 * Joins '/'-separated path pieces, resolving '.' and '..' (a leading '/' or URL scheme is kept).
 * @example
 *   joinPath('models/vgg', '../shared/group1-shard1of1.bin'); // 'models/shared/group1-shard1of1.bin'
 */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  const absolute = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..' && out.length && out[out.length - 1] !== '..') out.pop();
    else if (seg === '..' && absolute) continue;
    else out.push(seg);
  }
  return (absolute ? '/' : '') + out.join('/');
}

/**
 * The folder part of a '/'-separated path ('' for a bare file name).
 * @example
 *   dirname('models/vgg/model.json'); // 'models/vgg'
 */
export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : i === 0 ? '/' : path.slice(0, i);
}

/**
 * The last piece of a '/'-separated path.
 * @example
 *   basename('models/vgg/model.json'); // 'model.json'
 */
export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/**
 * A FileSource over an in-memory map (browser uploads, tests, saving into memory).
 * Writes land in the same map.
 * @example
 *   const files = memoryFiles({ 'model.json': json, 'group1-shard1of1.bin': bytes });
 *   const model = await loadLayersModel({ source: files, path: 'model.json' });
 */
export function memoryFiles(initial: Record<string, Uint8Array | string> | Map<string, Uint8Array> = {}): FileSource & {
  files: Map<string, Uint8Array>;
} {
  const enc = new TextEncoder();
  const files = new Map<string, Uint8Array>();
  const entries = initial instanceof Map ? [...initial] : Object.entries(initial);
  for (const [k, v] of entries) files.set(joinPath(k), typeof v === 'string' ? enc.encode(v) : v);
  return {
    files,
    async read(path, opts) {
      const data = files.get(joinPath(path));
      if (!data) throw new FileNotFoundError(path, `memory:${joinPath(path)}`, `have: ${[...files.keys()].join(', ') || 'nothing'}`);
      if (opts?.maxBytes !== undefined && data.length > opts.maxBytes) throw new FileTooLargeError(path, `memory:${joinPath(path)}`, data.length, opts.maxBytes);
      return data;
    },
    async exists(path) {
      return files.has(joinPath(path));
    },
    async write(path, data) {
      files.set(joinPath(path), typeof data === 'string' ? enc.encode(data) : data);
    },
    describe(path) {
      return `memory:${joinPath(path)}`;
    },
  };
}

/**
 * Where a JSON text stops parsing, in words for an error message ("at character 1234"), from a
 * JSON.parse error; engines word their messages differently (and quote the bad text), so only
 * the position is kept.
 * @example
 *   try { JSON.parse(text); } catch (e) { throw new Error(`model.json is not valid JSON (${jsonErrorAt(e, text)})`); }
 */
export function jsonErrorAt(e: unknown, text: string): string {
  const m = /position (\d+)/.exec(e instanceof Error ? e.message : '');
  if (m) {
    const at = Number(m[1]);
    const line = text.slice(0, at).split('\n').length;
    return `malformed at character ${at + 1}${line > 1 ? `, line ${line}` : ''}`;
  }
  return /end of (JSON )?input|Unterminated/i.test(e instanceof Error ? e.message : '') ? 'it ends early: truncated?' : 'malformed';
}

/**
 * Decodes UTF-8 bytes (model.json).
 * @example
 *   JSON.parse(utf8(await files.read('model.json')));
 */
export function utf8(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/**
 * The files under `dir` of another source, as a source of their own (saving into a subfolder).
 * @example
 *   const vgg = subFolder(nodeFiles('weights'), 'vgg19'); // reads and writes weights/vgg19/…
 */
export function subFolder(source: FileSource, dir: string): FileSource {
  const at = (p: string) => joinPath(dir, p);
  return {
    read: (p, o) => source.read(at(p), o),
    ...(source.exists ? { exists: (p: string) => source.exists!(at(p)) } : {}),
    ...(source.write ? { write: (p: string, d: Uint8Array | string) => source.write!(at(p), d) } : {}),
    describe: (p) => describePath(source, at(p)),
  };
}
