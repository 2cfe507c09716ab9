// Score heads and the automatic layer choice. Heads: the class score a CAM explains is the
// pre-activation logit for softmax and sigmoid outputs, whether the activation is fused into the
// last Dense or a Softmax/Activation layer of its own (tfjs's gradients of the logit as the
// reference, with a control showing the post-activation score gives another map); sigmoid heads
// are multi-label. Layers: 'auto' never returns a 1×1 layer and warns on multi-input models and
// multi-scale heads (controls: a plain CNN gets no warning).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { autoLayerChoice, cam } from '../../src/cam/index.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { fromTf, randomizeTf } from '../nn/keras-helpers.ts';
import { assertClose, gpu, randn, tf } from '../helpers.ts';
import { tailModel, tfl } from './cam-helpers.ts';

type Sym = tfl.SymbolicTensor;
const s = suite('cam/heads');
s.before(async () => { await gpu(); });

const N = 2, S = 10, C = 6, K = 4;
const xh = randn(N * S * S * 3, 31, 0, 1);
type HeadKind = 'dense-softmax' | 'softmax-layer' | 'activation-softmax' | 'dense-sigmoid' | 'activation-sigmoid';

/** conv 3×3×8 relu → conv 3×3×6 relu 'feat' → global average pool → Dense(K) with the given head. */
function headModel(kind: HeadKind): tfl.LayersModel {
  const inp = tfl.input({ shape: [S, S, 3] });
  let x = tfl.layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu', name: 'c1' }).apply(inp) as Sym;
  x = tfl.layers.conv2d({ filters: C, kernelSize: 3, padding: 'same', activation: 'relu', name: 'feat' }).apply(x) as Sym;
  x = tfl.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as Sym;
  const fused = kind === 'dense-softmax' ? 'softmax' : kind === 'dense-sigmoid' ? 'sigmoid' : 'linear';
  x = tfl.layers.dense({ units: K, activation: fused, name: 'logits' }).apply(x) as Sym;
  if (kind === 'softmax-layer') x = tfl.layers.softmax({ name: 'probs' }).apply(x) as Sym;
  if (kind === 'activation-softmax') x = tfl.layers.activation({ activation: 'softmax', name: 'probs' }).apply(x) as Sym;
  if (kind === 'activation-sigmoid') x = tfl.layers.activation({ activation: 'sigmoid', name: 'probs' }).apply(x) as Sym;
  const m = tfl.model({ inputs: inp, outputs: x, name: kind.replace('-', '_') });
  randomizeTf(m, 41);
  return m;
}

/** tfjs: activations at 'feat' and the gradients of z_t (the logit) and of the model's output p_t w.r.t. them. */
function tfGrads(tm: tfl.LayersModel, kind: HeadKind, targets: number[]) {
  const x = tf.tensor4d(xh, [N, S, S, 3]);
  const feat = tfl.model({ inputs: tm.inputs, outputs: tm.getLayer('feat').getOutputAt(0) as Sym });
  const A = feat.predict(x) as tf.Tensor4D;
  const onehot = tf.cast(tf.oneHot(tf.tensor1d(targets, 'int32'), K), 'float32');
  const fused = kind.startsWith('dense-');
  // The logits: for a fused head the Dense's pre-activation x·W + b on the tail's output; else the tail ends at the logits.
  const tail = tailModel(tm, 'feat');
  const [k, b] = tm.getLayer('logits').getWeights() as [tf.Tensor2D, tf.Tensor1D];
  const z = (a: tf.Tensor) => (fused ? tf.add(tf.matMul(tail.apply(a) as tf.Tensor2D, k), b) : (tail.apply(a) as tf.Tensor2D));
  const act = (v: tf.Tensor) => (kind.endsWith('sigmoid') ? tf.sigmoid(v) : tf.softmax(v));
  const gz = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(z(a), onehot)))(A);
  const gp = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(act(z(a)), onehot)))(A);
  return { A: A.dataSync() as Float32Array, gz: gz.dataSync() as Float32Array, gp: gp.dataSync() as Float32Array, probs: (tm.predict(x) as tf.Tensor2D).dataSync() as Float32Array };
}

/**
 * Grad-CAM++ (Chattopadhay et al. Eq. 19, exp score) from activations and gradients of one image,
 * ReLU, ÷ max. ε = 1e-6 in α's denominator as pytorch-grad-cam (grad_cam_plusplus.py at 084273b3;
 * the paper has none): behind a global average pool g ≈ w/(h·w), so g² is near ε and ε matters.
 */
