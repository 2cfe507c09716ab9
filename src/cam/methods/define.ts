// How a CAM method is declared: defineCamMethod checks a method object once, where it is written,
// and keeps its literal name so the built-in list can derive CamMethodName from it.
import type { CamMethod, CamNeeds } from '../types.ts';

const NEEDS: readonly CamNeeds[] = ['gradients', 'activations', 'input-gradients'];

/**
 * Checks a method (a name, what it reads, a weighting snippet or its own run) and returns it
 * unchanged, its name kept as a literal type. The contract: methods/README.md.
 * @example
 *   export const mine = defineCamMethod({
 *     name: 'activation-sum', cite: 'Σ_c A_hwc (a baseline)', needs: 'gradients',
 *     weighting: { key: 'activation-sum', pixel: 'a' },
 *   });
 */
export function defineCamMethod<const M extends CamMethod>(m: M): M {
  const what = `CAM method '${String(m?.name)}'`;
  if (typeof m?.name !== 'string' || !m.name) throw new Error(`a CAM method needs a non-empty name (got ${String(m?.name)})`);
  if (!NEEDS.includes(m.needs)) throw new Error(`${what}: needs '${String(m.needs)}' must be one of ${NEEDS.join(', ')}`);
  if (m.run !== undefined && typeof m.run !== 'function') throw new Error(`${what}: run must be a function (ctx) => { maps, top }`);
  const wt = m.weighting;
  if (wt) {
    if ((wt.channel === undefined) === (wt.pixel === undefined)) {
      throw new Error(`${what}: its weighting '${wt.key}' must give exactly one of channel (statements setting w) or pixel (an expression of a and g); see src/cam/methods/README.md`);
    }
  } else if (!m.run) {
    throw new Error(`${what} has neither a weighting snippet nor a run of its own: give one (src/cam/methods/README.md)`);
  }
  if (!m.run && m.needs !== 'gradients') {
    throw new Error(`${what}: a weighting alone runs on the gradient path; with needs '${m.needs}' the method must supply its own run`);
  }
  return m;
}
