// Node's source of tuned GEMM choices: the JSON `camlight tune` writes in the user cache folder,
// read synchronously once per runtime through the kernels' hook (useGemmTuning), so src/kernels
// never imports node:.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { GemmTuning, TunedChoice } from '../kernels/gemm-tiles.ts';

/** The tuning file: `<cache>/gemm-tuning.json`, the cache folder as cli/pretrained.ts's cacheDir finds it. */
export function gemmTuningPath(env = process.env): string {
  const dir = env.CAMLIGHT_CACHE ? resolve(env.CAMLIGHT_CACHE)
    : env.XDG_CACHE_HOME ? join(resolve(env.XDG_CACHE_HOME), 'camlight')
      : join(homedir(), '.cache', 'camlight');
  return join(dir, 'gemm-tuning.json');
}

/** The tuned choices for one adapter, or null (no file, no entry, or an unreadable file: warned once). */
export function nodeGemmTuning(adapterName: string): Record<string, TunedChoice> | null {
  const file = gemmTuningPath();
  if (!existsSync(file)) return null;
  try {
    const t = JSON.parse(readFileSync(file, 'utf8')) as GemmTuning;
    if (t.version !== 1) throw new Error(`version ${String(t.version)}, expected 1`);
    return t.adapters?.[adapterName]?.choices ?? null;
  } catch (e) {
    console.warn(`camlight: ignoring the GEMM tuning file ${file} (${(e as Error).message}); run \`camlight tune\` again to rewrite it`);
    return null;
  }
}