function gradcamPP(A: Float32Array, G: Float32Array, n: number): number[] {
  const P = S * S;
  const map = new Array<number>(P).fill(0);
  for (let c = 0; c < C; c++) {
    let sa = 0;
    for (let p = 0; p < P; p++) sa += A[(n * P + p) * C + c]!;
    let w = 0;
    for (let p = 0; p < P; p++) {
      const g = G[(n * P + p) * C + c]!;
      if (g !== 0) w += ((g * g) / (2 * g * g + sa * g ** 3 + 1e-6)) * Math.max(g, 0);
    }
    for (let p = 0; p < P; p++) map[p]! += w * A[(n * P + p) * C + c]!;
  }
  const r = map.map((v) => Math.max(v, 0));
  const peak = Math.max(...r);
  return peak > 0 ? r.map((v) => v / peak) : r;
}

for (const kind of ['dense-softmax', 'softmax-layer', 'activation-softmax', 'dense-sigmoid', 'activation-sigmoid'] as HeadKind[]) {
  s(`${kind}: Grad-CAM++ explains the logit (tfjs gradient of z, atol 1e-4), not the ${kind.endsWith('sigmoid') ? 'sigmoid' : 'softmax'} output (control differs > 1e-3); topk probabilities are the model's output`, async () => {
    const tm = headModel(kind);
    const model = fromTf(tm);
    try {
      const targets = [1, 3];
      const ref = tfGrads(tm, kind, targets);
      const r = await cam(model, upload(xh, [N, S, S, 3]), { method: 'gradcam++', layer: 'feat', target: targets, topk: K });
      let apart = 0;
      for (let n = 0; n < N; n++) {
        assertClose(r.images[n]!.map.values, gradcamPP(ref.A, ref.gz, n), { rtol: 0, atol: 1e-4, what: `${kind} image ${n}` });
        const post = gradcamPP(ref.A, ref.gp, n);
        apart = Math.max(apart, ...post.map((v, i) => Math.abs(v - r.images[n]!.map.values[i]!)));
        for (const t of r.images[n]!.topk) assertClose([t.prob], [ref.probs[n * K + t.index]!], { rtol: 1e-5, atol: 1e-6, what: `${kind} p(${t.index})` });
      }
      assert.ok(apart > 1e-3, `control: the post-activation score's map is within ${apart} of the logit's`);
    } finally {
      model.dispose();
    }
  });
}

s('sigmoid heads are multi-label: top-2 gives the two most probable labels, each with its own logit map (Grad-CAM, tfjs, atol 1e-4)', async () => {
  const tm = headModel('activation-sigmoid');
  const model = fromTf(tm);
  try {
    const r = await cam(model, upload(xh, [N, S, S, 3]), { method: 'gradcam', layer: 'feat', target: { topK: 2 } });
    const probs = tfGrads(tm, 'activation-sigmoid', [0, 0]).probs;
    for (let n = 0; n < N; n++) {
      const order = Array.from(probs.subarray(n * K, n * K + K)).map((p, i) => [p, i] as const).sort((a, b) => b[0] - a[0]);
      for (let k = 0; k < 2; k++) {
        const row = r.images[n * 2 + k]!;
        assert.is(row.target, order[k]![1]);
        // The other image's target does not matter for this image's map (rows do not interact).
        const ref = tfGrads(tm, 'activation-sigmoid', [row.target, row.target]);
        const P = S * S;
        const w = Array.from({ length: C }, (_, c) => { let g = 0; for (let p = 0; p < P; p++) g += ref.gz[(n * P + p) * C + c]!; return g / P; });
        const map = Array.from({ length: P }, (_, p) => Math.max(0, w.reduce((acc, wc, c) => acc + wc * ref.A[(n * P + p) * C + c]!, 0)));
        const peak = Math.max(...map);
        assertClose(row.map.values, map.map((v) => (peak > 0 ? v / peak : 0)), { rtol: 0, atol: 1e-4, what: `image ${n} label ${row.target}` });
      }
      // The reported probabilities are the sigmoid outputs, independent per label.
      for (const t of row0(r, n).topk) assertClose([t.prob], [probs[n * K + t.index]!], { rtol: 1e-5, atol: 1e-6, what: `p(${t.index})` });
    }
  } finally {
    model.dispose();
  }
});

