// The training loop: seeded mini-batches, forward in training mode under a tape, the loss on the
// model's logits, fused optimiser updates in place, per-epoch loss/accuracy (and validation), a
// hook per epoch for CAM recording, checkpoints in the TensorFlow.js layers format. With a frozen
// base the frozen part's outputs are computed once per image and each epoch runs only the head.
import { scoreHead, type Head } from '../cam/targets.ts';
import { subFolder, type FileSource } from '../io/files.ts';
import { saveLayersModel } from '../nn/loaders/save.ts';
import type { StoredLayer } from '../nn/layers/layer.ts';
import type { Model } from '../nn/model.ts';
import * as ops from '../nn/ops.ts';
import { valueAndGrad } from '../nn/tape.ts';
import { keep, upload, type Tensor } from '../tensor/tensor.ts';
import { augmentBatch, augments, type AugmentOptions } from './augment.ts';
import { batchIndices, batchTensors, checkDataset, count, resolveFolder, rng, splitValidation, type Dataset } from './data.ts';
import { adam, type Optimizer, type OptimizerState } from './optimizers.ts';
import { constant, type Schedule } from './schedules.ts';

/** Loss of a batch from logits (B,K) and class indices (B) → (1). */
export type LossFn = (logits: Tensor, labels: Tensor) => Tensor;

export interface EpochRecord {
  /** 1-based: the number of epochs completed. */
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss?: number;
  valAccuracy?: number;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Wall time of the epoch (training and validation, not the hook). */
  ms: number;
}

export interface StepInfo {
  epoch: number;
  step: number;
  steps: number;
  loss: number;
  lr: number;
}

export interface EpochInfo extends EpochRecord {
  model: Model;
  /** The whole history so far, this epoch included. */
  history: History;
  /** Reads the optimiser's state back (for a checkpoint that can be resumed). */
  optimizerState(): Promise<OptimizerState>;
}

export interface History {
  epochs: EpochRecord[];
  /** The layer up to which the model was frozen, and whether its outputs were cached. */
  frozenUpTo?: string;
  cachedFeatures: boolean;
  /** Why frozen features were not cached, when they were not. */
  cacheNote?: string;
  trainable: number;
  /** True when shouldStop() ended the run early (the last epoch in `epochs` is complete). */
  interrupted?: boolean;
}

export interface TrainOptions {
  epochs?: number;
  batchSize?: number;
  /** Default adam({ lr: 1e-3 }). */
  optimizer?: Optimizer;
  /** Learning rate per step; default the optimiser's own rate. */
  schedule?: Schedule;
  /** Default sparse softmax cross-entropy on the model's logits (the pre-softmax output). */
  lossFn?: LossFn;
  /** GPU augmentation of each training batch (turns off feature caching). */
  augment?: AugmentOptions;
  /** A validation set, or a fraction of the training data to hold out (seeded). */
  validation?: Dataset | number;
  seed?: number;
  /** Freeze every layer up to and including this one (model.layers order), as Keras's trainable = False. */
  freezeUpTo?: string;
  /** Cache the frozen base's outputs once per image (default true; needs no augmentation). */
  cacheFeatures?: boolean;
  onEpochEnd?: (info: EpochInfo) => void | Promise<void>;
  onStep?: (info: StepInfo) => void | Promise<void>;
  /** Save `checkpoint/` under this folder (path in Node, or a writable FileSource) at the end, and after every epoch with everyEpoch. */
  checkpoint?: { dir: string | FileSource; everyEpoch?: boolean };
  /**
   * Resume: the number of epochs already done (their records are not repeated; epoch numbers
   * continue from it) and the optimiser's saved state. Shuffling and dropout follow the epoch
   * number, so a resumed run sees the batches an uninterrupted one would.
   */
  resume?: { epochsDone: number; optimizerState?: OptimizerState };
  /** Asked after every step; true stops the run after that step (the partial epoch is dropped, no checkpoint is written). */
  shouldStop?: () => boolean;
}

