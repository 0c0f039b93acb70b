/** The queue contract on a real Redis (REDIS_URL, or the local one on :6379). */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runQueueContract } from './contract.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

runQueueContract('redis', () => ({ redisUrl: REDIS_URL, dataDir: mkdtempSync(join(tmpdir(), 'rc-queue-redis-')) }));
