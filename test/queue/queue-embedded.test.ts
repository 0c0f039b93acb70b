/**
 * The queue contract on the embedded backend (PGlite in a temporary
 * directory), plus what only the embedded backend promises: one process at a
 * time, with a clear error for the second.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { EmbeddedQueueInUseError, openQueueBackend } from '../../src/queue/backend.js';
import type { QueueBackend } from '../../src/queue/backend.js';
import { startQueueChild } from './child.js';
import type { QueueChild } from './child.js';
import { runQueueContract } from './contract.js';

const dataDir = mkdtempSync(join(tmpdir(), 'rc-queue-embedded-'));

runQueueContract('embedded', () => ({ dataDir }));

describe('embedded queue backend: one process at a time', () => {
  const open: QueueBackend[] = [];
  const children: QueueChild[] = [];
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await Promise.all(open.splice(0).map((b) => b.close()));
  });

  it('refuses a second process with an error that says what to do, and serves it once the first is gone', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rc-queue-embedded-lock-'));
    const backend = await openQueueBackend({ dataDir: dir, log: silentLogger() });
    open.push(backend);
    expect(backend).toMatchObject({ kind: 'embedded', multiProcess: false, location: join(dir, 'queue') });

    const second = startQueueChild({ mode: 'open', dataDir: dir });
    children.push(second);
    const said = await second.waitForLine(['OPENED', 'ERROR']);
    expect(said).toContain('ERROR EmbeddedQueueInUseError');
    expect(said).toContain(`already open in process ${process.pid}`);
    expect(said).toContain('REDIS_URL');
    expect(await second.exited).toBe(3);

    // Opening it twice in one process is refused too (two PGlite instances on one directory corrupt it).
    await expect(openQueueBackend({ dataDir: dir, log: silentLogger() })).rejects.toBeInstanceOf(EmbeddedQueueInUseError);

    await backend.close();
    open.length = 0;
    const third = startQueueChild({ mode: 'open', dataDir: dir });
    children.push(third);
    expect(await third.waitForLine(['OPENED', 'ERROR'])).toBe('OPENED');
    // A holder killed without a chance to clean up leaves a stale lock, which the next opener takes over.
    await third.kill();
    const again = await openQueueBackend({ dataDir: dir, log: silentLogger() });
    open.push(again);
    expect(await again.counts('anything')).toEqual({ waiting: 0, active: 0, delayed: 0, completed: 0, failed: 0 });
  }, 60_000);
});