/** The dropout (or augmentation) random stream of one epoch: seeded by the run's seed and the epoch. */
function epochRng(seed: number, epoch: number, salt: number): () => number {
  // Epoch 0 keeps the run's original stream; later epochs mix the epoch in (a 32-bit odd constant).
  return rng(epoch === 0 ? seed ^ salt : (seed ^ salt) + Math.imul(epoch, 0x9e3779b1));
}

/** The sparse softmax cross-entropy, mean over the batch. */
export const sparseCrossEntropy: LossFn = (logits, labels) => ops.sparseSoftmaxCrossEntropy(logits, labels);

/** The name of the layer that produces the model's output. */
function outputLayer(model: Model): string {
  const used = new Set(model.nodes.flatMap((n) => n.inputs));
  const ends = model.nodes.filter((n) => !used.has(n.key));
  return ends[ends.length - 1]!.layer.name;
}

/** Where the logits come from: the layer to compute up to, and the head that turns it into logits. */
function logitsPlan(model: Model): { head: Head; layer: string } {
  const head = scoreHead(model);
  return { head, layer: head.tap ?? outputLayer(model) };
}

/** Index of the largest value in each row of a (B,K) host array. */
function argmaxRows(v: Float32Array, k: number): Int32Array {
  const out = new Int32Array(v.length / k);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (v[r * k + j]! > v[r * k + best]!) best = j;
    out[r] = best;
  }
  return out;
}

/** Runs either the whole model or the head from cached features; returns the logits (kept). */
type Forward = (x: Tensor, training: boolean, random?: () => number) => Tensor;

function fullForward(model: Model, plan: { head: Head; layer: string }): Forward {
  return (x, training, random) => {
    const { output, taps } = model.run(x, { training, random, taps: plan.head.tap ? [plan.head.tap] : [] });
    return plan.head.logits(output, taps);
  };
}

function headForward(model: Model, from: string, plan: { head: Head; layer: string }): Forward {
  return (feats, training, random) => {
    const taps = model.runFrom(from, feats, [plan.layer], { training, random });
    return plan.head.logits(taps.get(plan.layer)!, taps);
  };
}

/** The frozen layer's outputs for every image, on the host, computed batch by batch in inference mode. */
async function featureCache(model: Model, d: Dataset, layer: string, batchSize: number): Promise<Dataset> {
  const n = count(d);
  const shape = model.layerOutputShape(layer).slice(1) as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const images = new Float32Array(n * per);
  for (const idx of batchIndices(n, batchSize, { shuffle: false })) {
    const { x, y } = batchTensors(d, idx);
    const f = model.runUpTo(x, layer);
    images.set(await f.data(), idx[0]! * per);
    x.dispose();
    y.dispose();
    f.dispose();
  }
  // The cache is a data set of features with a generic shape; batchTensors reshapes by imageShape.
  return { images, labels: d.labels, imageShape: shape as [number, number, number], classNames: d.classNames };
}

/** Uploads a batch of cached features (any rank) and its labels. */
function featureBatch(d: Dataset, idx: Int32Array): { x: Tensor; y: Tensor; labels: Int32Array } {
  const shape = d.imageShape as number[];
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(idx.length * per);
  const labels = new Int32Array(idx.length);
  idx.forEach((i, k) => {
    data.set(d.images.subarray(i * per, (i + 1) * per), k * per);
    labels[k] = d.labels[i]!;
  });
  return { x: upload(data, [idx.length, ...shape]), y: upload(Float32Array.from(labels), [idx.length]), labels };
}

