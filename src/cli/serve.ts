// `camlight serve [DIR]`: the static page (web/, built into dist/web) on localhost, with the
// model folders under DIR offered as demo models (models/index.json lists them). The page does
// all the work on the browser's GPU; this server only hands out files.
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { basename, extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, UsageError } from './args.ts';

const USAGE = 'usage: camlight serve [DIR] [--port 8080] [--host 127.0.0.1]';
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.json': 'application/json',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.bin': 'application/octet-stream', '.h5': 'application/octet-stream',
  '.wasm': 'application/wasm', '.ttf': 'font/ttf', '.txt': 'text/plain; charset=utf-8',
};

/** dist/web beside the running code: dist/cli/serve.js (installed) or src/cli/serve.ts (clone). */
function pageDir(): string {
  for (const rel of ['../web/', '../../dist/web/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(join(dir, 'index.html'))) return dir;
  }
  throw new Error('the page is not built (dist/web/index.html is missing): run `npm run build` in the camlight checkout first');
}

/** Model folders: DIR itself when it holds model.json, else its sub-folders that do. */
function modelFolders(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (existsSync(join(dir, 'model.json'))) out.set(basename(dir), dir);
  else {
    for (const name of readdirSync(dir).sort()) {
      const sub = join(dir, name);
      if (statSync(sub).isDirectory() && existsSync(join(sub, 'model.json'))) out.set(name, sub);
    }
  }
  return out;
}

/**
 * Serves the page until interrupted (Ctrl-C); resolves to the exit code.
 * @example
 *   await serveCommand(['weights', '--port', '8080']);
 */
export async function serveCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(`${USAGE}\n\n  Serves the page (dist/web) on localhost; DIR's model folders (each with a model.json) are offered as demos.`);
    return 0;
  }
  const a = parseArgs(argv, ['port', 'host'], []);
  if (a.positional.length > 1) throw new UsageError(`serve takes at most one folder\n${USAGE}`);
  const port = Number(a.values.get('port') ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0..65535, got ${a.values.get('port')}\n${USAGE}`);
  const host = a.values.get('host') ?? '127.0.0.1';
  const web = pageDir();
  const modelsDir = a.positional[0] ? resolve(a.positional[0]) : null;
  if (modelsDir && !(existsSync(modelsDir) && statSync(modelsDir).isDirectory())) throw new UsageError(`${modelsDir} is not a folder\n${USAGE}`);
  const models = modelsDir ? modelFolders(modelsDir) : new Map<string, string>();

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    let file: string | null = null;
    if (path === '/models/index.json') {
      res.writeHead(200, { 'content-type': TYPES['.json']! }).end(JSON.stringify([...models.keys()]));
      return;
    }
    const m = /^\/models\/([^/]+)\/(.+)$/.exec(path);
    if (m && models.has(m[1]!)) file = inside(models.get(m[1]!)!, m[2]!);
    else if (!path.startsWith('/models/')) file = inside(web, path === '/' ? 'index.html' : path.slice(1));
    if (!file || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e) => fail(new Error(`cannot listen on ${host}:${port}: ${e.message} (pick another with --port)`)));
    server.listen(port, host, ok);
  });
  const actual = (server.address() as { port: number }).port;
  console.log(`camlight page on http://${host === '0.0.0.0' ? 'localhost' : host}:${actual}/`);
  console.log(models.size ? `demo models from ${modelsDir}: ${[...models.keys()].join(', ')}` : 'no demo models (pass a folder of model folders to offer some)');
  console.log('press Ctrl-C to stop');
  await new Promise<void>((done) => {
    const stop = () => server.close(() => done());
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

/** `rel` inside `dir`, or null when it would step outside it. */
function inside(dir: string, rel: string): string | null {
  const p = resolve(dir, rel);
  return p === dir || p.startsWith(dir.endsWith(sep) ? dir : dir + sep) ? p : null;
}
