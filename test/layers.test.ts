// The import-direction check (scripts/check-layers.mjs) on the real tree, plus its control: the
// same rules flag an upward import, a file in no layer and an import between folders kept apart
// (report and train), so a green result means something.
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

s('control: report and train stay apart in both directions; within one folder, and from the CLI, imports pass', () => {
  const edge = (from: string, to: string) => ({ from, to, spec: `./${to}` });
  const whys = (from: string, to: string) => (violations([edge(from, to)]) as { why: string }[]).map((v) => v.why);
  assert.match(whys('report/html.ts', 'train/triage.ts').join(), /report and train stay apart/);
  assert.match(whys('train/recorder.ts', 'report/animation.ts').join(), /train and report stay apart/);
  assert.match(whys('train/trainer.ts', 'cli/train.ts').join(), /above it/);
  assert.equal(whys('report/html.ts', 'report/views.ts'), []);
  assert.equal(whys('report/views.ts', 'cam/overlay.ts'), []);
  assert.equal(whys('cli/train.ts', 'report/html.ts'), []);
  assert.equal(whys('cli/train.ts', 'train/triage.ts'), []);
});

s.run();
