// The kernel-program API (src/kernels/program.ts): uniformDecl's host packing read back byte by
// byte with a DataView (the layout WGSL reads: 4-byte scalars in declaration order, padded to
// 16 bytes), its errors, specKey's stability, and defineProgram's key. The controls dispatch
// through the pipeline cache: two programs whose text differs only in a spec value compile two
// pipelines and compute different results, while a hand-written key that misses the value reuses
// the first pipeline (the stale-pipeline bug the derived key removes). A source scan keeps
// kernels from going back to positional uniforms or hand-written keys.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShapeError } from '../../src/gpu/errors.ts';
import type { ProgramSource } from '../../src/gpu/pipelines.ts';
import {
  defineProgram, indexedFields, indexedValues, launch, specKey, storageDecls, uniformDecl, type SpecValue,
} from '../../src/kernels/program.ts';
import { upload } from '../../src/tensor/tensor.ts';
import { gpu } from '../helpers.ts';

const s = suite('kernels/program');

s('pack writes i32, u32 and f32 fields little-endian in declaration order', () => {
  const U = uniformDecl({ a: 'i32', b: 'u32', c: 'f32', d: 'i32', e: 'u32', f: 'f32' }, 'probe');
  const buf = U.pack({ a: -7, b: 4000000000, c: 0.1, d: -2147483648, e: 0, f: -3.5 });
  const dv = new DataView(buf);
  assert.is(dv.getInt32(0, true), -7);
  assert.is(dv.getUint32(4, true), 4000000000);
  assert.is(dv.getFloat32(8, true), Math.fround(0.1));
  assert.is(dv.getInt32(12, true), -2147483648);
  assert.is(dv.getUint32(16, true), 0);
  assert.is(dv.getFloat32(20, true), -3.5);
  // Order follows the declaration, not the order of the values object.
  const V = uniformDecl({ y: 'u32', x: 'u32' }, 'probe');
  const dv2 = new DataView(V.pack({ x: 1, y: 2 }));
  assert.equal([dv2.getUint32(0, true), dv2.getUint32(4, true)], [2, 1]);
});

s('the buffer is padded to 16 bytes (WGSL uniform structs), at least one 16-byte row', () => {
  for (const [n, bytes] of [[1, 16], [3, 16], [4, 16], [5, 32], [8, 32], [9, 48], [13, 64], [25, 112]] as const) {
    const U = uniformDecl(indexedFields('v', n), 'probe');
    const buf = U.pack(indexedValues('v', Array.from({ length: n }, (_, i) => i + 1)));
    assert.is(buf.byteLength, bytes, `${n} fields`);
    const dv = new DataView(buf);
    for (let i = 0; i < n; i++) assert.is(dv.getUint32(4 * i, true), i + 1, `field ${i} of ${n}`);
    for (let o = 4 * n; o < bytes; o += 4) assert.is(dv.getUint32(o, true), 0, `padding at byte ${o}`);
  }
});

s('wgsl declares struct U with the fields in order and binds it as u at group 0, binding 0', () => {
  const U = uniformDecl({ total: 'u32', off: 'i32', scale: 'f32' }, 'probe');
  assert.is(U.wgsl, 'struct U {\n  total: u32,\n  off: i32,\n  scale: f32,\n}\n@group(0) @binding(0) var<uniform> u: U;\n');
  assert.equal(Object.keys(U.fields), ['total', 'off', 'scale']);
});

s('a missing or non-finite value throws a ShapeError naming the kernel and the field', () => {
  const U = uniformDecl({ n: 'u32', scale: 'f32' }, 'myKernel');
  const cases: [Record<string, number>, RegExp][] = [
    [{ n: 1 }, /myKernel: uniform 'scale' is undefined/],
    [{ scale: 1 }, /myKernel: uniform 'n' is undefined/],
    [{ n: 1, scale: NaN }, /myKernel: uniform 'scale' is NaN/],
    [{ n: 1, scale: Infinity }, /myKernel: uniform 'scale' is Infinity/],
    [{ n: NaN, scale: 1 }, /myKernel: uniform 'n' is NaN/],
  ];
  for (const [values, re] of cases) {
    try {
      U.pack(values as { n: number; scale: number });
      assert.unreachable(`packed ${JSON.stringify(values)}`);
    } catch (e) {
      assert.instance(e, ShapeError);
      assert.match((e as Error).message, re);
    }
  }
  // Control: the same declaration packs finite values.
  assert.is(U.pack({ n: 1, scale: 2 }).byteLength, 16);
});

