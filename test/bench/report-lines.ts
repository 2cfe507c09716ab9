// Runs `bench report` (bench/report.ts main) and returns what it printed, line by line: the
// report tests read its tables as a user would. Either on committed files, or on a results
// document written to a temporary file (removed afterwards).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as assert from 'uvu/assert';

/** `bench report FILE...`'s printed lines; fails the test unless it exits 0. */
export async function reportLines(files: string[]): Promise<string[]> {
  const { main } = await import('../../bench/report.ts');
  const lines: string[] = [];
  const log = console.log;
  console.log = (...x: unknown[]) => void lines.push(x.join(' '));
  try {
    assert.is(await main(files), 0);
  } finally {
    console.log = log;
  }
  return lines;
}

/** The report's lines for one results document of `suite` (adapter 'test adapter', a full run) holding `records`. */
export async function reportLinesFor(suite: string, records: unknown[]): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'camlight-report-'));
  try {
    const file = join(dir, `${suite}.json`);
    writeFileSync(file, JSON.stringify({ suite, adapter: 'test adapter', date: '2026-11-29T00:00:00Z', mode: 'full', records }));
    return await reportLines([file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
