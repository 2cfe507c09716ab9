// Seeded mutations for the fuzz suite: byte-level edits (bit flips, boundary values, inserted,
// deleted, duplicated and truncated ranges), PNG edits with the chunk CRCs fixed up afterwards (so
// the mutation reaches the decoder behind the CRC check), and structural edits of JSON documents.

import { rng } from '../src/nn/model-init.ts';
import { crc32 } from '../src/io/png-check.ts';

// Mulberry32 (the project's one seeded generator): the same seed gives the same mutation on every machine.
export { rng };

const int = (r: () => number, n: number) => Math.floor(r() * n);
const BYTES = [0, 1, 0x7f, 0x80, 0xfe, 0xff];
const U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xffff, 0x10000, 100000];
const FLOATS = [NaN, Infinity, -Infinity, 3e38, -3e38, 1e-45];

/** One byte-level mutation; returns the new bytes and a short name of what was done. */
export function mutateBytes(src: Uint8Array, r: () => number, opts: { floats?: boolean } = {}): { bytes: Uint8Array; op: string } {
  const b = src.slice();
  const at = int(r, Math.max(1, b.length));
  const n = 1 + int(r, 16);
  switch (int(r, opts.floats ? 9 : 8)) {
    case 0: b[at] = b[at]! ^ (1 << int(r, 8)); return { bytes: b, op: 'flip' };
    case 1: b[at] = BYTES[int(r, BYTES.length)]!; return { bytes: b, op: 'byte' };
    case 2: {
      if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, U32[int(r, U32.length)]!, r() < 0.5);
      return { bytes: b, op: 'u32' };
    }
    case 3: {
      const ins = Uint8Array.from({ length: n }, () => int(r, 256));
      return { bytes: concat(b.subarray(0, at), ins, b.subarray(at)), op: 'insert' };
    }
    case 4: return { bytes: concat(b.subarray(0, at), b.subarray(Math.min(b.length, at + n))), op: 'delete' };
    case 5: return { bytes: b.subarray(0, at), op: 'truncate' };
    case 6: return { bytes: concat(b.subarray(0, at + n), b.subarray(at)), op: 'duplicate' };
    case 7: b.fill(0, at, at + n); return { bytes: b, op: 'zero' };
    default: {
      const f = at - (at % 4);
      if (f + 4 <= b.length) new DataView(b.buffer).setFloat32(f, FLOATS[int(r, FLOATS.length)]!, true);
      return { bytes: b, op: 'float' };
    }
  }
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}


/** Recomputes the CRC of every chunk whose length still fits the file (in place). */
export function fixPngCrcs(b: Uint8Array): Uint8Array {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let off = 8;
  while (off + 12 <= b.length) {
    const len = dv.getUint32(off);
    if (off + 12 + len > b.length) break;
    dv.setUint32(off + 8 + len, crc32(b, off + 4, off + 8 + len));
    off += 12 + len;
  }
  return b;
}

/**
 * A PNG mutation: half the time the CRCs are fixed up afterwards (a well-formed file with wrong
 * contents: the decoder's own checks must catch it), otherwise left (the CRC check must).
 */
export function mutatePng(src: Uint8Array, r: () => number): { bytes: Uint8Array; op: string; crcFixed: boolean } {
  const { bytes, op } = mutateBytes(src, r);
  if (r() < 0.5) return { bytes: fixPngCrcs(bytes), op: `${op}+crc`, crcFixed: true };
  return { bytes, op, crcFixed: false };
}

const JSON_VALUES: unknown[] = [-1, 0, 1, 2 ** 31, 1e308, -0.5, '', 'x', '../outside.bin', '/etc/passwd', 'https://evil.example/x', null, true, [], {}, [1, 2], { a: 1 }, 'NaN', [-3, 2]];

/** All paths (keys and indices) of a JSON value's nodes. */
function paths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
  return out;
}

/**
 * A JSON mutation: a node replaced by a value of another type, deleted or duplicated (70 %), or a
 * byte-level edit of the text (30 %).
 */
export function mutateJson(text: string, r: () => number): { text: string; op: string } {
  if (r() < 0.3) {
    const { bytes, op } = mutateBytes(new TextEncoder().encode(text), r);
    return { text: new TextDecoder().decode(bytes), op: `text-${op}` };
  }
  const doc = JSON.parse(text) as unknown;
  const all = paths(doc).filter((p) => p.length > 0);
  const p = all[int(r, all.length)]!;
  let parent = doc as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) parent = parent[k] as Record<string | number, unknown>;
  const key = p[p.length - 1]!;
  const k = int(r, 4);
  let op = 'replace';
  if (k === 0 && Array.isArray(parent)) {
    parent.splice(key as number, 1);
    op = 'remove';
  } else if (k === 0) {
    delete parent[key];
    op = 'delete';
  } else if (k === 1 && Array.isArray(parent)) {
    parent.splice(key as number, 0, structuredClone(parent[key as number]));
    op = 'duplicate';
  } else parent[key] = structuredClone(JSON_VALUES[int(r, JSON_VALUES.length)]);
  return { text: JSON.stringify(doc), op: `${op}@${p.slice(-2).join('.')}` };
}
