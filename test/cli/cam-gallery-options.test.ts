// The option helpers of the gallery: --methods/--metrics parsing (errors name the option), and the
// perturbation box per preset against each preset's formula on the host (ε = 8/255 of the range).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { parseMethods, parseMetrics } from '../../src/cli/cam-gallery.ts';
import { inputBox } from '../../src/cli/cam-metrics.ts';

const s = suite('cli/cam-gallery-options');
const close = (a: readonly number[], b: number[], what: string) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]!) < 1e-5, `${what}[${i}]: ${v} vs ${b[i]}`));

s('inputBox: ε and range per preset (unit, tf, caffe BGR minus means, torch per-channel std, none)', () => {
  let b = inputBox('unit', 1, 8);
  close(b.eps, [8 / 255], 'unit eps'); close(b.lo, [0], 'unit lo'); close(b.hi, [1], 'unit hi');
  b = inputBox('tf', 3, 8);
  close(b.eps, [16 / 255, 16 / 255, 16 / 255], 'tf eps'); close(b.lo, [-1, -1, -1], 'tf lo'); close(b.hi, [1, 1, 1], 'tf hi');
  b = inputBox('caffe', 3, 8);
  close(b.eps, [8, 8, 8], 'caffe eps'); close(b.lo, [-103.939, -116.779, -123.68], 'caffe lo');
  b = inputBox('torch', 3, 8);
  close(b.eps, [8 / 255 / 0.229, 8 / 255 / 0.224, 8 / 255 / 0.225], 'torch eps');
  b = inputBox('none', 3, 8);
  close(b.eps, [8, 8, 8], 'none eps'); close(b.hi, [255, 255, 255], 'none hi');
});

s('--methods and --metrics parsing', () => {
  assert.equal(parseMethods(undefined, undefined), ['gradcam']);
  assert.equal(parseMethods(undefined, 'scorecam'), ['scorecam']);
  assert.equal(parseMethods('gradcam, layercam', undefined), ['gradcam', 'layercam']);
  assert.throws(() => parseMethods('gradcam,nope', undefined), /--methods gradcam,nope: 'nope' is not a method/);
  assert.throws(() => parseMethods('gradcam,gradcam', undefined), /named twice/);
  assert.throws(() => parseMethods('gradcam', 'gradcam'), /--method and --methods/);
  assert.is(parseMetrics(false, undefined), null);
  assert.is(parseMetrics(true, undefined)!.copies, 8);
  assert.is(parseMetrics(true, '3')!.copies, 3);
  assert.throws(() => parseMetrics(false, '3'), /--perturbations needs --metrics/);
  assert.throws(() => parseMetrics(true, '0'), /--perturbations 0/);
});

s.run();
