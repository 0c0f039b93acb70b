/**
 * The contract every queue backend must pass (DESIGN.md: one shared suite per
 * seam). queue-redis.test.ts and queue-embedded.test.ts run it with the
 * options that open their backend; every test uses its own queue names
 * (`test-<uuid>`) and removes them afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnrecoverableError } from 'bullmq';
import { silentLogger } from '../../src/observability/logger.js';
import { openQueueBackend } from '../../src/queue/backend.js';
import type { QueueBackend } from '../../src/queue/backend.js';
import { QueueConfigSchema } from '../../src/queue/config.js';
import type { QueueConfigInput } from '../../src/queue/config.js';
import { jobProducer, startJobWorker } from '../../src/queue/jobs.js';
import type { OutboundJob } from '../../src/queue/jobs.js';
import { KeyedSequencer } from '../../src/queue/sequencer.js';
import { promote } from '../../src/queue/promote.js';
import { sleep, waitFor } from '../support/wait.js';
import { startQueueChild } from './child.js';
import type { QueueChild } from './child.js';

export interface QueueHarness {
  /** What opens this backend, in this process or a child process. */
  readonly redisUrl?: string;
  readonly dataDir: string;
}

const config = (over: QueueConfigInput = {}) => QueueConfigSchema.parse({ attempts: 3, backoffMs: 200, ...over });

function outbound(seq: number, roomId = 'room-a'): OutboundJob {
  return { uuid: randomUUID(), platform: 'test', roomId, seq };
}

