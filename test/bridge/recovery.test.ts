/**
 * The recovery sweep's decisions, against the real store and queue (Redis):
 * a queued row without a job is queued again; one whose job waits is left
 * alone; one whose job failed for good is finished; one whose job completed
 * while the row still says queued runs again.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweep } from '../../src/bridge/recovery.js';
import { silentLogger } from '../../src/observability/logger.js';
import { jobProducer, openQueueBackend, QueueConfigSchema, UnrecoverableError } from '../../src/queue/index.js';
import type { QueueBackend } from '../../src/queue/index.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/store.js';
import { TEST_REDIS_URL } from '../support/bridge.js';
import { waitFor } from '../support/wait.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup() {
  const store: Store = await openStore({ url: ':memory:' });
  const queue: QueueBackend = await openQueueBackend({ redisUrl: TEST_REDIS_URL, dataDir: await mkdtemp(join(tmpdir(), 'rc-sweep-')), log: silentLogger() });
  cleanups.push(async () => {
    await queue.close();
    await store.close();
  });
  const cfg = QueueConfigSchema.parse({ attempts: 1 });
  const outbound = jobProducer(queue, 'outbound', cfg, { queueName: `test-out-${randomUUID()}` });
  const inbound = jobProducer(queue, 'inbound', cfg, { queueName: `test-in-${randomUUID()}` });
  const finishedOut: string[] = [];
  const finishedIn: string[] = [];
  const deps = {
    store,
    outbound,
    inbound,
    finishOutbound: async (uuid: string) => void finishedOut.push(uuid),
    finishInbound: async (_owner: string, uuid: string) => void finishedIn.push(uuid),
    log: silentLogger(),
  };
  const row = (text: string) =>
    store.rooms.enqueueOutbox({ platform: 'memory', roomId: '!r', uuid: randomUUID(), senderId: '@b', senderName: 'B', text, platformMessageId: text, createdAt: 1 });
  return { store, queue, outbound, inbound, deps, finishedOut, finishedIn, row };
}

describe('recovery sweep', () => {
  it('queues again a row without a job, leaves a waiting job alone, and is idempotent', async () => {
    const s = await setup();
    const stranded = await s.row('stranded');
    const waiting = await s.row('waiting');
    await s.outbound.enqueue({ uuid: waiting.uuid, platform: 'memory', roomId: '!r', seq: waiting.seq });
    expect(await sweep(s.deps)).toEqual({ requeued: 1, finished: 0 });
    expect(await (await s.outbound.queue.getJob(stranded.uuid))?.getState()).toBe('waiting');
    expect(await sweep(s.deps)).toEqual({ requeued: 0, finished: 0 });
    expect(await s.outbound.queue.getJobCounts('waiting')).toEqual({ waiting: 2 });
  });

  it('finishes a row whose job failed for good, and runs again one whose job completed while the row stayed queued', async () => {
    const s = await setup();
    const failed = await s.row('failed');
    const completed = await s.row('completed');
    await s.outbound.enqueue({ uuid: failed.uuid, platform: 'memory', roomId: '!r', seq: failed.seq });
    await s.outbound.enqueue({ uuid: completed.uuid, platform: 'memory', roomId: '!r', seq: completed.seq });
    // A worker that ends both jobs without touching their rows (as a process that died in its 'failed' handler would leave them).
    const w = s.queue.worker(s.outbound.queue.name, async (job) => {
      if (job.id === failed.uuid) throw new UnrecoverableError('no');
    });
    await waitFor(async () => (await s.outbound.queue.getJobCounts('failed', 'completed')).failed === 1 && (await s.outbound.queue.getJobCounts('completed')).completed === 1, 'both jobs ended');
    await w.close();
    expect(await sweep(s.deps)).toEqual({ requeued: 1, finished: 1 });
    expect(s.finishedOut).toEqual([failed.uuid]);
    expect(await (await s.outbound.queue.getJob(completed.uuid))?.getState()).toBe('waiting');
  });

  it('leaves rows that are no longer queued, and handles inbox rows the same way', async () => {
    const s = await setup();
    const done = await s.row('done');
    await s.store.rooms.setOutboxState(done.uuid, 'done');
    const owner = 'c'.repeat(64);
    const inRow = await s.store.rooms.enqueueInbox({ platform: 'memory', roomId: '!r', owner, uuid: randomUUID() });
    expect(await sweep(s.deps)).toEqual({ requeued: 1, finished: 0 });
    expect(await s.outbound.queue.getJob(done.uuid)).toBeUndefined();
    expect(await (await s.inbound.queue.getJob(`${owner}-${inRow.uuid}`))?.getState()).toBe('waiting');
  });
});
