// The README's examples, as the package tests run them: the first fenced code block under a
// heading, so what a user copies is what CI executes.
import { readFileSync } from 'node:fs';

/**
 * The first ```js / ```ts block after the `## <heading>` line of a Markdown file.
 * @example
 *   readmeExample('README.md', 'Use it from Node');
 */
export function readmeExample(file: string, heading: string): string {
  const text = readFileSync(file, 'utf8');
  const at = text.search(new RegExp(`^#+ ${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`, 'm'));
  if (at < 0) throw new Error(`${file} has no section "${heading}"`);
  const block = /```(?:js|ts|javascript|typescript)\n([\s\S]*?)```/.exec(text.slice(at));
  if (!block) throw new Error(`${file}: section "${heading}" has no js/ts code block`);
  return block[1]!;
}
