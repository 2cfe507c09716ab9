// Issue 15's hostile inputs at the io layer: images that claim huge sizes, deflate bombs, bad
// CRCs and IHDR fields, special files (FIFO, /dev/zero, folders), /proc as an output folder,
// atomic writes, and paths a model names that lead outside its folder (disk and fetch).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { decodeImage, decodePng, ImageDecodeError } from '../../src/io/image.ts';
import { confinedJoin, FileTooLargeError, PathOutsideError } from '../../src/io/files.ts';
import { fetchFiles } from '../../src/io/fetch-files.ts';
import { atomicWrite, checkWritableFolder, nodeFiles, readRegularFile, safeMkdir } from '../../src/io/node-files.ts';
import { chunk, writePng } from './png-writer.ts';

const s = suite('io/limits');
let dir = '';
s.before(() => { dir = mkdtempSync(join(tmpdir(), 'camlight-limits-')); });
s.after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function png(w: number, h: number, idat: Uint8Array, o: { depth?: number; ctype?: number; interlace?: number } = {}): Uint8Array {
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, w);
  dv.setUint32(4, h);
  ihdr.set([o.depth ?? 8, o.ctype ?? 0, 0, 0, o.interlace ?? 0], 8);
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array())];
  return Uint8Array.from(parts.flatMap((p) => [...p]));
}
/** ms taken by fn, which must throw; returns [ms, error]. */
function timedThrow(fn: () => unknown): [number, Error] {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    return [performance.now() - t0, e as Error];
  }
  throw new Error('expected a throw');
}
async function rejectsWith(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}
const grey = (w: number, h: number) => writePng({ width: w, height: h, ctype: 0, depth: 8, at: (x, y) => (x * 7 + y * 13) & 255 });

s('a 68-byte PNG claiming 2^31−1 × 1 is refused from its header at once (it used to spin for minutes)', () => {
  const bytes = png(2 ** 31 - 1, 1, deflateSync(new Uint8Array(16)));
  assert.ok(bytes.length < 80);
  const [ms, e] = timedThrow(() => decodePng(bytes, 'wide.png'));
  assert.instance(e, ImageDecodeError);
  assert.match(e.message, /wide\.png: the image is 2147483647×1 \(2147\.5 megapixels\), over the limit of 100\.0 megapixels/);
  assert.match(e.message, /--max-pixels/);
  assert.ok(ms < 200, `${ms} ms`);
});

s('a PNG whose header says 20000×20000 is refused before inflating (it used to take 6.9 GB); the cap is overridable', () => {
  const bytes = png(20000, 20000, deflateSync(new Uint8Array(20001 * 4)));
  const [ms, e] = timedThrow(() => decodePng(bytes, 'big.png'));
  assert.match(e.message, /20000×20000 \(400\.0 megapixels\), over the limit of 100\.0/);
  assert.ok(ms < 200, `${ms} ms`);
  // A small cap refuses a small image; control: the same image within the cap decodes.
  assert.throws(() => decodeImage(grey(20, 20), 'g.png', { maxPixels: 399 }), /20×20 .* over the limit/);
  assert.is(decodeImage(grey(20, 20), 'g.png', { maxPixels: 400 }).width, 20);
});

s('a deflate bomb (10×10 header, 50 MB of image data) stops at the size the header implies', () => {
  const bytes = png(10, 10, deflateSync(new Uint8Array(50 * 2 ** 20)));
  const [ms, e] = timedThrow(() => decodePng(bytes, 'bomb.png'));
  assert.match(e.message, /bomb\.png: corrupt PNG \(the image data inflates to more than the 110 bytes its header implies\)/);
  assert.ok(ms < 2000, `${ms} ms`);
});

s('PNG chunk CRCs are checked on critical chunks; a bad ancillary CRC is tolerated (control: intact decodes)', () => {
  const good = grey(8, 8);
  assert.is(decodePng(good, 'ok.png').width, 8);
  // Flip a byte inside IDAT's data: the CRC no longer matches.
  const idat = Buffer.from(good).indexOf('IDAT');
  const bad = good.slice();
  bad[idat + 6]! ^= 0x01;
  assert.throws(() => decodePng(bad, 'flip.png'), /flip\.png: corrupt PNG \(the CRC of chunk IDAT at byte \d+ does not match its data\)/);
  const badHdr = good.slice();
  badHdr[16 + 3]! ^= 0x01; // width's last byte, inside IHDR
  assert.throws(() => decodePng(badHdr, 'hdr.png'), /CRC of chunk IHDR/);
  // An ancillary chunk (tEXt) with a wrong CRC does not change the pixels: accepted.
  const text = chunk('tEXt', new TextEncoder().encode('Comment\0hi'));
  text[text.length - 1]! ^= 0xff;
  const withText = Uint8Array.from([...good.subarray(0, 33), ...text, ...good.subarray(33)]);
  assert.equal(decodePng(withText, 't.png').data, decodePng(good, 'ok.png').data);
});

