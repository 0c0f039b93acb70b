/**
 * A lock file that lets one process at a time use a directory.
 *
 * PGlite does not stop a second process from opening the same data directory
 * (measured: two processes opened one directory, each saw only its own
 * writes), so the embedded queue takes this lock first. The file records who
 * holds it: pid, host and, on Linux, the process's start time, so a lock left
 * behind by a process that was killed (SIGKILL, power loss) is recognised as
 * stale and taken over, even when its pid has since been reused.
 *
 * Limits: liveness can only be checked on the same host; a lock written on
 * another host is treated as held (delete the file by hand if you are sure).
 * Two processes taking over the same stale lock at the same instant are
 * resolved by renaming the stale file aside first: only one rename succeeds.
 */
import { hostname } from 'node:os';
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { z } from 'zod';

const HolderSchema = z.object({
  pid: z.number().int(),
  host: z.string(),
  /** Linux: field 22 of /proc/<pid>/stat (clock ticks since boot); null elsewhere. */
  startTime: z.string().nullable(),
  since: z.string(),
});
export type LockHolder = z.infer<typeof HolderSchema>;

/** Thrown when another live process holds the lock. */
export class LockHeldError extends Error {
  constructor(
    readonly path: string,
    readonly holder: LockHolder | undefined,
    what: string,
  ) {
    const who = holder ? `process ${holder.pid} on ${holder.host} (since ${holder.since})` : 'another process';
    super(`${what} is in use by ${who}; lock file ${path}`);
    this.name = 'LockHeldError';
  }
}

function processStartTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? null; // field 22 overall
  } catch {
    return null;
  }
}

function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true; // cannot tell: assume it is
  try {
    process.kill(holder.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  // The pid exists (or we may not signal it). A different start time means it was reused.
  const now = processStartTime(holder.pid);
  return holder.startTime === null || now === null || now === holder.startTime;
}

function readHolder(path: string): LockHolder | undefined {
  try {
    return HolderSchema.parse(JSON.parse(readFileSync(path, 'utf8')));
  } catch {
    return undefined;
  }
}

export interface HeldLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): void;
}

/**
 * Takes the lock at `path` for this process, or throws LockHeldError naming
 * the holder. `what` names the guarded thing in the error message.
 */
export function acquireLock(path: string, what: string): HeldLock {
  const me: LockHolder = { pid: process.pid, host: hostname(), startTime: processStartTime(process.pid), since: new Date().toISOString() };
  const content = JSON.stringify(me);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(path, content, { flag: 'wx', mode: 0o644 });
      return heldLock(path, content);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(path);
    // An unreadable file is either being written right now or garbage: look again before judging.
    if (holder === undefined && attempt === 0) continue;
    if (holder !== undefined && isAlive(holder)) throw new LockHeldError(path, holder, what);
    const aside = `${path}.stale-${process.pid}-${Date.now()}`;
    try {
      renameSync(path, aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // someone else moved it first
      throw err;
    }
    // If what we moved aside is not the stale lock we judged, a live process took it over meanwhile: put it back.
    const moved = readHolder(aside);
    if (moved && holder && moved.pid !== holder.pid && isAlive(moved)) {
      renameSync(aside, path);
      throw new LockHeldError(path, moved, what);
    }
    unlinkSync(aside);
  }
  throw new LockHeldError(path, readHolder(path), what);
}

function heldLock(path: string, content: string): HeldLock {
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === content) unlinkSync(path);
    } catch {
      // Already gone: nothing to release.
    }
  };
  // A normal exit (even without close()) leaves no lock behind.
  process.on('exit', release);
  return { path, release };
}
