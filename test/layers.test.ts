// The import-direction check (scripts/check-layers.mjs) on the real tree, plus its control: the
// same rules flag an upward import and a file in no layer, so a green result means something.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
// @ts-expect-error plain .mjs script without types
import { importEdges, layerOf, LAYERS, violations } from '../scripts/check-layers.mjs';

const s = suite('layers');

s('every relative import in src/ points to its own layer or one below', () => {
  const bad = violations() as { why: string }[];
  assert.equal(bad.map((v) => v.why), []);
});

s('the check sees the imports (control: the graph has the expected downward edges)', () => {
  const edges = importEdges() as { from: string; to: string }[];
  const has = (a: string, b: string) => edges.some((e) => e.from.startsWith(a) && e.to.startsWith(b));
  assert.ok(edges.length > 300, `only ${edges.length} imports found`);
  assert.ok(has('kernels/', 'tensor/'), 'kernels import the tensor core');
  assert.ok(has('nn/', 'kernels/'), 'nn imports kernels');
  assert.ok(has('cli/', 'cam/'), 'the CLI imports cam');
});

s('control: an upward import and an unknown folder are flagged by the same rules', () => {
  assert.ok(layerOf('kernels/conv2d.ts') < layerOf('nn/ops.ts'));
  assert.ok(layerOf('tensor/tensor.ts') < layerOf('kernels/conv2d.ts'));
  assert.ok(layerOf('platform/hooks.ts') < layerOf('platform/node.ts'), 'the more specific entry wins');
  assert.is(layerOf('nowhere/x.ts'), -1);
  assert.ok(LAYERS.length >= 8);
});

s.run();
