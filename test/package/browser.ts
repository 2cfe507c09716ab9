// Headless Chromium for the package tests: Debian's /usr/bin/chromium (installed by scripts/
// setup.sh under CI) driven by playwright-core, WebGPU enabled on SwiftShader where there is no
// GPU; and a static file server on localhost for the pages, models and photographs.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CAMLIGHT_CHROMIUM ?? '/usr/bin/chromium';

/** The flags: WebGPU on (SwiftShader's Vulkan when there is no GPU), nothing reaching the network. */
export const CHROMIUM_FLAGS = [
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--use-angle=swiftshader',
  '--use-webgpu-adapter=swiftshader',
  '--no-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/**
 * Starts headless Chromium; fails saying how to install it when it is missing.
 * @example
 *   const browser = await launchChromium(); const page = await browser.newPage();
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; scripts/setup.sh does it under CI) or set CAMLIGHT_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript', '.json': 'application/json',
  '.png': 'image/png', '.jpg': 'image/jpeg', '.bin': 'application/octet-stream', '.wasm': 'application/wasm', '.ttf': 'font/ttf', '.css': 'text/css',
};

export interface Served {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves a folder on 127.0.0.1 at a free port (GET and HEAD; 404 outside it).
 * @example
 *   const s = await serveFolder('dist/web'); console.log(s.url); await s.close();
 */
export async function serveFolder(dir: string, port = 0): Promise<Served> {
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    let file = join(dir, path);
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!file.startsWith(dir) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const addr = server.address() as { port: number };
  return { url: `http://127.0.0.1:${addr.port}`, close: () => new Promise((ok) => server.close(() => ok())) };
}
