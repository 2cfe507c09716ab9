// resizeBilinear against tf.image.resizeBilinear on the CPU backend in all three coordinate
// modes: up and down, odd sizes, 1-pixel inputs and outputs, batch 2 × 3 channels, and the CAM
// up-sampling 7×7 → 224×224. Tolerance rtol 1e-5, atol 1e-6 (inputs in [-1, 1]; measured max
// |error| 2e-7): the kernel derives coordinates exactly with integers, then blends in float32
// where TF blends in float64.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { resizeBilinear } from '../../src/kernels/resize.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/resize');
s.before(async () => { await gpu(); });

const TOL = { rtol: 1e-5, atol: 1e-6 };
const MODES = [
  { name: 'legacy', alignCorners: false, halfPixelCenters: false },
  { name: 'alignCorners', alignCorners: true, halfPixelCenters: false },
  { name: 'halfPixelCenters', alignCorners: false, halfPixelCenters: true },
] as const;

async function check(sh: [number, number, number, number], size: [number, number], seed: number) {
  const d = randn(sh.reduce((a, b) => a * b, 1), seed);
  const x = upload(d, sh);
  const xt = tf.tensor4d(d, sh);
  for (const m of MODES) {
    const y = resizeBilinear(x, size, m);
    const want = tf.image.resizeBilinear(xt, size, m.alignCorners, m.halfPixelCenters);
    assert.equal([...y.shape], want.shape);
    assertClose(await y.data(), ref(want), { ...TOL, what: `${m.name} ${sh} → ${size}` });
  }
}

s('up-sampling, odd sizes, batch 2, 3 channels, all modes', async () => {
  await check([2, 5, 7, 3], [9, 13], 1);
  await check([2, 3, 4, 3], [8, 8], 2);
  await check([1, 2, 2, 5], [7, 3], 3);
});

s('down-sampling and mixed (one axis up, one down), all modes', async () => {
  await check([2, 9, 13, 3], [4, 5], 4);
  await check([1, 17, 6, 2], [5, 11], 5);
  await check([2, 8, 8, 3], [3, 3], 6);
});

s('1-pixel inputs and outputs, all modes', async () => {
  await check([2, 1, 1, 3], [4, 5], 7);
  await check([2, 6, 5, 3], [1, 1], 8);
  await check([1, 1, 7, 2], [3, 1], 9);
});

s('CAM up-sampling 7×7 → 224×224 (batch 2, 3 channels), all modes', async () => {
  await check([2, 7, 7, 3], [224, 224], 10);
});

s('an HWC image (rank 3) resizes like its batch of one', async () => {
  const d = randn(5 * 4 * 2, 11);
  const y = resizeBilinear(upload(d, [5, 4, 2]), [7, 9], { halfPixelCenters: true });
  assert.equal([...y.shape], [7, 9, 2]);
  const want = tf.image.resizeBilinear(tf.tensor3d(d, [5, 4, 2]), [7, 9], false, true);
  assertClose(await y.data(), ref(want), { ...TOL, what: 'rank 3' });
});

s('bad arguments are ShapeErrors', () => {
  const x = upload(new Float32Array(2 * 3 * 3), [2, 3, 3, 1]);
  const cases: [() => unknown, RegExp][] = [
    [() => resizeBilinear(x, [4, 4], { alignCorners: true, halfPixelCenters: true }), /cannot both be true/],
    [() => resizeBilinear(x, [0, 4]), /size must be two positive integers/],
    [() => resizeBilinear(x, [2.5, 4]), /size must be two positive integers/],
    [() => resizeBilinear(upload(new Float32Array(6), [2, 3]), [4, 4]), /x:\(2,3\).*\(N,H,W,C\)/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