s('nonFinite f32 fields carry ±Infinity and NaN, but must still be present and must be f32', () => {
  const U = uniformDecl({ n: 'u32', value: 'f32' }, 'padLike', { nonFinite: ['value'] });
  for (const v of [-Infinity, Infinity, NaN, 1.5]) {
    const got = new DataView(U.pack({ n: 1, value: v })).getFloat32(4, true);
    assert.ok(Object.is(got, Math.fround(v)), `value ${v} read back as ${got}`);
  }
  assert.throws(() => U.pack({ n: 1 } as { n: number; value: number }), /padLike: uniform 'value' is undefined/);
  assert.throws(() => U.pack({ n: NaN, value: 0 }), /padLike: uniform 'n' is NaN/);
  assert.throws(() => uniformDecl({ n: 'u32' }, 'bad', { nonFinite: ['n'] }), /'n' is listed as nonFinite but is not an f32 field/);
});

s('specKey ignores key order (also nested) and changes with any value, nested arrays included', () => {
  const a = { tile: { kind: 'gemm', wgx: 32, p: 5, kb: 8 }, act: 'relu', bias: true, dims: [1, [2, 3]] };
  const b = { dims: [1, [2, 3]], bias: true, act: 'relu', tile: { kb: 8, p: 5, wgx: 32, kind: 'gemm' } };
  assert.is(specKey(a), specKey(b));
  const variants: SpecValue[] = [
    { ...a, tile: { ...a.tile, p: 4 } },
    { ...a, tile: { ...a.tile, kind: 'row' } },
    { ...a, act: 'linear' },
    { ...a, bias: false },
    { ...a, dims: [1, [2, 4]] },
    { ...a, dims: [1, [3, 2]] },
    { ...a, dims: [1, [2, 3], 4] },
    { ...a, dims: [[1], [2, 3]] },
    { ...a, extra: 0 },
    { ...a, tile: { ...a.tile, extra: null } },
  ];
  const keys = variants.map(specKey);
  for (const [i, k] of keys.entries()) assert.is.not(k, specKey(a), `variant ${i}: ${k}`);
  assert.is(new Set(keys).size, keys.length, 'variants differ from each other too');
  // Types are kept apart: 1 vs '1', true vs 'true', null vs 'null'.
  assert.is.not(specKey({ v: 1 }), specKey({ v: '1' }));
  assert.is.not(specKey({ v: true }), specKey({ v: 'true' }));
  assert.is.not(specKey({ v: null }), specKey({ v: 'null' }));
  // An undefined field reads as absent: the generator sees undefined either way.
  assert.is(specKey({ v: 1, w: undefined }), specKey({ v: 1 }));
});

s('defineProgram: key from the spec (every field), name and arity from the generator, code lazy, spec frozen', () => {
  const base = { vec: true, act: 'relu', tile: { wgx: 64, p: 4 }, kind: 'max', n: 3 };
  let made = 0, written = 0;
  let seen: unknown = null;
  const make = (spec: typeof base) => {
    made++;
    seen = spec;
    return { inputs: spec.vec ? 2 : 1, outputs: 1, code: () => { written++; return `// ${specKey(spec)}`; } };
  };
  const p = defineProgram('probe', base, make);
  assert.is(p.name, 'probe');
  assert.is(p.key, specKey(base));
  assert.is(p.inputs, 2);
  assert.is(made, 1);
  assert.is(written, 0, 'the WGSL is not written until the cache misses');
  assert.ok(Object.isFrozen(seen), 'the generator gets a frozen spec');
  assert.throws(() => { (seen as { n: number }).n = 4; });
  const changed: (typeof base)[] = [
    { ...base, vec: false }, { ...base, act: 'tanh' }, { ...base, tile: { wgx: 64, p: 5 } },
    { ...base, tile: { wgx: 32, p: 4 } }, { ...base, kind: 'avg' }, { ...base, n: 4 },
  ];
  for (const c of changed) assert.is.not(defineProgram('probe', c, make).key, p.key, JSON.stringify(c));
  assert.is(defineProgram('probe', { ...base }, make).key, p.key, 'an equal spec gives the same key');
});

