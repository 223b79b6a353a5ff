// One process per run directory: `lock.json` (PID, host, start time, command) created atomically with
// link(2), so it is whole or absent. A second process — or a --resume of a live run — gets a one-line
// error naming the holder; a lock whose process is gone (SIGKILL, power loss) is detected and taken over.

import { existsSync, linkSync, readFileSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { LrqError } from '../engine/errors.js';
import { tempPathFor } from '../io/atomic.js';

export const LOCK_FILE = 'lock.json';

/** What a lock file holds. `procStart` is the kernel's start time of the PID (Linux), to tell PID reuse apart. */
export interface LockInfo { pid: number; host: string; startedAt: string; procStart: string | null; command: string }

/** The start time of a process from /proc/<pid>/stat (field 22), or null where /proc is not available. */
function procStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

/** Is the lock's process still running? Another host's lock counts as live (it cannot be checked from here). */
export function lockIsLive(l: LockInfo): boolean {
  if (l.host !== hostname()) return true;
  try {
    process.kill(l.pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // Same PID but a different start time: the PID was reused by an unrelated process.
  const now = procStart(l.pid);
  return !(l.procStart && now && now !== l.procStart);
}

function readLock(path: string): LockInfo | null {
  try {
    const l = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return Number.isInteger(l.pid) && typeof l.host === 'string' ? l : null;
  } catch {
    return null;
  }
}

/** A held lock; release() removes it (only if it is still ours) and is safe to call twice. */
export interface RunLock { path: string; release(): void; tookOver: LockInfo | null }

/**
 * Take runDir's lock or throw LrqError naming the live holder. The directory must exist. A stale lock
 * (its process gone) is replaced by ours with an atomic rename, then re-read to confirm we won the race.
 */
export function acquireRunLock(runDir: string): RunLock {
  const path = join(runDir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), procStart: procStart(process.pid), command: process.argv.slice(1).join(' ') };
  let tookOver: LockInfo | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    const tmp = tempPathFor(path);
    writeFileSync(tmp, JSON.stringify(me, null, 2) + '\n');
    try {
      linkSync(tmp, path); // fails with EEXIST when a lock is there: creation is atomic and the file is whole
      unlinkSync(tmp);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') { unlinkSync(tmp); throw e; }
    }
    const other = readLock(path);
    if (other && other.pid !== process.pid && lockIsLive(other)) {
      unlinkSync(tmp);
      const where = other.host === me.host ? '' : ` on host ${other.host} (delete ${path} if that process is gone)`;
      throw new LrqError(`${runDir} is in use by process ${other.pid}${where}, running since ${other.startedAt}: wait for it to end, stop it, or choose another --out`);
    }
    tookOver = other;
    renameSync(tmp, path); // a stale or unreadable lock: replace it atomically …
    if (readLock(path)?.pid === process.pid) break; // … and check that no other taker replaced ours
  }
  if (readLock(path)?.pid !== process.pid) throw new LrqError(`${runDir}: could not take the run lock ${path} (another process keeps replacing it)`);
  let held = true;
  const release = () => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (readLock(path)?.pid === process.pid) try { unlinkSync(path); } catch { /* already gone */ }
  };
  process.on('exit', release);
  return { path, release, tookOver };
}

/** Remove a run directory this process created if it holds nothing (a run that failed before writing). */
export function removeIfEmpty(dir: string): void {
  try {
    if (existsSync(dir) && readdirSync(dir).length === 0) rmdirSync(dir);
  } catch { /* not ours to clean */ }
}
