// The runtime's profiler (bench --profile): every dispatch and copy between startProfile and
// stopProfile is reported once, in order, with a GPU time, in both modes; results are unchanged
// by profiling; a larger kernel takes longer than a smaller one of the same kind (control).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { conv2d } from '../../src/kernels/conv2d.ts';
import { binary } from '../../src/kernels/elementwise.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { gpu, randn } from '../helpers.ts';

const s = suite('gpu/profiler');

/** Two convolutions (one 16× the work of the other) and an add; returns the output values. */
async function work() {
  const small = upload(randn(1 * 16 * 16 * 8, 1), [1, 16, 16, 8]);
  const big = upload(randn(1 * 64 * 64 * 8, 2), [1, 64, 64, 8]);
  const w = upload(randn(3 * 3 * 8 * 32, 3), [3, 3, 8, 32]);
  const a = conv2d(small, w, { padding: 'same' });
  const b = conv2d(big, w, { padding: 'same' });
  const c = binary('add', a, a);
  const out = await c.data();
  for (const t of [small, big, w, a, b, c]) t.dispose();
  return out;
}

for (const mode of ['timestamp', 'sync'] as const) {
  s(`${mode}: one entry per dispatch, in order, timed; results unchanged`, async () => {
    const rt = await gpu();
    if (mode === 'timestamp' && !rt.features.has('timestamp-query')) {
      assert.throws(() => rt.startProfile('timestamp'), /timestamp-query/);
      return;
    }
    const plain = await work(); // also compiles, so the profiled pass times kernels only
    const before = rt.dispatchCount;
    rt.startProfile(mode);
    const profiled = await work();
    const p = await rt.stopProfile();
    assert.is(p.mode, mode);
    assert.equal(Array.from(profiled), Array.from(plain), 'profiling must not change results');
    const kernels = p.entries.filter((e) => e.name !== 'read-back' && e.name !== 'copy');
    assert.is(kernels.length, rt.dispatchCount - before, 'every dispatch reported once');
    assert.equal(kernels.map((e) => e.name), ['conv2d', 'conv2d', 'binary.add']);
    assert.is(p.entries.filter((e) => e.name === 'read-back').length, 1, 'the read-back copy is named');
    for (const e of kernels) assert.ok(e.ms != null && e.ms >= 0, `${e.name} has a time`);
    const [small, big] = kernels as [typeof kernels[0], typeof kernels[0]];
    assert.ok(big.cost === 16 * small.cost, `declared costs ${small.cost}, ${big.cost}`);
    // Control: 16× the work must show as more time (by a wide margin under either timer).
    assert.ok(big.ms! > small.ms!, `big conv ${big.ms} ms vs small ${small.ms} ms`);
    if (mode === 'timestamp') {
      const sum = kernels.reduce((a, e) => a + e.ms!, 0);
      assert.ok(p.spanMs! >= sum * 0.999, `span ${p.spanMs} ms covers the kernels' ${sum} ms`);
    } else {
      assert.ok(p.roundTripMs! > 0);
    }
    // Off again: nothing recorded, and a second profile starts empty.
    rt.startProfile(mode);
    const q = await rt.stopProfile();
    assert.is(q.entries.length, 0);
  });
}

s('startProfile twice and stopProfile without a start are errors that say what to do', async () => {
  const rt = await gpu();
  rt.startProfile('sync');
  assert.throws(() => rt.startProfile('sync'), /stopProfile/);
  await rt.stopProfile();
  let err: unknown = null;
  await rt.stopProfile().catch((e) => (err = e));
  assert.match(String(err), /startProfile/);
});

s.run();
