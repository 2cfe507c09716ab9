// Keras .h5 parsing off the main thread, for Node: libhdf5 (inside h5wasm) loops forever on a few
// damaged files (the fuzz bench found 3 in 2,000 mutations), and a WebAssembly loop cannot be
// interrupted from its own thread, so Node parses in a worker_thread with a deadline and
// terminates the worker when it passes. This file is both the main-thread side and the worker.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { readH5InThread, type H5Contents } from '../nn/loaders/h5.ts';
import { ModelLoadError } from '../nn/loaders/errors.ts';
import { readEnv, useH5wasm } from './hooks.ts';

/** How long one .h5 may take to parse before it is declared corrupt (a 550 MB VGG-19 file takes seconds). */
export const DEFAULT_H5_TIMEOUT_MS = 60_000;

/**
 * The parse deadline: CAMLIGHT_H5_TIMEOUT_MS when set (milliseconds, a positive number), else
 * DEFAULT_H5_TIMEOUT_MS.
 * @example
 *   h5TimeoutMs(); // 60000, or 5000 under CAMLIGHT_H5_TIMEOUT_MS=5000
 */
export function h5TimeoutMs(): number {
  const v = readEnv('CAMLIGHT_H5_TIMEOUT_MS');
  if (v === undefined || v.trim() === '') return DEFAULT_H5_TIMEOUT_MS;
  const ms = Number(v);
  if (!(ms > 0) || !Number.isFinite(ms)) {
    throw new Error(`CAMLIGHT_H5_TIMEOUT_MS=${JSON.stringify(v)}: expected the .h5 parse deadline in milliseconds (a positive number); unset it for the default ${DEFAULT_H5_TIMEOUT_MS}`);
  }
  return ms;
}

type Request = { id: number; bytes: Uint8Array; where: string };
type Reply = { id: number; ok?: H5Contents; error?: { name: string; message: string } };

// One worker, kept between files (h5wasm's 5.7 MB compiles once) and unref'd while idle so it
// never keeps a process alive; replaced after a deadline or a crash. Calls run one at a time.
let worker: { w: Worker; ready: Promise<void> } | null = null;
let queue: Promise<unknown> = Promise.resolve();
let nextId = 0;

function startWorker(): { w: Worker; ready: Promise<void> } {
  const self = import.meta.url;
  const opts = { workerData: { camlightH5: true } };
  // From a clone the sources are TypeScript, run through tsx: register it in the worker too
  // (workers do not inherit a loader registered with tsx's API). The built package is plain JS.
  const w = self.endsWith('.ts')
    ? new Worker(`import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`, { ...opts, eval: true })
    : new Worker(new URL(self), opts);
  const ready = new Promise<void>((resolve, reject) => {
    w.once('message', () => resolve());
    w.once('error', reject);
    w.once('exit', (code) => reject(new Error(`the .h5 reader's worker thread exited (code ${code}) before it was ready`)));
  });
  ready.catch(() => undefined);
  return { w, ready };
}

function drop(): void {
  const w = worker?.w;
  worker = null;
  void w?.terminate();
}

/**
 * Parses a Keras .h5 in the worker, within h5TimeoutMs(); past it the worker is terminated and
 * the error says the file is probably corrupt. Same result and errors as readH5InThread.
 * @example
 *   const h5 = await readH5InWorker(bytes, 'model.h5');
 */
export function readH5InWorker(bytes: Uint8Array, where: string): Promise<H5Contents> {
  const run = queue.then(() => parseOnce(bytes, where));
  queue = run.catch(() => undefined);
  return run;
}

async function parseOnce(bytes: Uint8Array, where: string): Promise<H5Contents> {
  const timeoutMs = h5TimeoutMs();
  worker ??= startWorker();
  const { w, ready } = worker;
  w.ref();
  try {
    try {
      await ready;
    } catch (e) {
      drop();
      throw new ModelLoadError(`${where}: the .h5 reader could not start (${(e as Error).message})`);
    }
    const id = ++nextId;
    // A copy the worker owns (transferred, not cloned twice); the caller keeps its bytes.
    const copy = bytes.slice();
    return await new Promise<H5Contents>((resolve, reject) => {
      let settled = false;
      const done = () => {
        settled = true;
        clearTimeout(timer);
        w.off('message', onMessage);
        w.off('error', onError);
        w.off('exit', onExit);
      };
      // At the deadline, first let a reply already queued be handled (the timer phase runs before
      // messages are polled, so a main thread that was itself busy past the deadline would
      // otherwise count its own delay against the file).
      const timer = setTimeout(() => setImmediate(expire), timeoutMs);
      const expire = () => {
        if (settled) return;
        done();
        drop();
        const s = timeoutMs / 1000;
        reject(new ModelLoadError(`${where} did not finish parsing in ${Number.isInteger(s) ? s : s.toFixed(1)} s: the file is probably corrupt (libhdf5 loops on it); download or copy it again, or for a very large valid file raise CAMLIGHT_H5_TIMEOUT_MS (milliseconds)`));
      };
      const onMessage = (r: Reply) => {
        if (r.id !== id) return;
        done();
        if (r.ok) resolve(r.ok);
        else reject(r.error?.name === 'ModelLoadError' ? new ModelLoadError(r.error.message) : new Error(r.error?.message ?? `${where}: the .h5 reader failed`));
      };
      const onError = (e: Error) => {
        done();
        drop();
        reject(new ModelLoadError(`${where}: the .h5 reader stopped on this file (${e.message.split('\n')[0]}); the file may be damaged: download or copy it again`));
      };
      const onExit = (code: number) => {
        done();
        worker = null;
        reject(new ModelLoadError(`${where}: the .h5 reader stopped on this file (worker exit code ${code}); the file may be damaged: download or copy it again`));
      };
      w.on('message', onMessage);
      w.on('error', onError);
      w.on('exit', onExit);
      w.postMessage({ id, bytes: copy, where } satisfies Request, [copy.buffer as ArrayBuffer]);
    });
  } finally {
    if (worker?.w === w) w.unref();
  }
}

/** The worker side: parse each request in this thread and send back the layers' arrays (transferred). */
async function serve(port: NonNullable<typeof parentPort>): Promise<void> {
  useH5wasm(() => import('h5wasm'));
  // Compile h5wasm before saying ready, so a file's deadline counts parsing only.
  await (await import('h5wasm')).ready;
  port.on('message', async ({ id, bytes, where }: Request) => {
    let reply: Reply;
    const transfer = new Set<ArrayBuffer>();
    try {
      const ok = await readH5InThread(bytes, where);
      for (const l of ok.layers) {
        for (const w of l.weights) {
          // Only whole, distinct buffers move; a view into a shared one is copied out first.
          if (w.data.byteOffset !== 0 || w.data.byteLength !== w.data.buffer.byteLength || transfer.has(w.data.buffer as ArrayBuffer)) w.data = w.data.slice();
          transfer.add(w.data.buffer as ArrayBuffer);
        }
      }
      reply = { id, ok };
    } catch (e) {
      transfer.clear();
      reply = { id, error: { name: (e as Error)?.name ?? 'Error', message: e instanceof Error ? e.message : String(e) } };
    }
    port.postMessage(reply, [...transfer]);
  });
  port.postMessage('ready');
}

if (!isMainThread && parentPort && (workerData as { camlightH5?: boolean } | null)?.camlightH5) void serve(parentPort);