s('IHDR fields are validated: interlace, compression, filter, colour type × depth, zero size', () => {
  const idat = deflateSync(new Uint8Array(9 * 8));
  assert.throws(() => decodePng(png(8, 8, idat, { interlace: 2 }), 'i.png'), /i\.png: corrupt PNG \(interlace method 2; PNG defines 0 \(none\) and 1 \(Adam7\)\)/);
  const ihdrAt = (b: Uint8Array, k: number, v: number) => {
    const c = b.slice();
    c[16 + k] = v;
    new DataView(c.buffer).setUint32(29, crc32(c.subarray(12, 29)));
    return c;
  };
  const base = png(8, 8, idat);
  assert.throws(() => decodePng(ihdrAt(base, 10, 1), 'c.png'), /compression method 1/);
  assert.throws(() => decodePng(ihdrAt(base, 11, 3), 'f.png'), /filter method 3/);
  assert.throws(() => decodePng(png(8, 8, idat, { ctype: 2, depth: 4 }), 'd.png'), /colour type 2 with bit depth 4 is not valid PNG/);
  assert.throws(() => decodePng(png(0, 8, idat), 'z.png'), /size 0×8/);
  // Control: the same header with interlace 0 decodes.
  assert.is(decodePng(base, 'ok.png').height, 8);
});