/** Mean loss and accuracy of a forward over a data set (inference mode). */
async function evaluateWith(forward: Forward, d: Dataset, batchSize: number, lossFn: LossFn, features: boolean): Promise<{ loss: number; accuracy: number }> {
  let loss = 0, correct = 0;
  const n = count(d);
  for (const idx of batchIndices(n, batchSize, { shuffle: false })) {
    const { x, y, labels } = features ? featureBatch(d, idx) : batchTensors(d, idx);
    const logits = forward(x, false);
    const l = lossFn(logits, y);
    const [lv, lg] = await Promise.all([l.data(), logits.data()]);
    loss += lv[0]! * idx.length;
    const pred = argmaxRows(lg, lg.length / idx.length);
    pred.forEach((p, k) => (correct += p === labels[k] ? 1 : 0));
    for (const t of [x, y, logits, l]) t.dispose();
  }
  return { loss: loss / Math.max(1, n), accuracy: correct / Math.max(1, n) };
}

/**
 * Mean loss and accuracy of a model on a data set (inference mode, logits before the softmax).
 * @example
 *   const { accuracy } = await evaluate(model, testSet);
 */
export async function evaluate(model: Model, d: Dataset, o: { batchSize?: number; lossFn?: LossFn } = {}): Promise<{ loss: number; accuracy: number }> {
  return evaluateWith(fullForward(model, logitsPlan(model)), d, o.batchSize ?? 64, o.lossFn ?? sparseCrossEntropy, false);
}

/** The layers frozen by freezeUpTo (model.layers order, inclusive) and the tensors left to train. */
function trainables(model: Model, freezeUpTo?: string): { frozen: Set<string>; params: Tensor[] } {
  const frozen = new Set<string>();
  if (freezeUpTo) {
    model.getLayer(freezeUpTo);
    for (const l of model.layers) {
      frozen.add(l.name);
      if (l.name === freezeUpTo) break;
    }
  }
  const params: Tensor[] = [];
  for (const e of model.weightList()) {
    if (!e.trainable || frozen.has(e.layer.name)) continue;
    params.push(...(e.layer as StoredLayer).weightParts(e.weight));
  }
  return { frozen, params };
}

/**
 * Trains a classifier. Labels are class indices; the model's logits are its output before a
 * final softmax (found as src/cam does). Returns the per-epoch history.
 * @example
 *   const history = await train(fashionCnn(), trainSet, { epochs: 5, batchSize: 64, optimizer: adam({ lr: 1e-3 }),
 *     validation: testSet, onEpochEnd: (e) => console.error(`epoch ${e.epoch}: ${e.accuracy}`) });
 */
