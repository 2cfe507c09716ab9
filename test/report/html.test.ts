// report.html: one self-contained page with every animation as a data: URI, the triage table,
// the curves as inline SVG, and the configuration; text is escaped.
import { suite } from 'uvu';
import { escapeXml } from '../../src/report/chart.ts';
import * as assert from 'uvu/assert';
import UPNG from 'upng-js';
import { renderReport, toBase64 } from '../../src/report/html.ts';
import { svgLineChart } from '../../src/report/chart.ts';
import { encodeApng } from '../../src/report/animation.ts';
import { triageRecords } from '../../src/train/triage.ts';
import { canvas } from '../../src/report/raster.ts';

const s = suite('report/html');

const count = (hay: string, needle: RegExp) => (hay.match(needle) ?? []).length;

s('toBase64 matches Node\'s Buffer, also past one chunk', () => {
  const b = Uint8Array.from({ length: 70000 }, (_, i) => (i * 31) & 255);
  assert.is(toBase64(b), Buffer.from(b).toString('base64'));
  assert.is(toBase64(new Uint8Array([104, 105])), 'aGk=');
});

s('svgLineChart: one path per series, a point per finite value, a gap at a missing one', () => {
  const svg = svgLineChart([{ name: 'train', values: [2, 1, 0.5], color: '#123' }, { name: 'val', values: [2.2, null, 0.7], color: '#456' }], { title: 'loss <x>' });
  assert.is(count(svg, /<svg/g), 1);
  assert.is(count(svg, /<path/g), 2);
  assert.is(count(svg, /<circle/g), 5);
  assert.ok(svg.includes('loss &lt;x&gt;'));
  const valPath = svg.match(/<path d="([^"]*)"[^>]*stroke="#456"/)![1]!;
  assert.is(count(valPath, /M/g), 2, 'the missing epoch splits the line');
  // Higher values are drawn higher (smaller y).
  const ys = [...svg.matchAll(/<circle cx="[^"]*" cy="([^"]*)"[^>]*fill="#123"/g)].map((m) => Number(m[1]));
  assert.ok(ys[0]! < ys[1]! && ys[1]! < ys[2]!, ys.join(','));
});

s('renderReport: every animation inlined (decodable), the triage table, curves, config, escaped text', () => {
  const frames = [0, 1, 2].map((k) => canvas(10, 12, [k * 80, 20, 200]));
  const png = encodeApng(frames, [100, 100, 100]);
  const map = { height: 2, width: 2, values: new Float32Array([1, 0.5, 0.2, 0]) };
  const t = triageRecords([0, 1].map(() => ({ top3: [{ index: 0, label: 'a', prob: 0.9 }], trueProb: 0.9, trueRank: 1, map })), 0, { mask: Uint8Array.of(1, 0, 0, 0), height: 2, width: 2 });
  const html = renderReport({
    title: 'run <1>',
    config: { model: 'fashion-cnn', epochs: 5, shortcut: { class: 3, p: 0.8 } },
    curves: [1, 2, 3].map((epoch) => ({ epoch, loss: 1 / epoch, accuracy: 0.5 + epoch / 10, valLoss: 1.1 / epoch, valAccuracy: 0.45 + epoch / 10 })),
    animations: [{ name: 'img-0', png, trueLabel: 'Sneaker', triage: t }, { name: 'img-1', png, trueLabel: 'Bag & Co' }],
    comparisons: [{ name: 'cmp-0', png, caption: 'A vs B' }],
  });
  assert.is(count(html, /<html/g), 1);
  assert.is(count(html, /<\/html>/g), 1);
  assert.ok(html.startsWith('<!DOCTYPE html>'));
  const uris = [...html.matchAll(/src="data:image\/png;base64,([^"]+)"/g)].map((m) => m[1]!);
  assert.is(uris.length, 3);
  for (const u of uris) {
    const bytes = Uint8Array.from(Buffer.from(u, 'base64'));
    assert.is(UPNG.toRGBA8(UPNG.decode(bytes.buffer as ArrayBuffer)).length, 3);
  }
  assert.not.match(html, /(src|href)="(?!data:)/, 'no external assets');
  assert.not.match(html, /<script/);
  assert.is(count(html, /<svg/g), 2, 'loss and accuracy charts');
  assert.ok(html.includes('class="triage"'));
  assert.is(count(html, /<tr class="good">/g), 1);
  assert.ok(html.includes('STABLE_RHO = 0.5'));
  // Per image: the one-sentence reason and the focus against chance (energy 1/1.7 on a quarter of the map).
  assert.ok(html.includes(escapeXml(t.reason)), t.reason);
  assert.ok(html.includes('<td>0.59 / 0.25 (4.29)</td>'), 'energy on object / area (ratio)');
  assert.ok(html.includes('run &lt;1&gt;') && html.includes('Bag &amp; Co'));
  assert.ok(html.includes('<th>shortcut</th><td>{&quot;class&quot;:3,&quot;p&quot;:0.8}</td>'));
  assert.ok(html.includes('fashion-cnn'));
  assert.ok(html.includes('1 good · 0 bad · 0 ugly · 0 unknown'));
});

s.run();
