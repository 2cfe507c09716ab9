// A small, strict option parser for the CLI: `--name value`, `--name=value` and boolean flags;
// an unknown option or a missing value is an error naming it (one line, exit code 1).

export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  positional: string[];
  values: Map<string, string>;
  flags: Set<string>;
}

/**
 * Parses argv against the option names that take a value and those that are flags.
 * @example
 *   parseArgs(['a.png', '--model', 'm.json', '--json'], ['model'], ['json'])
 */
export function parseArgs(argv: string[], valued: string[], flags: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], values: new Map(), flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) {
      out.positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    if (flags.includes(name)) {
      if (eq >= 0) throw new UsageError(`option --${name} takes no value`);
      out.flags.add(name);
    } else if (valued.includes(name)) {
      const v = eq >= 0 ? a.slice(eq + 1) : argv[++i];
      if (v === undefined || (eq < 0 && v.startsWith('--'))) throw new UsageError(`option --${name} needs a value`);
      out.values.set(name, v);
    } else {
      throw new UsageError(`unknown option --${name}; see --help`);
    }
  }
  return out;
}