const row0 = (r: Awaited<ReturnType<typeof cam>>, n: number) => r.images[n * 2]!;

/** A functional model built from a callback on an image input (and optionally a vector input). */
function graph(build: (img: Sym, vec: Sym | null) => Sym, size = 12, vector = false): tfl.LayersModel {
  const img = tfl.input({ shape: [size, size, 3], name: 'image' });
  const vec = vector ? tfl.input({ shape: [4], name: 'meta' }) : null;
  return tfl.model({ inputs: vec ? [img, vec] : img, outputs: build(img, vec) });
}
const conv = (name: string, filters: number, strides = 1, seed?: number) =>
  tfl.layers.conv2d({ filters, kernelSize: 3, strides, padding: 'same', activation: 'relu', name, ...(seed == null ? {} : { kernelInitializer: tfl.initializers.glorotUniform({ seed }) }) });

s("'auto' on a plain CNN: the last spatial layer, no warning (control)", () => {
  const m = fromTf(graph((x) => {
    const f = conv('c2', 4).apply(conv('c1', 4).apply(x)) as Sym;
    return tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(tfl.layers.globalAveragePooling2d({}).apply(f)) as Sym;
  }));
  assert.equal(autoLayerChoice(m), { name: 'c2', warnings: [] });
  m.dispose();
});

s("'auto' on a multi-scale head: the last layer every path passes through, with a warning naming the pooled layers", async () => {
  // Seeded weights: with tfjs's unseeded defaults, some draws gave an all-zero map at 'scale1',
  // and cam() rightly added that warning too (a flaky failure seen in CI, not a wrong result).
  const m = fromTf(graph((x) => {
    const a = conv('scale1', 4, 1, 11).apply(x) as Sym;
    const b = conv('scale2', 4, 2, 12).apply(a) as Sym;
    const pa = tfl.layers.globalAveragePooling2d({ name: 'pool1' }).apply(a) as Sym;
    const pb = tfl.layers.globalAveragePooling2d({ name: 'pool2' }).apply(b) as Sym;
    const head = tfl.layers.dense({ units: 3, activation: 'softmax', kernelInitializer: tfl.initializers.glorotUniform({ seed: 13 }) });
    return head.apply(tfl.layers.concatenate({}).apply([pa, pb])) as Sym;
  }));
  const c = autoLayerChoice(m);
  assert.is(c.name, 'scale1');
  assert.is(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /multi-scale: 2 layers with spatial extent \('scale1' \(12×12×4\), 'scale2' \(6×6×4\)\).*chose 'scale1'/);
  const r = await cam(m, upload(randn(12 * 12 * 3, 3, 0, 1), [1, 12, 12, 3]));
  assert.equal(r.warnings, c.warnings, 'cam() passes the warning on');
  m.dispose();
});

s("'auto' on a multi-input model: warns with the layer and why; never a 1×1 layer", () => {
  const m = fromTf(graph((x, v) => {
    const f = conv('c2', 4, 2).apply(conv('c1', 4).apply(x)) as Sym;
    const one = tfl.layers.conv2d({ filters: 4, kernelSize: 6, name: 'to1x1' }).apply(f) as Sym; // 6×6 → 1×1, the last 4-D layer
    const flat = tfl.layers.flatten({}).apply(one) as Sym;
    return tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(tfl.layers.concatenate({}).apply([flat, v!])) as Sym;
  }, 12, true));
  const c = autoLayerChoice(m);
  assert.is(c.name, 'c2', 'the last layer with spatial extent, not the 1×1 to1x1');
  assert.is(c.warnings.length, 1);
  assert.match(c.warnings[0]!, /has 2 inputs and no layer with spatial extent carries all of them; chose 'c2' \(6×6×4\)/);
  m.dispose();
});

s("'auto' refuses a model whose 4-D layers are all 1×1, naming them", () => {
  const m = fromTf(graph((x) => {
    const one = tfl.layers.conv2d({ filters: 4, kernelSize: 4, name: 'squash' }).apply(x) as Sym;
    return tfl.layers.dense({ units: 3, activation: 'softmax' }).apply(tfl.layers.flatten({}).apply(one)) as Sym;
  }, 4));
  assert.throws(() => autoLayerChoice(m), /no layer with a 4-D \(N,H,W,C\) output of more than one position; its 4-D layers are all 1×1 \(squash\): give a larger input/);
  m.dispose();
});

s.run();
