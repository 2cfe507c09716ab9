// Downloads one file into a cache folder (Node only): streamed to a temporary file beside the
// target, hashed on the way, and renamed into place only when complete and verified, so a
// failed, truncated or corrupted download never leaves a file under the final name.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A download that failed; the message names the URL and what to do. */
export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(message: string, readonly url: string) {
    super(message);
  }
}

export interface DownloadOptions {
  /** The expected digest: 32 hex digits are MD5, 64 are SHA-256 (as Keras's get_file decides). */
  hash?: string;
  /**
   * Told the byte count as it grows (the CLI passes its progress line, src/cli/progress.ts);
   * `start` gets the announced size when the server gives one. Default: none.
   */
  progress?: DownloadProgress | null;
  /** Appended to every error message (e.g. which environment variable points at a mirror). */
  hint?: string;
}

/** What download() reports progress to. */
export interface DownloadProgress {
  start(total: number | null): void;
  update(got: number): void;
  done(got: number): void;
  /** The download failed (an error message follows). */
  abort(): void;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

/** 'md5' or 'sha256' from the digest's length. */
function hashKind(hash: string): 'md5' | 'sha256' {
  if (/^[0-9a-f]{32}$/i.test(hash)) return 'md5';
  if (/^[0-9a-f]{64}$/i.test(hash)) return 'sha256';
  throw new Error(`expected hash '${hash}' is neither MD5 (32 hex digits) nor SHA-256 (64)`);
}

/**
 * Fetches `url` (https:, or http: for a local mirror) to `dest`, checking the size the server
 * announced and the digest. Resolves to the number of bytes written.
 * @example
 *   await download('https://example.com/w.h5', '/home/me/.cache/camlight/downloads/w.h5', { hash: '6437…' });
 */
export async function download(url: string, dest: string, opts: DownloadOptions = {}): Promise<number> {
  const hint = opts.hint ? `; ${opts.hint}` : '';
  const fail = (what: string) => new DownloadError(`download of ${url} failed: ${what}${hint}`, url);
  if (!/^https?:\/\//i.test(url)) throw fail('only https:// (or http:// for a local mirror) URLs can be downloaded');
  const kind = opts.hash ? hashKind(opts.hash) : null;
  await mkdir(dirname(dest), { recursive: true });
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${Date.now()}.part`);
  const p = opts.progress ?? null;
  try {
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow' });
    } catch (e) {
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw fail(cause?.code ?? cause?.message ?? (e as Error).message);
    }
    if (!res.ok || !res.body) throw fail(`the server answered ${res.status} ${res.statusText}`.trim());
    const lenHeader = res.headers.get('content-length');
    const total = lenHeader !== null && /^\d+$/.test(lenHeader) ? Number(lenHeader) : null;
    p?.start(total);
    const hasher = kind ? createHash(kind) : null;
    const file = createWriteStream(tmp);
    const fileDone = new Promise<void>((resolve, reject) => {
      file.on('finish', resolve);
      file.on('error', reject);
    });
    let got = 0;
    try {
      const reader = res.body.getReader();
      for (;;) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (e) {
          throw fail(`the connection broke after ${mb(got)}${total ? ` of ${mb(total)}` : ''} (${(e as Error).message})`);
        }
        if (chunk.done) break;
        got += chunk.value.length;
        hasher?.update(chunk.value);
        if (!file.write(chunk.value)) await new Promise<void>((r) => file.once('drain', () => r()));
        p?.update(got);
      }
    } finally {
      file.end();
      await fileDone;
    }
    if (total !== null && got !== total) throw fail(`received ${got} bytes of the ${total} announced (truncated)`);
    if (hasher && kind) {
      const digest = hasher.digest('hex');
      if (digest.toLowerCase() !== opts.hash!.toLowerCase()) {
        throw fail(`${kind.toUpperCase()} of the ${got} bytes received is ${digest}, expected ${opts.hash} (corrupted file or wrong mirror)`);
      }
    }
    await rename(tmp, dest);
    p?.done(got);
    return got;
  } catch (e) {
    p?.abort();
    await rm(tmp, { force: true });
    throw e;
  }
}