s('a truncated PNG, one without IEND, and chunks running past the end are errors naming the file', () => {
  const good = grey(6, 6);
  assert.throws(() => decodePng(good.subarray(0, good.length - 12), 'noend.png'), /noend\.png: corrupt PNG \(no IEND chunk; the file is truncated\)/);
  assert.throws(() => decodePng(good.subarray(0, 50), 'cut.png'), /cut\.png: corrupt PNG \(chunk IDAT at byte 33 claims \d+ bytes, past the end of the file/);
});

s('a JPEG whose frame header claims 65535×65535 is refused before decoding', () => {
  const small = jpeg.encode({ width: 8, height: 8, data: new Uint8Array(8 * 8 * 4).fill(128) }, 90).data;
  const b = new Uint8Array(small);
  const sof = b.findIndex((v, i) => v === 0xff && b[i + 1] === 0xc0);
  b.set([0xff, 0xff, 0xff, 0xff], sof + 5);
  const [ms, e] = timedThrow(() => decodeImage(b, 'huge.jpg'));
  assert.match(e.message, /huge\.jpg: the image is 65535×65535 \(4294\.8 megapixels\), over the limit/);
  assert.ok(ms < 200, `${ms} ms`);
  assert.is(decodeImage(new Uint8Array(small), 'ok.jpg').width, 8, 'control');
});

s('only regular files are read: a FIFO named .png does not block, /dev/zero and folders are refused by type', async () => {
  const fifo = join(dir, 'pipe.png');
  execFileSync('mkfifo', [fifo]);
  const t0 = performance.now();
  const e1 = await rejectsWith(readRegularFile(fifo));
  assert.match(e1.message, /cannot read .*pipe\.png: it is a named pipe \(FIFO\); camlight reads only regular files/);
  const e2 = await rejectsWith(readRegularFile('/dev/zero'));
  assert.match(e2.message, /cannot read \/dev\/zero: it is a device; camlight reads only regular files/);
  const e3 = await rejectsWith(readRegularFile(dir));
  assert.match(e3.message, /it is a folder/);
  assert.not.match(e3.message, /EISDIR/);
  assert.ok(performance.now() - t0 < 2000);
  // A bound on size: refused before reading, with the sizes.
  writeFileSync(join(dir, 'ten.bin'), new Uint8Array(10));
  const e4 = await rejectsWith(readRegularFile(join(dir, 'ten.bin'), { maxBytes: 9 }));
  assert.instance(e4, FileTooLargeError);
  assert.is((await readRegularFile(join(dir, 'ten.bin'), { maxBytes: 10 })).length, 10, 'control: at the bound');
});

s('safeMkdir fails fast on /proc, on a file in the path and on an empty name (Node\'s recursive mkdir hung on /proc)', async () => {
  const t0 = performance.now();
  const e1 = await rejectsWith(safeMkdir('/proc/camlight-x/y'));
  assert.match(e1.message, /cannot create the folder \/proc\/camlight-x\/y: /);
  assert.ok(performance.now() - t0 < 2000);
  writeFileSync(join(dir, 'afile'), 'x');
  const e2 = await rejectsWith(safeMkdir(join(dir, 'afile', 'sub')));
  assert.match(e2.message, /afile exists and is a file, not a folder/);
  assert.match((await rejectsWith(safeMkdir(''))).message, /empty folder name/);
  const e3 = await rejectsWith(checkWritableFolder(join(dir, 'afile'), '--out'));
  assert.match(e3.message, /^--out .*afile: /);
  await safeMkdir(join(dir, 'a', 'b', 'c'));
  assert.ok(statSync(join(dir, 'a', 'b', 'c')).isDirectory(), 'control: nested folders are made');
});

s('atomicWrite replaces a file whole and leaves no temporary file behind', async () => {
  const p = join(dir, 'doc.json');
  await atomicWrite(p, 'old');
  await atomicWrite(p, 'new content');
  assert.is(readFileSync(p, 'utf8'), 'new content');
  assert.equal(readdirSync(dir).filter((n) => n.includes('.tmp')), []);
  const e = await rejectsWith(atomicWrite(join(dir, 'missing-folder', 'x.json'), 'x'));
  assert.match(e.message, /cannot write .*missing-folder\/x\.json: no such file or folder/);
});

s('paths a model names stay in its folder: .., absolute, URLs, backslashes refused; plain and nested accepted', () => {
  assert.is(confinedJoin('m', 'group1-shard1of1.bin', 'model.json', 'weight shard'), 'm/group1-shard1of1.bin');
  assert.is(confinedJoin('m', 'sub/./x.bin', 'model.json', 'weight shard'), 'm/sub/x.bin');
  for (const [p, why] of [['../outside/secret.bin', /leads out of the folder/], ['/etc/passwd', /is absolute/], ['sub/../../x', /leads out/],
    ['https://evil.example/x.bin', /is a URL/], ['file:///etc/passwd', /is a URL/], ['..\\x.bin', /backslash/], ['', /non-empty string/]] as const) {
    assert.throws(() => confinedJoin('m', p, 'model.json', 'weight shard'), (e: Error) => e instanceof PathOutsideError && why.test(e.message), p);
  }
  assert.throws(() => confinedJoin('m', 42, 'model.json', 'weight shard'), /must be a non-empty string, got 42/);
});

s('nodeFiles with confine refuses a symlink out of the folder without reading or describing the target', async () => {
  mkdirSync(join(dir, 'model'), { recursive: true });
  mkdirSync(join(dir, 'outside'), { recursive: true });
  writeFileSync(join(dir, 'outside', 'secret.bin'), new Uint8Array(1234));
  symlinkSync(join(dir, 'outside', 'secret.bin'), join(dir, 'model', 'shard.bin'));
  symlinkSync('/dev/zero', join(dir, 'model', 'zero.bin'));
  writeFileSync(join(dir, 'model', 'inside.bin'), new Uint8Array(3));
  const files = nodeFiles(join(dir, 'model'), { confine: true });
  for (const name of ['shard.bin', 'zero.bin']) {
    const e = await rejectsWith(files.read(name));
    assert.instance(e, PathOutsideError);
    assert.match(e.message, /is a link to a file outside the model's folder/);
    assert.not.match(e.message, /secret\.bin|1234|\/dev\/zero/);
  }
  assert.is((await files.read('inside.bin')).length, 3, 'control');
  assert.is((await nodeFiles(join(dir, 'model')).read('shard.bin')).length, 1234, 'without confine the link is followed');
});

s('fetchFiles reads only under its base URL on the same origin, and bounds a body by maxBytes', async () => {
  const asked: string[] = [];
  const fake = (async (u: string | URL | Request) => {
    asked.push(String(u));
    return new Response(new Uint8Array(100), { status: 200 });
  }) as typeof fetch;
  const f = fetchFiles('https://models.example/vgg/', fake);
  for (const p of ['../secret.bin', '//evil.example/x.bin', 'https://evil.example/x.bin', '/root.bin']) {
    const e = await rejectsWith(f.read(p));
    assert.instance(e, PathOutsideError, p);
  }
  assert.equal(asked, [], 'nothing was fetched');
  assert.is((await f.read('group1-shard1of1.bin')).length, 100, 'control');
  const e = await rejectsWith(f.read('group1-shard1of1.bin', { maxBytes: 99 }));
  assert.instance(e, FileTooLargeError);
});

s.run();
