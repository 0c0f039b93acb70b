/**
 * The dashboard from the command line: `roomcast start` (on the embedded
 * queue) says where it serves, bull-board lists both of its queues, and
 * `roomcast status` prints the running service's overview
 * through its HTTP API, with the token it kept in the data dir; a wrong
 * token and no service are one-line failures (exit 1).
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { roomcast, start, stopAll } from '../cli/cli-process.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { freePort } from '../support/nostr-relay.js';

let net: TestNetwork;

beforeAll(async () => {
  net = await startNetwork(1, 1);
});

afterAll(async () => {
  await stopAll();
  await net?.stop();
});

describe('roomcast status', () => {
  it("prints the running service's overview from its HTTP API", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-status-'));
    const s = start(['start', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url, '--nostr', net.relays[0]!.url], dataDir);
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    const url = /Dashboard: (http:\/\/127\.0\.0\.1:\d+)\//.exec(s.stdout())![1]!;
    expect(s.stdout()).toMatch(/Access token \(shown once; kept in .*http-token\): [\w-]{32}/);

    const r = await roomcast(['status', '--url', url, '--data-dir', dataDir], dataDir);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('Platforms:\n  none configured\nRooms (0 bridged):\nNetworks:\n');
    expect(r.stdout).toMatch(/✓ mqtt mqtt:\/\/127\.0\.0\.1:\d+ — up since/);
    expect(r.stdout).toMatch(/Queues:\n  outbound: waiting 0 · active 0 · delayed 0 · failed 0 · completed 0\n  inbound: waiting 0/);
    const json = await roomcast(['status', '--url', url, '--data-dir', dataDir, '--json'], dataDir);
    expect(Object.keys(JSON.parse(json.stdout) as object)).toEqual(['generatedAt', 'rooms', 'platforms', 'transports', 'queues', 'recent', 'charts']);

    // bull-board over the embedded queue (no REDIS_URL here): both queues listed.
    const token = /Access token \(shown once; kept in .*http-token\): ([\w-]+)/.exec(s.stdout())![1]!;
    const board = (await (await fetch(`${url}/admin/queues/api/queues?activeQueue=outbound&status=latest&page=1`, { headers: { authorization: `Bearer ${token}` } })).json()) as { queues: Array<{ name: string }> };
    expect(board.queues.map((q) => q.name).sort()).toEqual(['inbound', 'outbound']);

    const refused = await roomcast(['status', '--url', url], dataDir, { ROOMCAST_HTTP_TOKEN: 'not-the-token-0123456789' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe(`roomcast: the service at ${url} refused the access token\n`);
    expect(await s.stop()).toBe(0);
  });

  it('says so when no service answers (exit 1)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-status-none-'));
    const url = `http://127.0.0.1:${await freePort()}`;
    const r = await roomcast(['status', '--url', url], dataDir, { ROOMCAST_HTTP_TOKEN: 'any-token-0123456789abc' });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`roomcast: no roomcast service answers at ${url} (is \`roomcast start\` running? --url names another)\n`);
  });
});
