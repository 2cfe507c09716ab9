// resizeBilinearGrad in TensorFlow's three coordinate modes against three references:
//  - a float64 host scatter written from TF's ResizeBilinearGrad (resize_bilinear_op.cc), all modes;
//  - tf.grad of tf.image.resizeBilinear (CPU backend) for the legacy and alignCorners modes. tfjs's
//    CPU ResizeBilinearGrad ignores halfPixelCenters, and reports [N,W,H,C] as the shape (so
//    tf.grad rejects non-square inputs): it serves only where it is right, on square inputs;
//  - the adjoint identity Σ dx·x = Σ dy·resize(x) with tfjs's forward, in all modes.
// Tolerance rtol 1e-4, atol 1e-5 (dy in [-1, 1]; f32 sums of up to ~4400 weighted terms).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { ShapeError } from '../../src/gpu/errors.ts';
import { resizeBilinear, resizeBilinearGrad, type ResizeOptions } from '../../src/kernels/resize.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { assertClose, finiteDiff, gpu, randn, ref, tf } from '../helpers.ts';

const s = suite('kernels/resize-grad');
s.before(async () => { await gpu(); });

const TOL = { rtol: 1e-4, atol: 1e-5 };
const MODES = [
  { name: 'legacy', alignCorners: false, halfPixelCenters: false },
  { name: 'alignCorners', alignCorners: true, halfPixelCenters: false },
  { name: 'halfPixelCenters', alignCorners: false, halfPixelCenters: true },
] as const;
type Shape4 = [number, number, number, number];
const size = (sh: readonly number[]) => sh.reduce((a, d) => a * d, 1);

/** TF's ResizeBilinearGrad in float64: scatter each dy pixel onto its four source pixels. */
function hostGrad(dy: Float32Array, [N, H, W, C]: Shape4, [OH, OW]: [number, number], o: ResizeOptions): Float64Array {
  const axis = (inp: number, out: number) => {
    const scale = o.alignCorners && out > 1 ? (inp - 1) / (out - 1) : inp / out;
    return Array.from({ length: out }, (_, k) => {
      const f = o.halfPixelCenters ? (k + 0.5) * scale - 0.5 : k * scale;
      return { lo: Math.max(Math.floor(f), 0), hi: Math.min(Math.ceil(f), inp - 1), t: f - Math.floor(f) };
    });
  };
  const ys = axis(H, OH), xs = axis(W, OW);
  const dx = new Float64Array(N * H * W * C);
  for (let b = 0; b < N; b++) {
    for (let oy = 0; oy < OH; oy++) {
      const { lo: y0, hi: y1, t: ty } = ys[oy]!;
      for (let ox = 0; ox < OW; ox++) {
        const { lo: x0, hi: x1, t: tx } = xs[ox]!;
        for (let c = 0; c < C; c++) {
          const g = dy[((b * OH + oy) * OW + ox) * C + c]!;
          const add = (y: number, x: number, w: number) => {
            const k = ((b * H + y) * W + x) * C + c;
            dx[k] = dx[k]! + g * w;
          };
          add(y0, x0, (1 - ty) * (1 - tx));
          add(y0, x1, (1 - ty) * tx);
          add(y1, x0, ty * (1 - tx));
          add(y1, x1, ty * tx);
        }
      }
    }
  }
  return dx;
}