// y = x·u.scale + OFFSET, with OFFSET baked into the text from the spec.
const ProbeU = uniformDecl({ n: 'u32', scale: 'f32' }, 'probe');
const probeCode = (offset: number) => `${ProbeU.wgsl}${storageDecls([['X', 'f32']], [['Y', 'f32']])}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) g: vec3<u32>) {
  if (g.x >= u.n) { return; }
  Y[g.x] = X[g.x] * u.scale + ${offset.toFixed(1)};
}`;

s('control: specs differing only in one baked value compile two pipelines; a hand-written key that misses it runs stale code', async () => {
  const rt = await gpu();
  const x = upload(new Float32Array([1, 2, 3, 4]), [4]);
  const run = async (program: ProgramSource) => {
    const y = launch({ program, inputs: [x], outShape: [4], uniforms: ProbeU.pack({ n: 4, scale: 2 }), workgroups: [1] });
    try {
      return Array.from(await y.data());
    } finally {
      y.dispose();
    }
  };
  const derived = (offset: number) =>
    defineProgram('test.program-probe', { offset }, ({ offset }) => ({ inputs: 1, outputs: 1, code: () => probeCode(offset) }));
  try {
    const before = rt.pipelines.compiled;
    assert.equal(await run(derived(10)), [12, 14, 16, 18]);
    assert.equal(await run(derived(20)), [22, 24, 26, 28]);
    assert.is(rt.pipelines.compiled - before, 2, 'two specs, two pipelines');
    assert.equal(await run(derived(10)), [12, 14, 16, 18]);
    assert.is(rt.pipelines.compiled - before, 2, 'an equal spec reuses its pipeline');
    // The bug the derived key prevents: the same text change under a key that omits the offset.
    const handWritten = (offset: number): ProgramSource =>
      ({ name: 'test.program-stale', key: 'v1', inputs: 1, outputs: 1, code: () => probeCode(offset) });
    assert.equal(await run(handWritten(10)), [12, 14, 16, 18]);
    assert.equal(await run(handWritten(20)), [12, 14, 16, 18], 'the stale pipeline (offset 10) ran');
  } finally {
    x.dispose();
  }
});

// A property `key:` holding a value (a type member `key: string;` is fine).
const OLD_STYLE = /new Uniforms\b|\buniformStruct\(|^\s*key:(?!\s*string;)|isCpuAdapter/;

s('every kernel declares uniforms by name and derives its key (no Uniforms, uniformStruct or key: in src/kernels)', () => {
  const dir = join(import.meta.dirname, '../../src/kernels');
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && f !== 'program.ts');
  assert.ok(files.length >= 20, `found ${files.length} kernel files`);
  const bad: string[] = [];
  for (const f of files) {
    const text = readFileSync(join(dir, f), 'utf8');
    text.split('\n').forEach((line, i) => {
      if (OLD_STYLE.test(line)) bad.push(`${f}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.equal(bad, [], `positional uniforms or hand-written keys:\n${bad.join('\n')}`);
  // Control: the pattern catches each old form.
  const old = [
    '  const u = new Uniforms().u32(n, gx);', "${uniformStruct([['n', 'u32']])}", "    key: 'v1',", '    key: rule,',
    '    key: `${tileKey(tile)}|${act}`,', 'chooseConvTile(g, isCpuAdapter(rt))',
  ];
  for (const line of old) assert.ok(OLD_STYLE.test(line), line);
  assert.not.ok(OLD_STYLE.test('  key: string;'), 'a type member is not a key');
});

s.run();
