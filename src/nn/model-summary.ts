// model.summary(): the table Keras prints (layer and type, output shape, parameter count, and
// for functional models the tensors each layer reads), with the totals, from shapes alone.
import type { Model, WeightEntry } from './model.ts';

const fmt = (n: number) => n.toLocaleString('en-US');
const shape = (s: (number | null)[]) => `(${s.map((d) => (d === null ? 'None' : String(d))).join(', ')})`;

/** Trainable and non-trainable parameter counts of a weight list. */
export function countParameters(list: WeightEntry[]): { trainable: number; nonTrainable: number } {
  let trainable = 0, nonTrainable = 0;
  for (const w of list) {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (w.trainable) trainable += n;
    else nonTrainable += n;
  }
  return { trainable, nonTrainable };
}

/**
 * The Keras-style summary of a model as text.
 * @example
 *   console.log(summarize(model));
 */
export function summarize(model: Model): string {
  const functional = model.kind === 'functional';
  const cols = functional ? [30, 26, 12, 32] : [34, 28, 12];
  const heads = functional ? ['Layer (type)', 'Output Shape', 'Param #', 'Connected to'] : ['Layer (type)', 'Output Shape', 'Param #'];
  const width = cols.reduce((a, b) => a + b, 0);
  const row = (cells: string[]) => cells.map((c, i) => (i < cells.length - 1 ? c.padEnd(cols[i]! - 1) + ' ' : c)).join('').trimEnd();
  const lines = [`Model: "${model.name}"`, '_'.repeat(width), row(heads), '='.repeat(width)];
  const perLayer = new Map<string, number>();
  for (const w of model.weightList()) perLayer.set(w.layer.name, (perLayer.get(w.layer.name) ?? 0) + w.shape.reduce((a, b) => a * b, 1));
  const layers = new Set(model.layers);
  const rows: string[] = [];
  for (const n of model.nodes) {
    if (!layers.has(n.layer) || n.index > 0) continue;
    if (!functional && n.layer.className === 'InputLayer') continue;
    const first = `${n.layer.name} (${n.layer.className})`;
    const sources = n.inputs.map((k) => {
      const parts = k.split(':');
      const t = parts.pop(), node = parts.pop();
      return `${parts.join(':')}[${node}][${t}]`;
    });
    rows.push(row([first, shape(n.outputShape), fmt(perLayer.get(n.layer.name) ?? 0), ...(functional ? [sources[0] ?? ''] : [])]));
    if (functional) for (const s of sources.slice(1)) rows.push(row(['', '', '', s]));
  }
  lines.push(...rows);
  const { trainable, nonTrainable } = model.parameterCount();
  lines.push('='.repeat(width), `Total params: ${fmt(trainable + nonTrainable)}`, `Trainable params: ${fmt(trainable)}`,
    `Non-trainable params: ${fmt(nonTrainable)}`, '_'.repeat(width));
  return lines.join('\n');
}
