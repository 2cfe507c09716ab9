// The FileSource adapters: paths joined like a file system, Node files under a base folder,
// fetch relative to a base URL (with a fake fetch), memory maps, and missing files as
// FileNotFoundError naming the place looked at.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basename, dirname, FileNotFoundError, joinPath, memoryFiles, subFolder, utf8 } from '../../src/io/files.ts';
import { nodeFiles } from '../../src/io/node-files.ts';
import { fetchFiles } from '../../src/io/fetch-files.ts';

const s = suite('io/files');

async function rejects(p: Promise<unknown>, check: (e: unknown) => boolean, what: string): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    assert.ok(check(e), `${what}: unexpected error ${String(e)}`);
    return e;
  }
  throw new Error(`${what}: expected an error`);
}

s('joinPath, dirname and basename resolve like a file system', () => {
  assert.is(joinPath('models/vgg', 'group1-shard1of1.bin'), 'models/vgg/group1-shard1of1.bin');
  assert.is(joinPath('models/vgg', '../shared/w.bin'), 'models/shared/w.bin');
  assert.is(joinPath('', './model.json'), 'model.json');
  assert.is(joinPath('/abs/dir', '../x'), '/abs/x');
  assert.is(joinPath('..', 'x'), '../x');
  assert.is(dirname('a/b/model.json'), 'a/b');
  assert.is(dirname('model.json'), '');
  assert.is(basename('a/b/model.json'), 'model.json');
});

s('memoryFiles reads, writes, and names what it has when a file is missing', async () => {
  const m = memoryFiles({ 'dir/a.txt': 'hello' });
  assert.is(utf8(await m.read('dir/./a.txt')), 'hello');
  assert.ok(await m.exists!('dir/a.txt'));
  assert.not.ok(await m.exists!('dir/b.txt'));
  await m.write!('dir/b.bin', new Uint8Array([1, 2, 3]));
  assert.equal([...(await m.read('dir/b.bin'))], [1, 2, 3]);
  const e = (await rejects(m.read('nope.bin'), (e) => e instanceof FileNotFoundError, 'missing')) as Error;
  assert.match(e.message, /nope\.bin/);
  assert.match(e.message, /dir\/a\.txt/);
});

s('subFolder reads and writes under a folder of another source', async () => {
  const m = memoryFiles();
  const sub = subFolder(m, 'weights/vgg');
  await sub.write!('model.json', '{}');
  assert.ok(m.files.has('weights/vgg/model.json'));
  assert.is(utf8(await sub.read('model.json')), '{}');
  assert.is(sub.describe!('x.bin'), 'memory:weights/vgg/x.bin');
});

s('nodeFiles reads and writes relative to its base, missing files name the absolute path', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'camlight-files-'));
  try {
    const f = nodeFiles(dir);
    await f.write!('sub/deeper/x.bin', new Uint8Array([9, 8, 7]));
    assert.equal([...(await f.read('sub/deeper/x.bin'))], [9, 8, 7]);
    assert.equal([...(await nodeFiles(join(dir, 'sub')).read('deeper/x.bin'))], [9, 8, 7]);
    assert.ok(await f.exists!('sub/deeper/x.bin'));
    assert.not.ok(await f.exists!('sub/deeper/y.bin'));
    assert.not.ok(await f.exists!('sub'), 'a folder is not a file');
    const e = (await rejects(f.read('sub/missing.bin'), (e) => e instanceof FileNotFoundError, 'missing')) as FileNotFoundError;
    assert.is(e.where, join(dir, 'sub/missing.bin'));
    assert.is(e.path, 'sub/missing.bin');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

s('fetchFiles resolves paths against its base URL and maps 404 to FileNotFoundError', async () => {
  const seen: string[] = [];
  const fake = (async (input: RequestInfo | URL) => {
    const u = String(input);
    seen.push(u);
    if (u.endsWith('/model.json')) return new Response('{"ok":1}', { status: 200 });
    if (u.endsWith('/boom.bin')) return new Response('server fell over', { status: 500, statusText: 'Internal Server Error' });
    return new Response('not here', { status: 404 });
  }) as typeof fetch;
  const f = fetchFiles('https://example.com/models/vgg', fake);
  assert.is(utf8(await f.read('model.json')), '{"ok":1}');
  assert.is(seen[0], 'https://example.com/models/vgg/model.json');
  assert.is(f.describe!('../shared/group1-shard1of1.bin'), 'https://example.com/models/shared/group1-shard1of1.bin');
  const e = (await rejects(f.read('group1-shard1of1.bin'), (e) => e instanceof FileNotFoundError, '404')) as FileNotFoundError;
  assert.is(e.where, 'https://example.com/models/vgg/group1-shard1of1.bin');
  await rejects(f.read('boom.bin'), (e) => e instanceof Error && !(e instanceof FileNotFoundError) && /HTTP 500/.test(e.message), '500');
  assert.ok(await f.exists!('model.json'));
  assert.not.ok(await f.exists!('other.json'));
});

s.run();
