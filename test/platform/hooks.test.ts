// The platform seam (src/platform/hooks.ts): the web defaults give browser-specific errors and
// fetch paths; the guarded env reader never throws or prompts (a Deno without --allow-env); the
// Node hooks installed by test/run.ts read from disk. Controls: the same calls under Node's hooks.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { requestAdapterDevice } from '../../src/gpu/device.ts';
import { NoAdapterError } from '../../src/gpu/errors.ts';
import { resolveLocation, resolveSink } from '../../src/nn/loaders/source.ts';
import { loadH5wasm, platform, readEnv, setPlatform, useH5wasm } from '../../src/platform/hooks.ts';

const Hooks = suite('platform/hooks');
const node = platform();
const web = { name: 'web' as const, noAdapterHint: 'WEB HINT: --enable-unsafe-webgpu' };

Hooks.after.each(() => {
  setPlatform(node);
  useH5wasm(() => import('h5wasm'));
});

Hooks('test/run.ts installed the Node hooks (control)', () => {
  assert.is(node.name, 'node');
  assert.type(node.gpu, 'function');
  assert.type(node.folder, 'function');
  assert.match(node.noAdapterHint, /mesa-vulkan-drivers/);
});

Hooks('without navigator.gpu, the web platform says how to enable WebGPU in a browser, not what to apt-get', async () => {
  setPlatform(web);
  const g = globalThis as { Deno?: unknown };
  g.Deno = {}; // a runtime that is not Node: the platform's own hint
  try {
    const err = await requestAdapterDevice().catch((e: unknown) => e);
    assert.instance(err, NoAdapterError);
    assert.match((err as Error).message, /navigator\.gpu is missing.*WEB HINT/s);
    assert.not.match((err as Error).message, /apt-get/);
  } finally {
    delete g.Deno;
  }
});

Hooks('Node running the sources without the platform entry is told to import camlight/node', async () => {
  setPlatform(web);
  const err = await requestAdapterDevice().catch((e: unknown) => e);
  assert.instance(err, NoAdapterError);
  assert.match((err as Error).message, /import 'camlight\/node'/);
});

Hooks('paths: read from disk under Node, fetched relative to the page on the web', async () => {
  const onDisk = await resolveLocation('models/vgg/model.json', 'model.json');
  assert.is(onDisk.path, 'model.json');
  assert.ok(onDisk.source.describe!('model.json').startsWith('/'), 'Node: an absolute file path');
  setPlatform(web);
  const fetched = await resolveLocation('https://example.com/models/vgg/model.json', 'model.json');
  assert.is(fetched.source.describe!('model.json'), 'https://example.com/models/vgg/model.json');
  const relative = await resolveLocation('models/vgg/model.json', 'model.json');
  assert.is(relative.source.describe!('model.json'), 'models/vgg/model.json', 'web: a URL relative to the page');
  const sinkErr = await resolveSink('out').catch((e: unknown) => e);
  assert.match(String(sinkErr), /in a browser: pass a FileSource with write\(\)/);
});

Hooks(".h5: a failing h5wasm loader's error comes through; the registered one gives the module", async () => {
  useH5wasm(() => Promise.reject(new Error('offline')));
  const offline = await loadH5wasm().catch((e: unknown) => e);
  assert.match(String(offline), /offline/);
  const m = (await (async () => {
    useH5wasm(() => import('h5wasm'));
    return loadH5wasm();
  })()) as { ready?: unknown };
  assert.ok(m.ready, 'the default export of h5wasm (control)');
});

Hooks('readEnv: process.env in Node; in Deno without env permission undefined, never a throw or a prompt', () => {
  process.env.CAMLIGHT_HOOKS_TEST = 'yes';
  assert.is(readEnv('CAMLIGHT_HOOKS_TEST'), 'yes');
  delete process.env.CAMLIGHT_HOOKS_TEST;
  const g = globalThis as { Deno?: unknown };
  let asked = 0;
  g.Deno = {
    env: { get: () => { throw new Error('NotCapable: Requires env access'); } },
    permissions: { querySync: () => { asked++; return { state: 'prompt' }; } },
  };
  try {
    assert.is(readEnv('CAMLIGHT_DEBUG'), undefined);
    assert.is(asked, 1);
    g.Deno = { env: { get: (k: string) => (k === 'CAMLIGHT_DEBUG' ? '1' : undefined) }, permissions: { querySync: () => ({ state: 'granted' }) } };
    assert.is(readEnv('CAMLIGHT_DEBUG'), '1', 'granted: the value (control)');
  } finally {
    delete g.Deno;
  }
});

Hooks.run();
