// The browser's (and Deno's) FileSource: files fetched relative to a base URL, so a model folder
// served next to the page loads the same way as a folder on disk does in Node.
import { FileNotFoundError, FileTooLargeError, PathOutsideError, type FileSource } from './files.ts';

/**
 * Fetches files relative to `base` (a URL or a path relative to the page; a trailing '/' is
 * added so 'models/vgg' means the folder). `fetchImpl` replaces the global fetch (tests, auth).
 * @example
 *   const files = fetchFiles('https://example.com/models/vgg19/');
 *   const model = await loadLayersModel({ source: files, path: 'model.json' });
 */
export function fetchFiles(base: string | URL, fetchImpl: typeof fetch = (...a) => fetch(...a), init?: RequestInit): FileSource {
  const baseHref = withSlash(String(base));
  const url = (path: string): string => {
    const pageBase = (globalThis as { location?: { href: string } }).location?.href;
    try {
      return new URL(path, pageBase ? new URL(baseHref, pageBase) : new URL(baseHref)).href;
    } catch {
      // No absolute base anywhere (a relative base outside a page): keep it relative.
      return baseHref + path;
    }
  };
  // Every file read must stay on the base's origin and under its folder (a model.json cannot
  // send the loader to another server or up the site's tree).
  const under = (u: string): void => {
    const top = url('');
    let a: URL, b: URL;
    try {
      a = new URL(u);
      b = new URL(top);
    } catch {
      if (!u.startsWith(top)) throw new PathOutsideError(`${u} is outside the model's folder ${top}`);
      return;
    }
    if (a.origin !== b.origin || !a.href.startsWith(b.href)) throw new PathOutsideError(`${u} is outside the model's folder ${top}; a model may only name files under its own URL`);
  };
  return {
    async read(path, opts) {
      const u = url(path);
      under(u);
      let res: Response;
      try {
        res = await fetchImpl(u, init);
      } catch (e) {
        throw new Error(`could not fetch ${u}: ${(e as Error).message}`, { cause: e });
      }
      if (res.status === 404 || res.status === 410) throw new FileNotFoundError(path, u, `HTTP ${res.status}`);
      if (!res.ok) throw new Error(`could not fetch ${u}: HTTP ${res.status} ${res.statusText}`);
      const max = opts?.maxBytes;
      if (max === undefined) return new Uint8Array(await res.arrayBuffer());
      const declared = Number(res.headers?.get?.('content-length') ?? NaN);
      if (declared > max) throw new FileTooLargeError(path, u, declared, max);
      return readCapped(res, max, path, u);
    },
    async exists(path) {
      try {
        const res = await fetchImpl(url(path), { ...init, method: 'HEAD' });
        return res.ok;
      } catch {
        return false;
      }
    },
    describe(path) {
      return url(path);
    },
  };
}

/** A response body, read chunk by chunk and abandoned as soon as it passes `max` bytes. */
async function readCapped(res: Response, max: number, path: string, u: string): Promise<Uint8Array> {
  const reader = res.body?.getReader();
  if (!reader) {
    const all = new Uint8Array(await res.arrayBuffer());
    if (all.length > max) throw new FileTooLargeError(path, u, all.length, max);
    return all;
  }
  const parts: Uint8Array[] = [];
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    n += value.length;
    if (n > max) {
      await reader.cancel().catch(() => {});
      throw new FileTooLargeError(path, u, n, max);
    }
    parts.push(value);
  }
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function withSlash(s: string): string {
  return s === '' || s.endsWith('/') ? s : s + '/';
}
