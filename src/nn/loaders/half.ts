// IEEE 754 half precision (binary16) to float32, for float16 weight shards. Bit-exact for every
// one of the 65536 patterns: normals, subnormals, ±0, ±inf and NaN (payload kept).

/**
 * Decodes half-precision bit patterns to float32.
 * @example
 *   halfToFloat32(new Uint16Array([0x3c00, 0xc000])); // Float32Array [1, -2]
 */
export function halfToFloat32(bits: Uint16Array): Float32Array {
  const out = new Float32Array(bits.length);
  const u = new Uint32Array(out.buffer);
  for (let i = 0; i < bits.length; i++) {
    const h = bits[i]!;
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // ±0 or subnormal: mant · 2^-24, exact in float32.
      out[i] = (sign ? -mant : mant) * 5.960464477539063e-8;
    } else if (exp === 31) {
      u[i] = (sign | 0x7f800000 | (mant << 13)) >>> 0;
    } else {
      // Rebias the exponent from 15 to 127.
      u[i] = (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
    }
  }
  return out;
}

/**
 * Encodes float32 values as half precision, rounding to nearest even (overflow gives ±inf).
 * @example
 *   float32ToHalf(new Float32Array([1, 65504, 1e6])); // Uint16Array [0x3c00, 0x7bff, 0x7c00]
 */
export function float32ToHalf(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < values.length; i++) {
    f[0] = values[i]!;
    const x = u[0]!;
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) {
      out[i] = sign | 0x7c00 | (mant ? 0x200 | (mant >>> 13) : 0);
      continue;
    }
    const e = exp - 127 + 15;
    if (e >= 31) {
      out[i] = sign | 0x7c00;
    } else if (e <= 0) {
      if (e < -10) {
        out[i] = sign;
        continue;
      }
      // Subnormal: shift the (implicit-1) mantissa right, rounding to nearest even.
      mant |= 0x800000;
      const shift = 14 - e;
      const half = 1 << (shift - 1);
      let m = mant >>> shift;
      const rest = mant & ((1 << shift) - 1);
      if (rest > half || (rest === half && m & 1)) m++;
      out[i] = sign | m;
    } else {
      let h = (e << 10) | (mant >>> 13);
      const rest = mant & 0x1fff;
      if (rest > 0x1000 || (rest === 0x1000 && h & 1)) h++; // may carry into the exponent: still right
      out[i] = sign | h;
    }
  }
  return out;
}
