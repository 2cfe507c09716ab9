// Tensors: shape checks, ndarray read-back, reshape views sharing storage, dispose and scopes.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { add, relu, mulScalar } from '../../src/kernels/elementwise.ts';
import { keep, scope, scopeAsync, upload, zeros, fill, Tensor } from '../../src/tensor/tensor.ts';
import { gpu, randn } from '../helpers.ts';

const s = suite('nn/tensor');
s.before(async () => { await gpu(); });

s('read() returns an ndarray view with the tensor\'s shape', async () => {
  const data = randn(2 * 3 * 4 * 5, 1);
  const t = upload(data, [2, 3, 4, 5]);
  const nd = await t.read();
  assert.equal(nd.shape, [2, 3, 4, 5]);
  // NHWC row-major: (n,h,w,c) → ((n*H + h)*W + w)*C + c
  assert.is(nd.get(1, 2, 3, 4), data[((1 * 3 + 2) * 4 + 3) * 5 + 4]);
  assert.is(nd.get(0, 1, 0, 2), data[((0 * 3 + 1) * 4 + 0) * 5 + 2]);
  t.dispose();
});

s('upload checks the data length against the shape', () => {
  assert.throws(() => upload(new Float32Array(5), [2, 3]), /5 values given for shape \[2, 3\]/);
  assert.throws(() => upload(new Float32Array(0), [2, -1]), /invalid shape/);
});

s('reshape shares storage; the buffer is freed with the last view', async () => {
  const rt = await gpu();
  const live = rt.stats().liveBuffers;
  const t = upload(Float32Array.from({ length: 12 }, (_, i) => i), [3, 4]);
  const v = t.reshape([2, -1, 3]);
  assert.equal(v.shape, [2, 2, 3]);
  assert.throws(() => t.reshape([5, 2]), /cannot reshape \[3, 4\]/);
  t.dispose();
  assert.is(rt.stats().liveBuffers, live + 1, 'view keeps the buffer alive');
  assert.equal(Array.from(await v.data()), Array.from({ length: 12 }, (_, i) => i));
  v.dispose();
  assert.is(rt.stats().liveBuffers, live);
});

s('use after dispose is a clear error; double dispose is harmless', async () => {
  const t = zeros([2]);
  t.dispose();
  t.dispose();
  assert.ok(t.disposed);
  assert.throws(() => t.buffer, /used after dispose/);
});

s('scope frees everything but what it returns, nested, including on throw', async () => {
  const rt = await gpu();
  const live = rt.stats().liveBuffers;
  const a = fill([4, 4], 2);
  const { out, extra } = scope(() => {
    const inner = scope(() => relu(add(a, a))); // add's output dies here
    const kept = keep(mulScalar(inner, 3));
    return { out: add(inner, inner), extra: kept };
  });
  assert.is(rt.stats().liveBuffers, live + 3, 'a, out and the kept tensor survive');
  assert.equal(Array.from(await out.data()), new Array(16).fill(8));
  assert.equal(Array.from(await extra.data()), new Array(16).fill(12));
  assert.throws(() => scope(() => { add(a, a); throw new Error('boom'); }), /boom/);
  assert.is(rt.stats().liveBuffers, live + 3, 'a throwing scope frees what it made');
  for (const t of [a, out, extra]) t.dispose();
  assert.is(rt.stats().liveBuffers, live);
});

s('scopeAsync keeps the awaited result', async () => {
  const rt = await gpu();
  const live = rt.stats().liveBuffers;
  const r = await scopeAsync(async () => {
    const t = add(fill([3], 1), fill([3], 2));
    const d = await t.data();
    return { t: mulScalar(t, 2), first: d[0] };
  });
  assert.is(r.first, 3);
  assert.ok(r.t instanceof Tensor);
  assert.is(rt.stats().liveBuffers, live + 1);
  r.t.dispose();
});

s.run();
