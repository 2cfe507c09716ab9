// The IDX format of MNIST and Fashion-MNIST (LeCun et al.'s "THE IDX FILE FORMAT"): a 4-byte
// magic (0, 0, type code, rank), rank big-endian u32 dimensions, then the values big-endian.
// Gzip is undone with the web-standard DecompressionStream, so this runs in browsers too.
import type { FileSource } from '../io/files.ts';

export type IdxType = 'uint8' | 'int8' | 'int16' | 'int32' | 'float32' | 'float64';
const TYPES: Record<number, [IdxType, number]> = {
  0x08: ['uint8', 1], 0x09: ['int8', 1], 0x0b: ['int16', 2], 0x0c: ['int32', 4], 0x0d: ['float32', 4], 0x0e: ['float64', 8],
};

export interface IdxArray {
  type: IdxType;
  shape: number[];
  /** Row-major values (uint8 data stays a Uint8Array; the others become host-order typed arrays). */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** An IDX file that does not parse: says what and where. */
export class IdxFormatError extends Error {
  override name = 'IdxFormatError';
}

/**
 * Parses IDX bytes (not gzipped).
 * @example
 *   const { shape, data } = parseIdx(bytes); // shape [60000, 28, 28], data Uint8Array
 */
export function parseIdx(bytes: Uint8Array, name = 'IDX file'): IdxArray {
  if (bytes.length < 4 || bytes[0] !== 0 || bytes[1] !== 0) {
    throw new IdxFormatError(`${name}: not an IDX file (the first two bytes must be 0; got ${[...bytes.subarray(0, 4)].join(' ')}); if it is gzipped, use readIdx or gunzip first`);
  }
  const t = TYPES[bytes[2]!];
  if (!t) throw new IdxFormatError(`${name}: unknown IDX type code 0x${bytes[2]!.toString(16)}`);
  const [type, width] = t;
  const rank = bytes[3]!;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = 4 + 4 * rank;
  if (bytes.length < header) throw new IdxFormatError(`${name}: truncated header (${bytes.length} bytes for rank ${rank})`);
  const shape = Array.from({ length: rank }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const n = shape.reduce((a, b) => a * b, 1);
  if (bytes.length < header + n * width) {
    throw new IdxFormatError(`${name}: shape [${shape.join(', ')}] needs ${header + n * width} bytes, the file has ${bytes.length}`);
  }
  let data: IdxArray['data'];
  switch (type) {
    case 'uint8': data = bytes.slice(header, header + n); break;
    case 'int8': data = new Int8Array(bytes.slice(header, header + n).buffer); break;
    case 'int16': data = Int16Array.from({ length: n }, (_, i) => dv.getInt16(header + 2 * i, false)); break;
    case 'int32': data = Int32Array.from({ length: n }, (_, i) => dv.getInt32(header + 4 * i, false)); break;
    case 'float32': data = Float32Array.from({ length: n }, (_, i) => dv.getFloat32(header + 4 * i, false)); break;
    case 'float64': data = Float64Array.from({ length: n }, (_, i) => dv.getFloat64(header + 8 * i, false)); break;
  }
  return { type, shape, data };
}

/**
 * Writes an IDX file (tests and small fixtures).
 * @example
 *   const bytes = encodeIdx({ type: 'uint8', shape: [2, 3], data: new Uint8Array(6) });
 */
export function encodeIdx(a: IdxArray): Uint8Array {
  const code = Number(Object.entries(TYPES).find(([, [t]]) => t === a.type)![0]);
  const width = TYPES[code]![1];
  const n = a.shape.reduce((x, y) => x * y, 1);
  const header = 4 + 4 * a.shape.length;
  const out = new Uint8Array(header + n * width);
  const dv = new DataView(out.buffer);
  out[2] = code;
  out[3] = a.shape.length;
  a.shape.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  for (let i = 0; i < n; i++) {
    const v = Number(a.data[i]);
    const o = header + i * width;
    if (a.type === 'uint8') dv.setUint8(o, v);
    else if (a.type === 'int8') dv.setInt8(o, v);
    else if (a.type === 'int16') dv.setInt16(o, v, false);
    else if (a.type === 'int32') dv.setInt32(o, v, false);
    else if (a.type === 'float32') dv.setFloat32(o, v, false);
    else dv.setFloat64(o, v, false);
  }
  return out;
}

/** True for gzip's magic bytes 1f 8b. */
export const isGzip = (b: Uint8Array) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * Gunzips bytes with the web-standard DecompressionStream (Node ≥ 18, every current browser).
 * @example
 *   const raw = await gunzip(await source.read('train-labels-idx1-ubyte.gz'));
 */
export async function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/**
 * Reads an IDX file (gzipped or not) from a FileSource.
 * @example
 *   const labels = await readIdx(nodeFiles('/usr/share/datasets/fashion-mnist'), 't10k-labels-idx1-ubyte.gz');
 */
export async function readIdx(source: FileSource, path: string): Promise<IdxArray> {
  let bytes = await source.read(path);
  if (isGzip(bytes)) bytes = await gunzip(bytes);
  return parseIdx(bytes, source.describe?.(path) ?? path);
}
