// The browser's (and Deno's) FileSource: files fetched relative to a base URL, so a model folder
// served next to the page loads the same way as a folder on disk does in Node.
import { FileNotFoundError, type FileSource } from './files.ts';

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
  return {
    async read(path) {
      const u = url(path);
      let res: Response;
      try {
        res = await fetchImpl(u, init);
      } catch (e) {
        throw new Error(`could not fetch ${u}: ${(e as Error).message}`, { cause: e });
      }
      if (res.status === 404 || res.status === 410) throw new FileNotFoundError(path, u, `HTTP ${res.status}`);
      if (!res.ok) throw new Error(`could not fetch ${u}: HTTP ${res.status} ${res.statusText}`);
      return new Uint8Array(await res.arrayBuffer());
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

function withSlash(s: string): string {
  return s === '' || s.endsWith('/') ? s : s + '/';
}
