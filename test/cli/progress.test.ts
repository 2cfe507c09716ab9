// Progress lines (src/cli/progress.ts) against a fake stream: redrawn in place on a terminal,
// plain lines every tenth otherwise, counts/rates/ETA as the arithmetic says; and Ctrl-C in
// `camlight cam` (a child process sent SIGINT after its first overlay appears): exit code 130,
// cams.json parseable and marked interrupted, listing exactly the overlays on disk, each whole.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { formatDuration, Progress } from '../../src/cli/progress.ts';
import { decodeImage, encodePng } from '../../src/io/image.ts';

const s = suite('cli/progress');
const root = resolve(import.meta.dirname, '../..');

/** A writable stream that records what is written; isTTY as asked. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (c: string) => (chunks.push(c), true) } as unknown as NodeJS.WritableStream & { chunks: string[] };
}

s('off a terminal: one plain line per tenth of the total and a final line with the count and rate', () => {
  const out = sink(false);
  const p = new Progress({ label: 'camlight cam', total: 40, unit: 'images', out });
  for (let n = 1; n <= 40; n++) p.update(n);
  p.done();
  const text = out.chunks.join('');
  assert.not.match(text, /\r|\x1b/, 'no control characters off a terminal');
  const lines = text.trimEnd().split('\n');
  // 10 %, 20 %, … 90 % (4, 8, … 36 images), then the final line.
  assert.is(lines.length, 10, text);
  assert.match(lines[0]!, /^camlight cam: 4\/40 images \(10%\), [\d.e+]+ images\/s, ETA \d+ s$/);
  assert.match(lines[8]!, /^camlight cam: 36\/40 images \(90%\)/);
  assert.match(lines[9]!, /^camlight cam: 40\/40 images \(100%\), [\d.e+]+ images\/s, done in \d+ s$/);
});

s('on a terminal: redrawn in place (\\r, erase to end of line), throttled, and cleared or ended', () => {
  const out = sink(true);
  const p = new Progress({ label: 'x', total: 10, unit: 'images', out, redrawMs: 0 });
  p.update(3);
  p.update(5);
  assert.equal(out.chunks.length, 2);
  for (const c of out.chunks) assert.match(c, /^\rx: \d+\/10 images \(\d+%\), .*\x1b\[K$/);
  p.abort();
  assert.is(out.chunks.at(-1), '\n', 'abort ends the half-drawn line');
  const slow = sink(true);
  const q = new Progress({ label: 'x', total: 10, unit: 'images', out: slow, redrawMs: 60_000 });
  for (let n = 1; n < 10; n++) q.update(n);
  assert.is(slow.chunks.length, 1, 'at most one redraw per redrawMs');
  q.clear();
  assert.is(slow.chunks.at(-1), '\r\x1b[K');
});

s('bytes are shown as MB with MB/s; the ETA is the remaining count over the rate; quiet prints nothing', () => {
  const out = sink(false);
  const p = new Progress({ label: 'dl', unit: 'bytes', out });
  p.start(4e6);
  p.update(1e6);
  const line = p.line();
  assert.match(line, /^dl: 1\.0 MB of 4\.0 MB \(25%\) at [\d.]+ MB\/s, ETA /);
  // rate r = 1e6 / t; remaining 3e6 → 3 t: the printed ETA is 3× the elapsed time (to the second).
  const rate = Number(/at ([\d.]+) MB\/s/.exec(line)![1]) * 1e6;
  if (rate > 0 && rate < 1e5) assert.match(line, new RegExp(`ETA ${formatDuration(3e6 / rate).replace(/\d+/g, '\\d+')}`));
  assert.is(formatDuration(8.2), '9 s');
  assert.is(formatDuration(200), '3 min 20 s');
  assert.is(formatDuration(3900), '1 h 05 min');
  const none = new Progress({ label: 'q', total: 3, unit: 'images', out: null });
  none.update(1);
  none.done();
  assert.ok(true, 'a null stream is never written to');
});

/** Grey 28×28 images with a distinct pattern each (the committed Fashion-MNIST CNN's input). */
function writeImages(folder: string, n: number): void {
  mkdirSync(folder, { recursive: true });
  for (let k = 0; k < n; k++) {
    const data = new Uint8ClampedArray(28 * 28 * 4);
    for (let i = 0; i < 28 * 28; i++) {
      const v = ((i % 28) * (k + 3) + Math.floor(i / 28) * (2 * k + 1)) & 255;
      data.set([v, v, v, 255], 4 * i);
    }
    writeFileSync(join(folder, `img${String(k).padStart(3, '0')}.png`), encodePng({ width: 28, height: 28, data }));
  }
}

s('Ctrl-C in `camlight cam` stops after the current batch: exit 130, cams.json lists the whole overlays written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'camlight-sigint-'));
  try {
    writeImages(join(dir, 'in'), 150);
    const errFile = join(dir, 'stderr.txt');
    const fd = openSync(errFile, 'w');
    const child = spawn(process.execPath, [join(root, 'bin/camlight.js'), 'cam', 'in', '--model', join(root, 'weights/fashion-mnist-cnn/model.json'), '--batch', '2', '--out', 'out'], {
      cwd: dir, stdio: ['ignore', 'ignore', fd], env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
    });
    closeSync(fd);
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    // The first batch's overlays appearing is the cue; then Ctrl-C.
    const t0 = Date.now();
    while (!(existsSync(join(dir, 'out')) && readdirSync(join(dir, 'out')).some((f) => f.endsWith('.cam.png')))) {
      assert.ok(Date.now() - t0 < 180_000, `no overlay after 180 s: ${readFileSync(errFile, 'utf8')}`);
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill('SIGINT');
    const code = await exited;
    const stderr = readFileSync(errFile, 'utf8');
    assert.is(code, 130, stderr);
    assert.match(stderr, /camlight cam: SIGINT: finishing the current batch/);
    assert.match(stderr, /interrupted by SIGINT after \d+ of 150 input\(s\)/);
    const doc = JSON.parse(readFileSync(join(dir, 'out/cams.json'), 'utf8'));
    assert.is(doc.interrupted.signal, 'SIGINT');
    assert.is(doc.interrupted.inputs, 150);
    assert.ok(doc.interrupted.inputsDone < 150, `stopped early (${doc.interrupted.inputsDone} done)`);
    assert.is(doc.interrupted.inputsDone % 2, 0, 'a whole number of batches of 2');
    assert.is(doc.images.length, doc.interrupted.inputsDone, 'every image of the batches done is listed');
    const pngs = readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.cam.png')).sort();
    assert.equal(pngs, doc.images.map((im: { overlay: string }) => im.overlay).sort(), 'the overlays on disk are exactly those listed');
    assert.equal(readdirSync(join(dir, 'out')).filter((f) => !f.endsWith('.cam.png') && f !== 'cams.json' && f !== 'index.html' && f !== 'originals'), [], 'no temporary file left');
    for (const f of pngs) {
      const im = decodeImage(new Uint8Array(readFileSync(join(dir, 'out', f))));
      assert.equal([im.width, im.height], [28, 28], `${f} is whole`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

s.run();