export async function train(model: Model, data: Dataset, o: TrainOptions = {}): Promise<History> {
  const { epochs = 1, batchSize = 32, seed = 1, lossFn = sparseCrossEntropy } = o;
  checkDataset(data, 'training data');
  let trainSet = data;
  let valSet: Dataset | undefined;
  if (typeof o.validation === 'number') ({ train: trainSet, validation: valSet } = splitValidation(data, o.validation, seed));
  else if (o.validation) {
    checkDataset(o.validation, 'validation data');
    valSet = o.validation;
  }
  const optimizer = o.optimizer ?? adam({ lr: 1e-3 });
  const schedule = o.schedule ?? constant(optimizer.lr);
  const plan = logitsPlan(model);
  const { frozen, params } = trainables(model, o.freezeUpTo);
  if (!params.length) throw new Error(`train: model '${model.name}' has no trainable weights${o.freezeUpTo ? ` after freezing up to '${o.freezeUpTo}'` : ''}`);
  const history: History = { epochs: [], cachedFeatures: false, trainable: params.reduce((a, t) => a + t.size, 0) };
  if (o.freezeUpTo) history.frozenUpTo = o.freezeUpTo;

  // Keras semantics: frozen layers' weights do not change and their batch norms run on moving statistics.
  const saved = model.layers.map((l) => l.trainable);
  for (const l of model.layers) if (frozen.has(l.name)) l.trainable = false;
  try {
    let forward = fullForward(model, plan);
    let trainX = trainSet;
    let valX = valSet;
    let features = false;
    if (o.freezeUpTo && o.cacheFeatures !== false) {
      if (augments(o.augment)) history.cacheNote = 'augmentation changes the inputs every epoch';
      else if (!model.canRunFrom(o.freezeUpTo, [plan.layer])) history.cacheNote = `a path to the output bypasses '${o.freezeUpTo}'`;
      else if (model.isInput(o.freezeUpTo)) history.cacheNote = 'nothing before the input to cache';
      else {
        trainX = await featureCache(model, trainSet, o.freezeUpTo, batchSize);
        if (valSet) valX = await featureCache(model, valSet, o.freezeUpTo, batchSize);
        forward = headForward(model, o.freezeUpTo, plan);
        features = true;
        history.cachedFeatures = true;
      }
    }
    if (o.resume?.optimizerState) optimizer.importState(params, o.resume.optimizerState);
    const n = count(trainX);
    const start = o.resume?.epochsDone ?? 0;
    for (let epoch = start; epoch < epochs; epoch++) {
      const random = epochRng(seed, epoch, 0x5eed);
      const augRandom = epochRng(seed + 0x9e37, epoch, 0);
      const t0 = performance.now();
      let stopped = false;
      const batches = batchIndices(n, batchSize, { seed, epoch });
      let lossSum = 0, correct = 0, lr = 0;
      for (const [step, idx] of batches.entries()) {
        lr = schedule({ epoch, step, stepsPerEpoch: batches.length, epochs });
        const { x, y, labels } = features ? featureBatch(trainX, idx) : batchTensors(trainX, idx);
        const xin = !features && augments(o.augment) ? augmentBatch(x, o.augment, augRandom) : x;
        let logits: Tensor | null = null;
        const r = valueAndGrad(() => {
          const lg = forward(xin, true, random);
          logits = keep(lg);
          return lossFn(lg, y);
        }, params);
        optimizer.step(params, r.grads, lr);
        const [lv, lg] = await Promise.all([r.value.data(), logits!.data()]);
        const pred = argmaxRows(lg, lg.length / idx.length);
        pred.forEach((p, k) => (correct += p === labels[k] ? 1 : 0));
        lossSum += lv[0]! * idx.length;
        for (const t of [x, y, r.value, logits!, ...r.grads, ...r.watched.map((w) => w.grad)]) t.dispose();
        if (xin !== x) xin.dispose();
        await o.onStep?.({ epoch: epoch + 1, step, steps: batches.length, loss: lv[0]!, lr });
        if (o.shouldStop?.()) {
          stopped = true;
          break;
        }
      }
      model.invalidateFolds();
      if (stopped) {
        history.interrupted = true;
        break;
      }
      const rec: EpochRecord = { epoch: epoch + 1, loss: lossSum / Math.max(1, n), accuracy: correct / Math.max(1, n), lr, ms: 0 };
      if (valX) {
        const v = await evaluateWith(forward, valX, batchSize, lossFn, features);
        rec.valLoss = v.loss;
        rec.valAccuracy = v.accuracy;
      }
      rec.ms = performance.now() - t0;
      history.epochs.push(rec);
      if (o.checkpoint?.everyEpoch && epoch < epochs - 1) await saveCheckpoint(model, o.checkpoint.dir);
      await o.onEpochEnd?.({ ...rec, model, history, optimizerState: () => optimizer.exportState(params) });
      if (o.shouldStop?.() && epoch < epochs - 1) {
        history.interrupted = true;
        break;
      }
    }
  } finally {
    model.layers.forEach((l, i) => (l.trainable = saved[i]!));
    model.invalidateFolds();
  }
  if (o.checkpoint && !history.interrupted) await saveCheckpoint(model, o.checkpoint.dir);
  return history;
}

/**
 * Saves the model into `dir/checkpoint/` in the TensorFlow.js layers format.
 * @example
 *   await saveCheckpoint(model, 'runs/fashion'); // runs/fashion/checkpoint/model.json
 */
export async function saveCheckpoint(model: Model, dir: string | FileSource): Promise<void> {
  const sink = subFolder(await resolveFolder(dir), 'checkpoint');
  await saveLayersModel(model, sink);
}
