/** The queue config section, the job payload schemas and the options every job gets. */
import { describe, expect, it } from 'vitest';
import { QueueConfigSchema } from '../../src/queue/config.js';
import { InboundJobSchema, jobDefaults, OutboundJobSchema, workerDefaults } from '../../src/queue/jobs.js';

describe('queue config', () => {
  it('has working defaults', () => {
    const cfg = QueueConfigSchema.parse({});
    expect(cfg).toEqual({
      attempts: 8,
      backoffMs: 1000,
      concurrency: 4,
      removeOnComplete: 1000,
      lockDurationMs: 30_000,
      stalledIntervalMs: 30_000,
      maxStalledCount: 1,
      orderHoldMs: 250,
      orderRetryMs: 50,
      sweepMs: 30_000,
    });
    expect(jobDefaults(cfg)).toEqual({
      attempts: 8,
      backoff: { type: 'exponential', delay: 1000 },
      removeOnComplete: { count: 1000 },
      removeOnFail: false,
    });
    expect(workerDefaults(cfg)).toEqual({ concurrency: 4, lockDuration: 30_000, stalledInterval: 30_000, maxStalledCount: 1 });
  });

  it('names the key that is wrong', () => {
    const bad = (input: unknown) => {
      const r = QueueConfigSchema.safeParse(input);
      return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(bad({ redisUrl: 'http://localhost:6379' })).toEqual(['redisUrl: has scheme "http:"; expected redis: or rediss:']);
    expect(bad({ redisUrl: 'localhost' })[0]).toMatch(/^redisUrl: is not a URL/);
    expect(bad({ attempts: 0 })[0]).toMatch(/^attempts:/);
    expect(bad({ removeOnFail: true })[0]).toMatch(/Unrecognized key/);
    expect(bad({ redisUrl: 'rediss://user:secret@redis.example:6380' })).toEqual([]);
  });
});

describe('job payloads', () => {
  const outbound = { uuid: 'u-1', platform: 'matrix', roomId: '!room:example.org', seq: 3 };
  const inbound = { uuid: 'u-2', platform: 'discord', roomId: '1234', owner: 'ab'.repeat(32) };

  it('accept what producers send', () => {
    expect(OutboundJobSchema.parse(outbound)).toEqual(outbound);
    expect(InboundJobSchema.parse(inbound)).toEqual(inbound);
  });

  it('reject missing, mistyped and unknown fields', () => {
    expect(OutboundJobSchema.safeParse({ ...outbound, seq: -1 }).success).toBe(false);
    expect(OutboundJobSchema.safeParse({ ...outbound, seq: '3' }).success).toBe(false);
    expect(OutboundJobSchema.safeParse({ ...outbound, uuid: '' }).success).toBe(false);
    expect(OutboundJobSchema.safeParse({ ...outbound, content: 'the text belongs in the store' }).success).toBe(false);
    const { owner: _owner, ...noOwner } = inbound;
    expect(InboundJobSchema.safeParse(noOwner).success).toBe(false);
  });
});