export function runQueueContract(name: string, harness: () => QueueHarness): void {
  describe(`${name} queue backend contract`, () => {
    let h: QueueHarness;
    let backend: QueueBackend;
    let used: string[] = [];
    const children: QueueChild[] = [];

    const open = () => openQueueBackend({ redisUrl: h.redisUrl, dataDir: h.dataDir, log: silentLogger() });
    const queueName = () => {
      const n = `test-${randomUUID()}`;
      used.push(n);
      return n;
    };

    beforeAll(async () => {
      h = harness();
      backend = await open();
    });
    afterEach(async () => {
      await Promise.all(children.splice(0).map((c) => c.kill()));
      for (const n of used.splice(0)) {
        const q = backend.queue(n);
        await q.obliterate({ force: true });
      }
      // A fresh backend per test: nothing a test built outlives it.
      await backend.close();
      backend = await open();
    });
    afterAll(async () => {
      await backend?.close();
    });

    it('adding a job twice with the same uuid yields one job', async () => {
      const cfg = config();
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const payload = outbound(0);
      const first = await producer.enqueue(payload);
      const second = await producer.enqueue({ ...payload, seq: 99 });
      expect(first.id).toBe(payload.uuid);
      expect(second.id).toBe(payload.uuid);
      expect(await backend.counts(q)).toMatchObject({ waiting: 1, active: 0, delayed: 0 });
      expect((await producer.queue.getJob(payload.uuid))?.data).toEqual(payload); // the first one stays

      const seen: string[] = [];
      startJobWorker(backend, 'outbound', cfg, async (p) => void seen.push(p.uuid), { queueName: q });
      await waitFor(async () => (await backend.counts(q)).completed === 1, 'the job to complete');
      await producer.enqueue(payload); // after completion too: still the same job, not run again
      await sleep(300);
      expect(seen).toEqual([payload.uuid]);
      expect(await backend.counts(q)).toMatchObject({ waiting: 0, completed: 1 });
    });

    it('processes jobs and keeps their results', async () => {
      const cfg = config();
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const payloads = Array.from({ length: 10 }, (_, i) => outbound(i));
      for (const p of payloads) await producer.enqueue(p);
      startJobWorker(backend, 'outbound', cfg, async (p, job) => `sent ${p.uuid} attempt ${job.attemptsMade + 1}`, { queueName: q });
      await waitFor(async () => (await backend.counts(q)).completed === 10, 'ten jobs to complete');
      for (const p of payloads) {
        const job = await producer.queue.getJob(p.uuid);
        expect(job?.returnvalue).toBe(`sent ${p.uuid} attempt 1`);
        expect(await job?.getState()).toBe('completed');
      }
    });

    it('reports completions and failures as events', async () => {
      const cfg = config({ attempts: 1 });
      const q = queueName();
      const events = backend.events(q);
      const seen: string[] = [];
      events.on('completed', ({ jobId, returnvalue }) => seen.push(`completed ${jobId} ${String(returnvalue)}`));
      events.on('failed', ({ jobId, failedReason }) => seen.push(`failed ${jobId} ${failedReason}`));
      await events.waitUntilReady();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          if (p.seq === 1) throw new Error('no route');
          return 'sent';
        },
        { queueName: q },
      );
      const [good, bad] = [outbound(0), outbound(1)];
      await producer.enqueue(good);
      await producer.enqueue(bad);
      await waitFor(() => seen.length === 2, 'two events', 15_000);
      expect(seen.sort()).toEqual([`completed ${good.uuid} sent`, `failed ${bad.uuid} no route`]);
    });

    it('retries with exponential backoff, as many times as configured', async () => {
      const cfg = config({ attempts: 3, backoffMs: 250 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const tries: number[] = [];
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async () => {
          tries.push(Date.now());
          if (tries.length < 3) throw new Error(`transient failure ${tries.length}`);
          return 'finally';
        },
        { queueName: q },
      );
      const p = outbound(0);
      await producer.enqueue(p);
      await waitFor(async () => (await backend.counts(q)).completed === 1, 'the job to succeed on its third try');
      expect(tries).toHaveLength(3);
      // Exponential: the second wait is twice the first (250 ms, then 500 ms); lower bounds only.
      expect(tries[1]! - tries[0]!).toBeGreaterThanOrEqual(240);
      expect(tries[2]! - tries[1]!).toBeGreaterThanOrEqual(490);
      expect((await producer.queue.getJob(p.uuid))?.returnvalue).toBe('finally');
    });

    it('a job that uses up its attempts stays failed and inspectable, and is not re-run by a new enqueue', async () => {
      const cfg = config({ attempts: 2, backoffMs: 50 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      let calls = 0;
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          calls++;
          if (p.seq === 0) throw new Error('relay refused: rate limited');
          return 'ok';
        },
        { queueName: q },
      );
      const doomed = outbound(0);
      await producer.enqueue(doomed);
      await waitFor(async () => (await backend.counts(q)).failed === 1, 'the job to fail for good');
      // Later jobs come and go; the failed one stays.
      for (let i = 1; i <= 3; i++) await producer.enqueue(outbound(i));
      await waitFor(async () => (await backend.counts(q)).completed === 3, 'the later jobs to complete');
      await producer.enqueue(doomed);
      await sleep(300);
      expect(calls).toBe(2 + 3);

      const job = await producer.queue.getJob(doomed.uuid);
      expect(await job?.getState()).toBe('failed');
      expect(job?.failedReason).toBe('relay refused: rate limited');
      expect(job?.attemptsMade).toBe(2);
      expect(job?.data).toEqual(doomed);
      expect((await producer.queue.getFailed()).map((j) => j.id)).toEqual([doomed.uuid]);
      expect(await backend.counts(q)).toMatchObject({ failed: 1, completed: 3, waiting: 0, delayed: 0, active: 0 });
    });

    it('a malformed job fails at once without retries, and is kept with its data', async () => {
      const cfg = config({ attempts: 5, backoffMs: 50 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      let calls = 0;
      startJobWorker(backend, 'outbound', cfg, async () => void calls++, { queueName: q });
      const bad = { uuid: randomUUID(), platform: 'test', roomId: 'room-a', seq: 'first' };
      // Straight onto the queue, as a buggy or older producer might.
      await backend.queue(q, { defaultJobOptions: { attempts: 5 } }).add('outbound', bad, { jobId: bad.uuid });
      await waitFor(async () => (await backend.counts(q)).failed === 1, 'the malformed job to fail');
      const job = await producer.queue.getJob(bad.uuid);
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/malformed outbound job .*seq/);
      expect(job?.data).toEqual(bad);
      expect(calls).toBe(0);
    });

    it('counts jobs per state', async () => {
      const cfg = config({ attempts: 1 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const [ok, bad, held] = [outbound(0), outbound(1), outbound(2)];
      for (const p of [ok, bad, held]) await producer.enqueue(p);
      await producer.queue.add('outbound', outbound(3), { delay: 60_000 });
      expect(await backend.counts(q)).toEqual({ waiting: 3, active: 0, delayed: 1, completed: 0, failed: 0 });

      let letGo!: () => void;
      const gate = new Promise<void>((resolve) => (letGo = resolve));
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          if (p.uuid === bad.uuid) throw new UnrecoverableError('no');
          if (p.uuid === held.uuid) await gate;
        },
        { queueName: q, settings: { concurrency: 1 } },
      );
      await waitFor(async () => (await backend.counts(q)).active === 1 && (await backend.counts(q)).waiting === 0, 'the last job to be active');
      expect(await backend.counts(q)).toEqual({ waiting: 0, active: 1, delayed: 1, completed: 1, failed: 1 });
      letGo();
      await waitFor(async () => (await backend.counts(q)).completed === 2, 'the held job to complete');
      expect(await backend.counts(q)).toEqual({ waiting: 0, active: 0, delayed: 1, completed: 2, failed: 1 });
    });

    it('keeps the jobs of each room in order with two workers', async () => {
      const cfg = config({ attempts: 1, concurrency: 4 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const next = new Map<string, number>(); // stands in for the shared store
      const done = new Map<string, number[]>();
      const byWorker = [0, 0];
      const sequencer = new KeyedSequencer<OutboundJob>({
        isTurn: async (job) => (next.get(job.data.roomId) ?? 0) === job.data.seq,
        holdMs: cfg.orderHoldMs,
        retryMs: cfg.orderRetryMs,
      });
      for (const w of [0, 1]) {
        startJobWorker(
          backend,
          'outbound',
          cfg,
          async (p) => {
            byWorker[w]!++;
            await sleep(Math.random() * 3);
            done.set(p.roomId, [...(done.get(p.roomId) ?? []), p.seq]);
            next.set(p.roomId, p.seq + 1);
          },
          { queueName: q, sequencer },
        );
      }
      const jobs: OutboundJob[] = [];
      for (let i = 0; i < 200; i++) {
        jobs.push(outbound(i, 'room-a'));
        if (i % 10 === 0) jobs.push(outbound(i / 10, 'room-b'));
      }
      await producer.queue.addBulk(jobs.map((p) => ({ name: 'outbound', data: p, opts: { jobId: p.uuid } })));
      await waitFor(async () => (await backend.counts(q)).completed === jobs.length, 'all jobs to complete', 45_000);
      expect(done.get('room-a')).toEqual(Array.from({ length: 200 }, (_, i) => i));
      expect(done.get('room-b')).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect((await backend.counts(q)).failed).toBe(0);
      expect(byWorker.every((n) => n > 0)).toBe(true); // both workers took part
    }, 60_000);

    it('holds back the rest of a room while its first message retries, without using their attempts', async () => {
      // Every job has 2 attempts; the followers are deferred many times while seq 0 backs off.
      const cfg = config({ attempts: 2, backoffMs: 400, concurrency: 4 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const next = new Map<string, number>();
      const done: number[] = [];
      let firstTries = 0;
      const sequencer = new KeyedSequencer<OutboundJob>({
        isTurn: async (job) => (next.get(job.data.roomId) ?? 0) === job.data.seq,
        holdMs: 20,
        retryMs: 20,
        maxRetryMs: 100,
      });
      for (let w = 0; w < 2; w++) {
        startJobWorker(
          backend,
          'outbound',
          cfg,
          async (p) => {
            if (p.seq === 0 && ++firstTries === 1) throw new Error('transport down');
            done.push(p.seq);
            next.set(p.roomId, p.seq + 1);
          },
          { queueName: q, sequencer },
        );
      }
      const jobs = Array.from({ length: 12 }, (_, i) => outbound(i));
      for (const p of jobs) await producer.enqueue(p);
      await waitFor(async () => (await backend.counts(q)).completed === jobs.length, 'all jobs to complete', 30_000);
      expect(done).toEqual(jobs.map((p) => p.seq));
      expect(firstTries).toBe(2);
      expect(sequencer.deferrals).toBeGreaterThan(jobs.length); // followers went round the delayed set, several times
      // A job's attempts are counted when it finishes: one each for the followers, however often they were deferred.
      const followers = await Promise.all(jobs.slice(1).map((p) => producer.queue.getJob(p.uuid)));
      expect(followers.map((j) => j?.attemptsMade)).toEqual(followers.map(() => 1));
      expect(Math.max(...followers.map((j) => j?.attemptsStarted ?? 0))).toBeGreaterThan(2);
      expect((await producer.queue.getJob(jobs[0]!.uuid))?.attemptsMade).toBe(2);
      expect((await backend.counts(q)).failed).toBe(0);
    });

    it('a held job goes on as soon as its predecessor in this process finishes, not at its next poll', async () => {
      const cfg = config({ attempts: 1, concurrency: 2 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      let next = 0;
      let letFirstGo!: () => void;
      const firstHeld = new Promise<void>((r) => (letFirstGo = r));
      const asked: number[] = [];
      // Polls once a minute: only wake() can make the follower go within the test's bounds.
      const sequencer = new KeyedSequencer<OutboundJob>({
        isTurn: async (job) => {
          asked.push(job.data.seq);
          if (job.data.seq === 1 && asked.filter((s) => s === 1).length === 1) letFirstGo();
          return next === job.data.seq;
        },
        holdMs: 120_000,
        pollMs: 60_000,
      });
      const done: number[] = [];
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          if (p.seq === 0) await firstHeld; // the follower is taken and held first
          done.push(p.seq);
          next = p.seq + 1;
        },
        { queueName: q, sequencer },
      );
      await producer.queue.addBulk([outbound(0), outbound(1)].map((p) => ({ name: 'outbound', data: p, opts: { jobId: p.uuid } })));
      await waitFor(async () => (await backend.counts(q)).completed === 2, 'both jobs to complete', 20_000);
      expect(done).toEqual([0, 1]);
      expect(asked.filter((s) => s === 1)).toHaveLength(2); // once when taken, once when woken
      expect(sequencer.deferrals).toBe(0);
    });

    it('a job deferred just as its turn came looks again once delayed, and goes on without waiting out its delay', async () => {
      const cfg = config({ attempts: 1, concurrency: 2 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const jobs = [outbound(0), outbound(1)];
      let next = 0;
      let firstDone!: () => void;
      const firstFinished = new Promise<void>((r) => (firstDone = r));
      let letFirstGo!: () => void;
      const firstHeld = new Promise<void>((r) => (letFirstGo = r));
      let followerAsks = 0;
      const sequencer = new KeyedSequencer<OutboundJob>({
        isTurn: async (job) => {
          if (job.data.seq === 0) return true;
          if (++followerAsks > 1) return next === 1;
          // The race: the follower reads "not yet", then its predecessor finishes and promotes it while it is still active.
          letFirstGo();
          await firstFinished;
          return false;
        },
        holdMs: 0,
        retryMs: 60_000,
        maxRetryMs: 60_000,
      });
      const done: number[] = [];
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          if (p.seq === 0) await firstHeld;
          done.push(p.seq);
          next = p.seq + 1;
          if (p.seq === 0) {
            await promote(producer.queue, jobs[1]!.uuid); // finds it active: leaves it
            firstDone();
          }
        },
        { queueName: q, sequencer },
      );
      await producer.queue.addBulk(jobs.map((p) => ({ name: 'outbound', data: p, opts: { jobId: p.uuid } })));
      await waitFor(async () => (await backend.counts(q)).completed === 2, 'both jobs to complete', 20_000);
      expect(done).toEqual([0, 1]);
      expect(sequencer.deferrals).toBe(1);
    });

    it('a deferred job is promoted when its predecessor finishes, not left to its next look', async () => {
      const cfg = config({ attempts: 1, concurrency: 2 });
      const q = queueName();
      const producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const jobs = [outbound(0), outbound(1)];
      let next = 0;
      let followerAsks = 0;
      // No hold, and a look a minute later: only promote() can make the follower go within the test's bounds.
      const sequencer = new KeyedSequencer<OutboundJob>({
        isTurn: async (job) => {
          if (job.data.seq === 1) followerAsks++;
          return next === job.data.seq;
        },
        holdMs: 0,
        retryMs: 60_000,
        maxRetryMs: 60_000,
      });
      const done: number[] = [];
      startJobWorker(
        backend,
        'outbound',
        cfg,
        async (p) => {
          // The follower asked when taken and once more in the delayed set: it now waits there.
          if (p.seq === 0) await waitFor(async () => followerAsks === 2 && (await backend.counts(q)).delayed === 1, 'the follower to be deferred');
          done.push(p.seq);
          next = p.seq + 1;
          if (p.seq === 0) await promote(producer.queue, jobs[1]!.uuid);
        },
        { queueName: q, sequencer },
      );
      await producer.queue.addBulk(jobs.map((p) => ({ name: 'outbound', data: p, opts: { jobId: p.uuid } })));
      await waitFor(async () => (await backend.counts(q)).completed === 2, 'both jobs to complete', 20_000);
      expect(done).toEqual([0, 1]);
      expect(sequencer.deferrals).toBe(1);
      await promote(producer.queue, jobs[1]!.uuid); // completed: refused, quietly
      await promote(producer.queue, 'no-such-job');
      expect(await backend.counts(q)).toMatchObject({ completed: 2, delayed: 0, waiting: 0 });
    });

    it('a job whose worker process is killed mid-job is processed again by another worker', async () => {
      const cfg = config();
      const q = queueName();
      const p = outbound(0);
      await jobProducer(backend, 'outbound', cfg, { queueName: q }).enqueue(p);
      // The embedded backend is one process at a time: hand it over to the child.
      await backend.close();
      const timing = { lockDurationMs: 1000, stalledIntervalMs: 300 };
      const child = startQueueChild({ mode: 'hang', redisUrl: h.redisUrl, dataDir: h.dataDir, queueName: q, ...timing });
      children.push(child);
      expect(await child.waitForLine(['STARTED', 'ERROR'])).toBe(`STARTED ${p.uuid}`);
      await child.kill();

      backend = await open();
      const seen: number[] = [];
      startJobWorker(backend, 'outbound', cfg, async (data) => void seen.push(data.seq), {
        queueName: q,
        settings: { lockDuration: timing.lockDurationMs, stalledInterval: timing.stalledIntervalMs },
      });
      await waitFor(async () => (await backend.counts(q)).completed === 1, 'the stalled job to be processed again', 20_000);
      const job = await backend.queue(q).getJob(p.uuid);
      expect(seen).toEqual([0]);
      expect(job?.stalledCounter).toBe(1);
      expect(await backend.counts(q)).toMatchObject({ active: 0, failed: 0, completed: 1 });
    }, 60_000);

    it('keeps waiting and delayed jobs across close and reopen', async () => {
      const cfg = config();
      const q = queueName();
      let producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      const waiting = [outbound(0), outbound(1), outbound(2)];
      for (const p of waiting) await producer.enqueue(p);
      const later = outbound(3);
      await producer.queue.add('outbound', later, { jobId: later.uuid, delay: 1500 });
      await backend.close();

      backend = await open();
      producer = jobProducer(backend, 'outbound', cfg, { queueName: q });
      expect(await backend.counts(q)).toEqual({ waiting: 3, active: 0, delayed: 1, completed: 0, failed: 0 });
      expect((await producer.queue.getJob(later.uuid))?.data).toEqual(later);
      const seen: string[] = [];
      startJobWorker(backend, 'outbound', cfg, async (p) => void seen.push(p.uuid), { queueName: q });
      await waitFor(async () => (await backend.counts(q)).completed === 4, 'all four jobs to complete', 20_000);
      expect(seen.slice(0, 3).sort()).toEqual(waiting.map((p) => p.uuid).sort());
      expect(seen[3]).toBe(later.uuid);
    });
  });
}
