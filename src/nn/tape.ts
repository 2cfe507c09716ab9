// Reverse mode as a tape. While valueAndGrad() runs its function, every differentiable op
// whose inputs depend on a watched tensor notes its gradient rule; the backward pass then walks
// the notes in reverse. Nothing is recorded, and nothing extra is kept alive, for ops whose
// inputs depend on no watched tensor, or when no tape is open at all.
import { ShapeError } from '../gpu/errors.ts';
import { add } from '../kernels/elementwise.ts';
import { fill, keep, scope, Tensor } from '../tensor/tensor.ts';

/** Computes the input gradients of one recorded op from the gradient of its output. */
export type Backward = (dy: Tensor) => (Tensor | null)[];

/**
 * A gradient rule: from the output gradient, the retained tensors (in `save` order; `undefined`
 * where `save` left one out) and which inputs need a gradient, to one gradient per input (`null`
 * where none is needed). `needs[i]` is false for an input that no watched tensor flows into
 * (a layer's weights during a CAM pass, the input image during training): the rule must then
 * skip that gradient's kernels entirely, as tfjs's per-input gradient thunks do.
 */
export type Rule = (dy: Tensor, saved: (Tensor | undefined)[], needs: readonly boolean[]) => (Tensor | null)[];

/**
 * What an op retains for its backward: a fixed list, or a function of the inputs that need a
 * gradient (a convolution keeps x only for dW, w only for dX), so that a CAM pass holds no
 * activation that only a weight gradient would read.
 */
export type SaveSpec = readonly Tensor[] | ((needs: readonly boolean[]) => readonly (Tensor | undefined)[]);

interface Entry {
  op: string;
  inputs: Tensor[];
  output: Tensor;
  backward: Backward;
  /** Views the rule reads in backward (inputs or output), kept alive until the tape closes. */
  saved: (Tensor | undefined)[];
}

class Tape {
  entries: Entry[] = [];
  /** Tensors whose gradient is wanted, or that depend on one that is. */
  tracked = new Set<Tensor>();
}

const tapes: Tape[] = [];

/** True while a tape is open (inside valueAndGrad and friends). */
export function isRecording(): boolean {
  return tapes.length > 0;
}

/** True if the open tape needs gradients flowing through `t`. */
export function isTracked(t: Tensor): boolean {
  return tapes[tapes.length - 1]?.tracked.has(t) ?? false;
}

/**
 * Inside a valueAndGrad function: asks for gradients flowing through an intermediate tensor
 * from here on (the CAM's layer activations). Returns the tensor for chaining.
 * @example
 *   valueAndGrad(() => { const a = watch(features(x)); return score(head(a)); }, [])
 */
export function watch(t: Tensor): Tensor {
  const tape = tapes[tapes.length - 1];
  if (!tape) throw new Error('watch() is only meaningful inside valueAndGrad()/grads()');
  tape.tracked.add(t);
  return t;
}

/**
 * Called by every differentiable op after its forward. Records the op only when a tape is open
 * and one of its inputs is tracked. `save` lists the tensors the rule will read in backward
 * (or chooses them from which inputs need a gradient); the tape holds views of them so that the
 * caller may dispose its own handles. The rule receives retained views in the same order as
 * `save`, and `needs`: which inputs are tracked, i.e. which gradients are wanted.
 */
export function record(op: string, inputs: Tensor[], output: Tensor, save: SaveSpec, rule: Rule): void {
  const tape = tapes[tapes.length - 1];
  if (!tape) return;
  // Tracking only grows forwards, so what is tracked now is what the backward will want.
  const needs = inputs.map((t) => tape.tracked.has(t));
  if (!needs.some(Boolean)) return;
  const list = typeof save === 'function' ? save(needs) : save;
  // Views share storage (reference counted) and are taken out of any scope.
  const saved = list.map((t) => (t ? keep(t.reshape(t.shape)) : undefined));
  tape.tracked.add(output);
  tape.entries.push({ op, inputs, output, saved, backward: (dy) => rule(dy, saved, needs) });
}

export interface ValueAndGrad {
  /** The function's (scalar or upstream-weighted) output. */
  value: Tensor;
  /** d value / d wrt[i], in the order of wrt; zeros where value does not depend on it. */
  grads: Tensor[];
  /** Gradients of tensors passed to watch() inside the function, in watch order. */
  watched: { tensor: Tensor; grad: Tensor }[];
}

