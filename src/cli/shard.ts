// `camlight cam --shard i/n`: which inputs one of n machines explains. Each input goes to the shard
// its key's hash names (the key: its path relative to the inputs' common folder), so the split
// depends on neither the order of the file list nor on anything but the list's own contents, and
// every shard agrees with the others without talking to them. `camlight merge` checks the parts.
import { createHash } from 'node:crypto';
import { relative, resolve, sep } from 'node:path';
import { UsageError } from './args.ts';
import { commonFolder } from './cam-inputs.ts';

export interface ShardSpec {
  /** 0-based, as Kubernetes's JOB_COMPLETION_INDEX and a Slurm array of 0-(n-1) count. */
  index: number;
  count: number;
}

/** One input assigned to a shard: its place in the whole list (merge restores the order) and key. */
export interface Assigned {
  file: string;
  key: string;
  position: number;
}

/** What a shard writes into its cams.json (`shard`), read back by `camlight merge`. */
export interface ShardRecord extends ShardSpec {
  /** The number of inputs in the whole list (all shards together). */
  inputs: number;
  /** The options that decide the maps and overlays: every shard of a run must share them. */
  options: Record<string, string | null>;
  assigned: Assigned[];
}

/**
 * `--shard i/n` → {index, count}; i counts from 0 (i < n).
 * @example
 *   parseShard('2/3'); // { index: 2, count: 3 }
 */
export function parseShard(text: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new UsageError(`--shard ${text}: expected I/N (shard I of N, I from 0 to N-1), e.g. --shard 0/4 or --shard $SLURM_ARRAY_TASK_ID/4`);
  const index = Number(m[1]), count = Number(m[2]);
  if (count < 1 || count > 1e6) throw new UsageError(`--shard ${text}: N must be from 1 to 1000000`);
  if (index >= count) throw new UsageError(`--shard ${text}: I counts from 0, so it must be below N (${count}); for a Slurm array use --array=0-${count - 1}`);
  return { index, count };
}

/** The key of each file: its path relative to the files' common folder, '/'-separated. */
export function inputKeys(files: string[]): string[] {
  const abs = files.map((f) => resolve(f));
  const root = commonFolder(abs);
  return abs.map((f) => relative(root, f).split(sep).join('/'));
}

/** The shard a key belongs to: the first 32 bits of its SHA-256, modulo n. */
export function shardOfKey(key: string, count: number): number {
  return createHash('sha256').update(key).digest().readUInt32BE(0) % count;
}

/**
 * The inputs of shard `spec` among `files` (the whole list, in its order).
 * @example
 *   assignShard(['a.png', 'b.png', 'c.png'], { index: 0, count: 2 }); // e.g. [{ file: 'b.png', key: 'b.png', position: 1 }]
 */
export function assignShard(files: string[], spec: ShardSpec): Assigned[] {
  const keys = inputKeys(files);
  const out: Assigned[] = [];
  files.forEach((file, position) => {
    if (shardOfKey(keys[position]!, spec.count) === spec.index) out.push({ file, key: keys[position]!, position });
  });
  return out;
}