async function check(sh: Shape4, outSize: [number, number], seed: number) {
  const dySh = [sh[0], outSize[0], outSize[1], sh[3]];
  const dyData = randn(size(dySh), seed);
  const xData = randn(size(sh), seed + 1);
  const dy = upload(dyData, dySh);
  for (const m of MODES) {
    const what = `${m.name} ${sh} → ${outSize}`;
    const got = resizeBilinearGrad(dy, sh, m);
    assert.equal([...got.shape], sh, `${what}: shape`);
    const dx = await got.data();
    got.dispose();
    assertClose(dx, hostGrad(dyData, sh, outSize, m), { ...TOL, what: `${what} vs TF's scatter` });
    // Adjoint: <dx, x> = <dy, resize(x)>, the forward from tfjs.
    const y = ref(tf.image.resizeBilinear(tf.tensor4d(xData, sh), outSize, m.alignCorners, m.halfPixelCenters));
    let lhs = 0, rhs = 0, mag = 0;
    dx.forEach((v, i) => { lhs += v * xData[i]!; mag += Math.abs(v * xData[i]!); });
    y.forEach((v, i) => { rhs += v * dyData[i]!; });
    assert.ok(Math.abs(lhs - rhs) <= 1e-5 * mag + 1e-5, `${what}: adjoint ${lhs} vs ${rhs}`);
    if (sh[1] === sh[2] && !m.halfPixelCenters) {
      const want = tf.grad((x: tf.Tensor) => tf.image.resizeBilinear(x as tf.Tensor4D, outSize, m.alignCorners, false))(
        tf.tensor4d(xData, sh), tf.tensor4d(dyData, dySh as Shape4),
      );
      assertClose(dx, ref(want), { ...TOL, what: `${what} vs tf.grad` });
    }
  }
  dy.dispose();
}

s('up-sampling with odd sizes, batch 2, 3 channels, all modes', async () => {
  await check([2, 5, 5, 3], [9, 13], 1);
  await check([2, 3, 4, 3], [8, 8], 2);
  await check([1, 2, 2, 5], [7, 3], 3);
  await check([2, 4, 4, 1], [4, 4], 4); // identity size
});

s('down-sampling with odd sizes, and 1-pixel inputs and outputs', async () => {
  await check([2, 13, 13, 3], [5, 4], 10);
  await check([2, 9, 7, 2], [3, 2], 11);
  await check([1, 1, 1, 3], [4, 5], 12);
  await check([2, 6, 5, 3], [1, 1], 13);
  await check([1, 1, 6, 2], [3, 1], 14);
});

s('CAM sizes: 7×7 → 224×224 and 224×224 → 7×7, batch 2, all modes', async () => {
  await check([2, 7, 7, 2], [224, 224], 20);
  await check([2, 224, 224, 2], [7, 7], 21);
});

s('rank-3 (H,W,C) tensors work like a batch of one', async () => {
  const dyData = randn(9 * 6 * 2, 30);
  const got = resizeBilinearGrad(upload(dyData, [9, 6, 2]), [4, 3, 2], { halfPixelCenters: true });
  assert.equal([...got.shape], [4, 3, 2]);
  assertClose(await got.data(), hostGrad(dyData, [1, 4, 3, 2], [9, 6], { halfPixelCenters: true }), { ...TOL, what: 'rank 3' });
});

s('finite differences of w·resizeBilinear(x) through the GPU, all modes', async () => {
  const sh: Shape4 = [1, 3, 2, 1];
  const outSize: [number, number] = [5, 4];
  const w = randn(20, 40);
  const x0 = randn(6, 41);
  for (const m of MODES) {
    const fd = await finiteDiff(async (x) => {
      const y = await resizeBilinear(upload(x, sh), outSize, m).data();
      return y.reduce((a, v, i) => a + v * w[i]!, 0);
    }, x0);
    const got = await resizeBilinearGrad(upload(w, [1, 5, 4, 1]), sh, m).data();
    assertClose(got, fd, { rtol: 1e-3, atol: 1e-3, what: `${m.name} finite differences` });
  }
});

s('bad shapes are ShapeErrors that name them', () => {
  const dy = upload(new Float32Array(2 * 8 * 8 * 3), [2, 8, 8, 3]);
  const cases: [() => unknown, RegExp][] = [
    [() => resizeBilinearGrad(dy, [1, 4, 4, 3]), /dy:\(2,8,8,3\) x:\(1,4,4,3\).*batch 1 and channels 3/],
    [() => resizeBilinearGrad(dy, [2, 4, 4, 2]), /channels 2/],
    [() => resizeBilinearGrad(dy, [4, 4, 3]), /both of rank 3/],
    [() => resizeBilinearGrad(dy, [2, 0, 4, 3]), /positive height and width/],
    [() => resizeBilinearGrad(dy, [2, 4, 4, 3], { alignCorners: true, halfPixelCenters: true }), /cannot both be true/],
  ];
  for (const [f, re] of cases) {
    assert.throws(f, (e: unknown) => e instanceof ShapeError && re.test(e.message), String(re));
  }
});

s.run();
