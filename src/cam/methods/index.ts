// Every CAM method, from one list: each is one file here that cites its paper and supplies a
// WGSL weighting for the shared gradient path or a run of its own (the contract, with the
// snippet's names u.P, act(), grad(), given() and w: README.md in this folder). CamMethodName,
// METHODS and METHOD_NAMES all derive from BUILT_IN; tests iterate METHOD_NAMES, so a method
// added to the list is covered by them (and fails them until its reference formula is written).
import type { CamMethod } from '../types.ts';
import { defineCamMethod } from './define.ts';
import { eigencam } from './eigencam.ts';
import { eigengradcam } from './eigengradcam.ts';
import { gradcam } from './gradcam.ts';
import { gradcamElementwise } from './gradcam-elementwise.ts';
import { gradcamPlusPlus } from './gradcam-plus-plus.ts';
import { guidedGradcam } from './guided-gradcam.ts';
import { hirescam } from './hirescam.ts';
import { layercam } from './layercam.ts';
import { saliency } from './saliency.ts';
import { scorecam } from './scorecam.ts';
import { xgradcam } from './xgradcam.ts';

/** The built-in methods, in the order help texts list them. */
const BUILT_IN = [
  gradcam, gradcamPlusPlus, hirescam, xgradcam, layercam, scorecam, eigencam, saliency, guidedGradcam,
  gradcamElementwise, eigengradcam,
] as const;

type BuiltIn = (typeof BUILT_IN)[number];
/** The built-in methods' names ('gradcam', 'gradcam++', …). */
export type CamMethodName = BuiltIn['name'];

/** The built-in methods by name. */
export const METHODS = Object.freeze(Object.fromEntries(BUILT_IN.map((m) => [m.name, m]))) as {
  readonly [M in BuiltIn as M['name']]: M;
};

/** The built-in methods' names, in list order: what tests and the CLI iterate. */
export const METHOD_NAMES: readonly CamMethodName[] = Object.freeze(BUILT_IN.map((m) => m.name));

/** Methods a caller added with registerCamMethod, by name. */
const registered = new Map<string, CamMethod>();

/**
 * Adds a method that cam() (and getMethod) then find by its name; the method is checked as
 * defineCamMethod checks it. A built-in's name cannot be taken; registering the same object
 * again is a no-op, another object under a registered name an error. Returns the method, which
 * can also be passed to cam() directly as `method` without registering it.
 * @example
 *   registerCamMethod({ name: 'activation-sum', cite: 'baseline', needs: 'gradients',
 *                       weighting: { key: 'activation-sum', pixel: 'a' } });
 *   await cam(model, x, { method: getMethod('activation-sum') });
 */
export function registerCamMethod<const M extends CamMethod>(method: M): M {
  defineCamMethod(method);
  if (Object.hasOwn(METHODS, method.name)) throw new Error(`registerCamMethod: '${method.name}' is a built-in CAM method; give yours another name`);
  const had = registered.get(method.name);
  if (had && had !== method) throw new Error(`registerCamMethod: a different method is already registered as '${method.name}'; give yours another name`);
  registered.set(method.name, method);
  return method;
}

/** The names cam() accepts: the built-ins, then the registered methods. */
export function camMethodNames(): string[] {
  return [...METHOD_NAMES, ...registered.keys()];
}

/**
 * The method for a name (built-in or registered), or a method object checked and passed
 * through; the error lists the known names.
 * @example
 *   getMethod('gradcam++').cite;   // 'Chattopadhay et al. 2018, Grad-CAM++, …'
 */
export function getMethod(method: string | CamMethod): CamMethod {
  if (typeof method === 'object' && method !== null) return defineCamMethod(method);
  const m = Object.hasOwn(METHODS, method) ? (METHODS as Readonly<Record<string, CamMethod>>)[method] : registered.get(method);
  if (!m) throw new Error(`unknown CAM method '${method}'; use one of ${camMethodNames().join(', ')}`);
  return m;
}