/**
 * Runs f with a tape open and back-propagates from its output. With no `dy`, f must return a
 * single-element tensor (a loss or a class score) and its gradient is 1; otherwise `dy` (same
 * shape as the output) is the upstream gradient. Intermediates of f are freed on return, except
 * the output and the gradients, which the caller disposes.
 * @example
 *   const { value, grads: [dw] } = valueAndGrad(() => sumAll(conv2d(x, w)), [w]);
 */
export function valueAndGrad(f: () => Tensor, wrt: Tensor[], dy?: Tensor): ValueAndGrad {
  const tape = new Tape();
  const watchedOrder: Tensor[] = [];
  for (const t of wrt) tape.tracked.add(t);
  tapes.push(tape);
  let value: Tensor;
  try {
    value = scope(() => f());
  } catch (e) {
    tapes.pop();
    for (const e2 of tape.entries) for (const s of e2.saved) s?.dispose();
    throw e;
  }
  tapes.pop();
  // Tensors f watched (beyond wrt), in the order first recorded.
  const wrtSet = new Set(wrt);
  for (const t of tape.tracked) if (!wrtSet.has(t) && !tape.entries.some((en) => en.output === t)) watchedOrder.push(t);

  const keepGrad = new Set<Tensor>([...wrt, ...watchedOrder]);
  const grads = new Map<Tensor, Tensor>();
  try {
    if (dy) {
      if (dy.size !== value.size) {
        throw new ShapeError(`valueAndGrad: dy [${dy.shape.join(', ')}] does not match the output [${value.shape.join(', ')}]`);
      }
      grads.set(value, keep(dy.reshape(value.shape)));
    } else {
      if (value.size !== 1) {
        throw new ShapeError(`valueAndGrad: f returned [${value.shape.join(', ')}]; return a single value or pass dy`);
      }
      grads.set(value, keep(fill(value.shape, 1)));
    }
    for (let i = tape.entries.length - 1; i >= 0; i--) {
      const e = tape.entries[i]!;
      const g = grads.get(e.output);
      if (g) {
        const dIns = scope(() => e.backward(g));
        if (dIns.length !== e.inputs.length) throw new Error(`gradient rule of '${e.op}' returned ${dIns.length} gradients for ${e.inputs.length} inputs`);
        if (!keepGrad.has(e.output)) {
          grads.delete(e.output);
          g.dispose();
        }
        e.inputs.forEach((input, k) => {
          const d = dIns[k];
          if (!d) return;
          if (!tape.tracked.has(input)) {
            d.dispose();
            return;
          }
          keep(d);
          const prev = grads.get(input);
          if (prev) {
            // A tensor feeding several ops (Inception's branches) sums their gradients.
            grads.set(input, keep(add(prev, d)));
            prev.dispose();
            d.dispose();
          } else grads.set(input, d);
        });
      }
      for (const s of e.saved) s?.dispose();
      e.saved = [];
    }
  } catch (err) {
    for (const e of tape.entries) for (const s of e.saved) s?.dispose();
    for (const g of grads.values()) g.dispose();
    throw err;
  }
  const take = (t: Tensor): Tensor => {
    const g = grads.get(t);
    if (g) {
      grads.delete(t);
      return g;
    }
    return keep(fill(t.shape, 0));
  };
  // A tensor listed twice in wrt gets its gradient twice, as separately disposable views.
  const firsts = new Map<Tensor, Tensor>();
  const out = wrt.map((t) => {
    const seen = firsts.get(t);
    if (seen) return keep(seen.reshape(seen.shape));
    const g = take(t);
    firsts.set(t, g);
    return g;
  });
  const watched = watchedOrder.map((t) => ({ tensor: t, grad: take(t) }));
  // Left-over gradients (of the output itself, if it was never consumed) are freed.
  for (const [t, g] of grads) if (!keepGrad.has(t)) g.dispose();
  return { value, grads: out, watched };
}

/**
 * Gradients of f's single-value output with respect to `wrt`; the output is disposed.
 * @example
 *   const [dx, dw] = grads(() => loss(model(x, w)), [x, w]);
 */
export function grads(f: () => Tensor, wrt: Tensor[]): Tensor[] {
  const r = valueAndGrad(f, wrt);
  r.value.dispose();
  for (const w of r.watched) w.grad.dispose();
  return r.grads;
}

/** Tensors recorded by the open tape (for tests asserting that nothing was recorded). */
export function recordedOps(): string[] {
  return tapes[tapes.length - 1]?.entries.map((e) => e.op) ?? [];
}
