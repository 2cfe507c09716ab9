// Focus relative to chance, the triage's map measure: how much denser a CAM's energy is inside a
// region than outside it. A flat map puts exactly the region's area share inside, so "energy
// inside" alone says nothing until it is set against the area (a trouser covers ~0.3 of its image).
import { energyPointingGame, regionMask, type MapLike, type Region } from '../cam/metrics/index.ts';

/** A map's energy in a region against the region's share of the image. */
export interface Focus {
  /** Share of the map's energy inside the region (energy pointing game, Score-CAM §4.2). */
  energy: number;
  /** Share of the image the region covers: what a flat map scores as `energy`. */
  area: number;
  /**
   * Energy density inside over density outside, (energy/area) / ((1−energy)/(1−area)): 1 for a
   * flat map whatever the area, > 1 when the map prefers the region, < 1 when it avoids it.
   * Infinity when all energy is inside; null when the region is empty or the whole image.
   */
  ratio: number | null;
}

/** The share of a region's frame it covers. */
export function regionArea(region: Region): number {
  const m = regionMask(region);
  let s = 0;
  for (let i = 0; i < m.length; i++) s += m[i]!;
  return s / m.length;
}

/**
 * The density ratio of `energy` inside a region of `area` (see Focus.ratio).
 * @example
 *   densityRatio(0.3, 0.3);   // 1: no more on the object than a flat map
 */
export function densityRatio(energy: number, area: number): number | null {
  if (!(area > 0 && area < 1)) return null;
  if (energy >= 1) return Infinity;
  return (energy / area) / ((1 - energy) / (1 - area));
}

/**
 * The mean focus of several maps (the triage's window) on one region.
 * @example
 *   const f = focusOf(window.map((r) => r.map), objectRegion);   // { energy: 0.61, area: 0.12, ratio: 11.5 }
 */
export function focusOf(maps: MapLike[], region: Region): Focus {
  const energy = maps.reduce((s, m) => s + energyPointingGame(m, region), 0) / maps.length;
  const area = regionArea(region);
  return { energy, area, ratio: densityRatio(energy, area) };
}

/** Whether a map carries no spatial information: all zero, or max − min under `spread` of its max. */
export function mapEmptiness(values: ArrayLike<number>, spread: number): 'zero' | 'flat' | null {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (!(hi > 0)) return 'zero';
  return hi - lo <= spread * hi ? 'flat' : null;
}
