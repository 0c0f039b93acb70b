/**
 * The queue contract on a real Redis (REDIS_URL, or the local one on :6379),
 * plus what only Redis offers: worker processes that share one queue
 * (`roomcast worker`, scaled out).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/observability/logger.js';
import { openQueueBackend } from '../../src/queue/backend.js';
import type { QueueBackend } from '../../src/queue/backend.js';
import { QueueConfigSchema } from '../../src/queue/config.js';
import { jobProducer } from '../../src/queue/jobs.js';
import { waitFor } from '../support/wait.js';
import { startQueueChild } from './child.js';
import type { QueueChild } from './child.js';
import { runQueueContract } from './contract.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dataDir = () => mkdtempSync(join(tmpdir(), 'rc-queue-redis-'));

runQueueContract('redis', () => ({ redisUrl: REDIS_URL, dataDir: dataDir() }));

describe('redis queue backend: several processes', () => {
  const children: QueueChild[] = [];
  let backend: QueueBackend | undefined;
  afterEach(async () => {
    await Promise.all(children.splice(0).map((c) => c.kill()));
    await backend?.close();
  });

  it('worker processes share the jobs of one queue, each job done once', async () => {
    backend = await openQueueBackend({ redisUrl: REDIS_URL, dataDir: dataDir(), log: silentLogger() });
    expect(backend).toMatchObject({ kind: 'redis', multiProcess: true, location: REDIS_URL.replace(/\/$/, '') });
    const q = `test-${randomUUID()}`;
    try {
      for (let i = 0; i < 2; i++) children.push(startQueueChild({ mode: 'work', redisUrl: REDIS_URL, dataDir: dataDir(), queueName: q }));
      await Promise.all(children.map((c) => c.waitForLine(['OPENED', 'ERROR'])));
      const producer = jobProducer(backend, 'outbound', QueueConfigSchema.parse({}), { queueName: q });
      const uuids: string[] = [];
      for (let i = 0; i < 60; i++) uuids.push((await producer.enqueue({ uuid: randomUUID(), platform: 'test', roomId: 'r', seq: i })).id!);
      await waitFor(async () => (await backend!.counts(q)).completed === uuids.length, 'all jobs to complete', 20_000);
      const doneBy = children.map((c) => c.lines.filter((l) => l.startsWith('DONE ')).map((l) => l.slice(5)));
      expect(doneBy.every((ids) => ids.length > 0)).toBe(true);
      expect([...doneBy[0]!, ...doneBy[1]!].sort()).toEqual([...uuids].sort());
    } finally {
      await backend.queue(q).obliterate({ force: true });
    }
  }, 40_000);
});
