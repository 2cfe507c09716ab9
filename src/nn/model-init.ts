// The project's one seeded random generator: weight initialisation (a zoo model built twice with
// the same seed holds the same weights), training's shuffles and augmentations, SmoothGrad's noise,
// the tests' and benches' inputs. It lives in nn, the lowest layer any of them needs it from.

/**
 * Mulberry32: a small, fast seeded generator of uniform numbers in [0, 1).
 * @example
 *   const r = rng(7); const u = r();
 */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
