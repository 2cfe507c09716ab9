// The GPU layer: adapter limits, pool size classes and statistics, staging reuse, and errors
// that name the kernel and shapes instead of surfacing as bare Dawn messages.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { sizeClass } from '../../src/gpu/pool.ts';
import { DeviceLostError, GpuKernelError, ShapeError } from '../../src/gpu/errors.ts';
import { upload, empty } from '../../src/tensor/tensor.ts';
import { Runtime } from '../../src/gpu/runtime.ts';
import { gpu } from '../helpers.ts';

const s = suite('gpu/runtime');

s('the device gets the adapter\'s storage-binding and buffer limits, not the defaults', async () => {
  const rt = await gpu();
  assert.ok(rt.adapterName.length > 0, 'adapter has a name');
  // WebGPU's default maxStorageBufferBindingSize is 128 MiB and maxBufferSize 256 MiB; the
  // device must carry whatever the adapter offers, which is at least that.
  assert.ok(rt.limits.maxStorageBufferBindingSize >= 134217728);
  assert.ok(rt.limits.maxBufferSize >= 268435456);
  assert.ok(rt.limits.maxComputeInvocationsPerWorkgroup >= 256);
});

s('size classes waste at most 25% and are monotone', () => {
  let prev = 0;
  for (let b = 1; b < 1 << 22; b = Math.ceil(b * 1.37) + 3) {
    const c = sizeClass(b);
    assert.ok(c >= b, `class ${c} holds ${b}`);
    assert.ok(c >= prev, 'monotone');
    if (b > 4096) assert.ok(c <= b * 1.25 + 256, `class ${c} for ${b} wastes too much`);
    prev = c;
  }
});

s('the pool reuses released buffers and counts live bytes', async () => {
  const rt = await gpu();
  const before = rt.stats();
  const a = empty([1000]);
  const mid = rt.stats();
  assert.is(mid.liveBuffers, before.liveBuffers + 1);
  assert.is(mid.liveBytes, before.liveBytes + sizeClass(4000));
  a.dispose();
  const created = rt.stats().created;
  const b = empty([990]); // same size class: must come from the free list
  assert.is(rt.stats().created, created, 'no new buffer for the same size class');
  b.dispose();
  assert.is(rt.stats().liveBuffers, before.liveBuffers);
});

s('exact allocations (weights) hold no size-class slack', async () => {
  const rt = await gpu();
  const before = rt.stats().liveBytes;
  const n = 5000 * 1025 + 3; // a size far from any class boundary
  const w = upload(new Float32Array(n), [n], rt, { exact: true });
  assert.is(rt.stats().liveBytes - before, Math.ceil((n * 4) / 256) * 256);
  assert.ok(sizeClass(n * 4) > Math.ceil((n * 4) / 256) * 256, 'a size class would have rounded up');
  w.dispose();
});

s('read-back round-trips data and reuses staging buffers', async () => {
  const data = Float32Array.from({ length: 777 }, (_, i) => i * 0.5 - 3);
  for (let k = 0; k < 3; k++) {
    const t = upload(data, [7, 111]);
    assert.equal(Array.from(await t.data()), Array.from(data));
    t.dispose();
  }
});

s('a binding larger than the adapter allows is a ShapeError naming the kernel and shapes', async () => {
  const rt = await gpu();
  const fake = { size: rt.limits.maxStorageBufferBindingSize + 256 } as GPUBuffer;
  const small = empty([4]);
  try {
    rt.dispatch({
      program: { name: 'probe', key: '', inputs: 1, outputs: 1, code: () => '' },
      inputs: [{ buffer: fake }],
      outputs: [{ buffer: small.buffer }],
      uniforms: new Uint32Array([1, 0, 0, 0]).buffer,
      workgroups: [1],
      shapes: 'x:(huge)',
    });
    assert.unreachable('dispatch accepted an oversized binding');
  } catch (e) {
    assert.instance(e, ShapeError);
    assert.match((e as Error).message, /probe.*x:\(huge\).*split/);
  } finally {
    small.dispose();
  }
});

s('a shader that fails to compile surfaces as GpuKernelError at the next read', async () => {
  const rt = await gpu();
  const x = upload(new Float32Array([1, 2, 3, 4]), [4]);
  const y = empty([4]);
  rt.dispatch({
    program: {
      name: 'broken-kernel', key: 'v1', inputs: 1, outputs: 1,
      code: () => 'this is not WGSL',
    },
    inputs: [{ buffer: x.buffer }],
    outputs: [{ buffer: y.buffer }],
    uniforms: new Uint32Array([4, 0, 0, 0]).buffer,
    workgroups: [1],
    shapes: 'x:(4)',
  });
  try {
    await y.data();
    assert.unreachable('the broken kernel went unnoticed');
  } catch (e) {
    assert.instance(e, GpuKernelError);
    assert.match((e as Error).message, /broken-kernel/);
  } finally {
    x.dispose();
    y.dispose();
  }
  // The runtime stays usable after reporting the error.
  const z = upload(new Float32Array([5]), [1]);
  assert.equal(Array.from(await z.data()), [5]);
  z.dispose();
});

s('debug mode pins an error to the dispatch, with its shapes', async () => {
  const rt = await Runtime.create({ debug: true });
  try {
    const x = upload(new Float32Array(8), [8], rt);
    const y = upload(new Float32Array(8), [8], rt);
    const ok = { name: 'fine', key: '', inputs: 1, outputs: 1, code: () => `
@group(0) @binding(0) var<uniform> u: vec4<u32>;
@group(0) @binding(1) var<storage, read> X: array<f32>;
@group(0) @binding(2) var<storage, read_write> Y: array<f32>;
@compute @workgroup_size(8) fn main(@builtin(global_invocation_id) g: vec3<u32>) { Y[g.x] = X[g.x] + f32(u.x); }` };
    const bad = { ...ok, name: 'bad-kernel', code: () => ok.code().replace('X[g.x]', 'X[g.x] + undefinedName') };
    const spec = { inputs: [{ buffer: x.buffer }], outputs: [{ buffer: y.buffer }], uniforms: new Uint32Array([1, 0, 0, 0]).buffer, workgroups: [1] as [number] };
    try {
      // The error may surface at the next dispatch or at the read; either way it names the
      // second dispatch, not the last one.
      rt.dispatch({ program: ok, shapes: 'x:(8) first', ...spec });
      rt.dispatch({ program: bad, shapes: 'x:(8) second', ...spec });
      rt.dispatch({ program: ok, shapes: 'x:(8) third', ...spec });
      await y.data();
      assert.unreachable('error went unnoticed');
    } catch (e) {
      assert.instance(e, GpuKernelError);
      assert.is((e as GpuKernelError).kernel, 'bad-kernel');
      assert.is((e as GpuKernelError).shapes, 'x:(8) second');
    }
  } finally {
    rt.destroy();
  }
});

s('a lost device is reported as DeviceLostError on the next use', async () => {
  const rt = await Runtime.create();
  const t = upload(new Float32Array([1, 2]), [2], rt);
  rt.device.destroy();
  await new Promise((r) => setTimeout(r, 20));
  await rt.device.lost;
  try {
    upload(new Float32Array([1]), [1], rt);
    assert.unreachable('lost device went unnoticed');
  } catch (e) {
    assert.instance(e, DeviceLostError);
    assert.match((e as Error).message, /acquireGpu|init\(\)/);
  }
  void t;
});

s.run();
