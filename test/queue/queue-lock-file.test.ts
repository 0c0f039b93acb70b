/** The lock that keeps the embedded queue to one process. */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireLock, LockHeldError } from '../../src/queue/lock-file.js';

const path = () => join(mkdtempSync(join(tmpdir(), 'rc-lock-')), 'queue.lock');
const holder = (over: Record<string, unknown>) => JSON.stringify({ pid: process.pid, host: hostname(), startTime: null, since: '2024-01-01T00:00:00.000Z', ...over });

describe('lock file', () => {
  it('is taken once, refused while held, and free again after release', () => {
    const p = path();
    const lock = acquireLock(p, 'the thing');
    expect(JSON.parse(readFileSync(p, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    expect(() => acquireLock(p, 'the thing')).toThrow(LockHeldError);
    expect(() => acquireLock(p, 'the thing')).toThrow(`the thing is in use by process ${process.pid} on ${hostname()}`);
    lock.release();
    expect(existsSync(p)).toBe(false);
    acquireLock(p, 'the thing').release();
  });

  it('takes over a lock whose process is gone, or whose pid now belongs to another process', () => {
    const p = path();
    writeFileSync(p, holder({ pid: 2 ** 22 + 12345 })); // above Linux's pid_max: no such process
    acquireLock(p, 'x').release();
    writeFileSync(p, holder({ startTime: '1' })); // our pid, but a process that started at another time
    acquireLock(p, 'x').release();
    writeFileSync(p, 'garbage');
    acquireLock(p, 'x').release();
  });

  it('treats a lock from another host as held (its process cannot be checked from here)', () => {
    const p = path();
    writeFileSync(p, holder({ host: `not-${hostname()}`, pid: 2 ** 22 + 12345 }));
    expect(() => acquireLock(p, 'x')).toThrow(/in use by process \d+ on not-/);
  });
});
