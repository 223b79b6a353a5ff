// Append-only JSONL log: one JSON object per line, flushed per write so a killed run keeps its log.
// On resume the log is truncated to the records written before the checkpoint being resumed.

import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export class JsonlLog {
  constructor(readonly path: string) {}

  /** Append one record. */
  write(rec: Record<string, unknown>): void {
    appendFileSync(this.path, JSON.stringify(rec) + '\n');
  }

  /** Number of complete records in the file (a torn last line is not counted). */
  count(): number {
    return readJsonl(this.path).length;
  }

  /** Keep only the first n records (drops what a killed run wrote after its last checkpoint). */
  truncate(n: number): void {
    const recs = readJsonl(this.path).slice(0, n);
    writeFileSync(this.path, recs.map((r) => JSON.stringify(r) + '\n').join(''));
  }
}

/** Parse a JSONL file into objects, ignoring a torn (unparsable) trailing line. */
export function readJsonl(path: string): Record<string, unknown>[] {
  if (!existsSync(path)) return [];
  const out: Record<string, unknown>[] = [];
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      break;
    }
  }
  return out;
}
