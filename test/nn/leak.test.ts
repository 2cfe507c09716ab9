// Leak tests: a few hundred mixed kernels inside scopes, and repeated forward/backward steps,
// must leave the pool's live-buffer count and bytes where they started.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as k from '../../src/kernels/index.ts';
import * as ops from '../../src/nn/ops.ts';
import { valueAndGrad } from '../../src/nn/tape.ts';
import { scope, upload } from '../../src/tensor/tensor.ts';
import { gpu, randn } from '../helpers.ts';

const s = suite('nn/leak');

s('a few hundred mixed forward kernels inside scopes leak nothing', async () => {
  const rt = await gpu();
  const x = upload(randn(2 * 9 * 9 * 6, 1), [2, 9, 9, 6]);
  const w = upload(randn(3 * 3 * 6 * 8, 2), [3, 3, 6, 8]);
  const wd = upload(randn(8 * 5, 3), [8, 5]);
  const b = upload(randn(8, 4), [8]);
  const before = rt.stats();
  let launched = 0;
  for (let i = 0; i < 40; i++) {
    const out = scope(() => {
      const y = k.conv2d(x, w, { bias: b, padding: 'same', activation: 'relu', strides: 1 + (i % 2) });
      const p = k.maxPool2d(y, { window: 2, padding: 'same' });
      const a = k.avgPool2d(y, { window: 3, strides: 1, padding: 'valid' });
      const c = k.concat([p, k.resizeBilinear(a, [p.shape[1]!, p.shape[2]!])]);
      const g = k.globalAvgPool(k.add(c, k.mulScalar(c, 0.5)));
      const d = k.dense(k.slice(g, [0, 0], [-1, 8]), wd);
      launched += 9;
      return k.softmax(d);
    });
    if (i % 10 === 9) await out.data();
    out.dispose();
  }
  const after = rt.stats();
  assert.ok(launched >= 300);
  assert.is(after.liveBuffers, before.liveBuffers, 'live buffers');
  assert.is(after.liveBytes, before.liveBytes, 'live bytes');
  for (const t of [x, w, wd, b]) t.dispose();
});

s('repeated forward/backward steps leak nothing', async () => {
  const rt = await gpu();
  // A small CNN step: conv → BN (training) → max pool → conv → global pool → dense → loss.
  const x = upload(randn(4 * 8 * 8 * 3, 5), [4, 8, 8, 3]);
  const k1 = upload(randn(3 * 3 * 3 * 6, 6), [3, 3, 3, 6]);
  const k2 = upload(randn(3 * 3 * 6 * 5, 7), [3, 3, 6, 5]);
  const b2 = upload(randn(5, 8), [5]);
  const gamma = upload(randn(6, 9, 0.5, 1.5), [6]);
  const w = upload(randn(5 * 3, 10), [5, 3]);
  const classes = upload([0, 2, 1, 1], [4]);
  const before = rt.stats();
  for (let i = 0; i < 30; i++) {
    const r = valueAndGrad(() => {
      const h = ops.batchNormTrain(ops.conv2d(x, k1, { padding: 'same' }), { gamma }).y;
      const p = ops.maxPool2d(ops.relu(h), { window: 2 });
      const g = ops.globalAvgPool(ops.conv2d(p, k2, { bias: b2, padding: 'same', activation: 'relu' }));
      return ops.sparseSoftmaxCrossEntropy(ops.matmul(g, w), classes);
    }, [k1, k2, b2, gamma, w]);
    r.value.dispose();
    r.grads.forEach((g) => g.dispose());
  }
  await x.data();
  const after = rt.stats();
  assert.is(after.liveBuffers, before.liveBuffers, 'live buffers');
  assert.is(after.liveBytes, before.liveBytes, 'live bytes');
});

s.run();
