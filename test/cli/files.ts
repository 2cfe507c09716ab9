// Shared by the CLI tests that check what a command left on disk (the cache after a failed
// download must hold nothing half-written).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every file (not folder) under `d`, relative; [] when `d` does not exist. */
export function filesUnder(d: string): string[] {
  let names: string[];
  try {
    names = readdirSync(d);
  } catch {
    return [];
  }
  return names.flatMap((n) => (statSync(join(d, n)).isDirectory() ? filesUnder(join(d, n)).map((f) => `${n}/${f}`) : [n]));
}
