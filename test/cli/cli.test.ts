/**
 * The CLI as a person runs it: real processes, real exit codes, real output.
 */
import { mkdtemp, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { freePort } from '../support/nostr-relay.js';
import { roomcast, start, stopAll } from './cli-process.js';

let broker: TestBroker;
let cwd: string;
beforeAll(async () => {
  broker = await startMosquitto();
  cwd = await mkdtemp(join(tmpdir(), 'rc-cli-'));
  expect((await roomcast(['identity', 'new', '--out', 'alice.json'], cwd)).code).toBe(0);
  expect((await roomcast(['identity', 'new', '--out', 'bob.json'], cwd)).code).toBe(0);
});
afterAll(async () => {
  await stopAll();
  await broker?.stop();
});

describe('roomcast CLI', () => {
  it('identity new writes a 0600 key file and refuses to overwrite it; show prints the public parts', async () => {
    expect((await stat(join(cwd, 'alice.json'))).mode & 0o777).toBe(0o600);
    const again = await roomcast(['identity', 'new', '--out', 'alice.json'], cwd);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already exists/);
    const shown = await roomcast(['identity', 'show', 'alice.json', '--json'], cwd);
    const info = JSON.parse(shown.stdout) as Record<string, string>;
    expect(info.magnetLink).toMatch(/^magnet:\?xt=urn%3Aidentity%3Av1&secp256k1pub=04[0-9a-f]{128}&ed25519pub=[0-9a-f]{64}&eth=0x[0-9a-fA-F]{40}&caps=/);
    expect(info.npub).toMatch(/^npub1/);
    expect(shown.stdout).not.toMatch(/PrivateKey/);
    expect((await roomcast(['identity', 'show', 'alice.json', '--magnet'], cwd)).stdout.trim()).toBe(info.magnetLink);
  });

  it('send → listen --json --count: one JSON line per message, acked, exit 0', async () => {
    const bobMagnet = (await roomcast(['identity', 'show', 'bob.json', '--magnet'], cwd)).stdout.trim();
    const listening = start(['listen', '--identity', 'bob.json', '--data-dir', 'bob', '--json', '--count', '2', '--mqtt', broker.url], cwd);
    // The ready line comes once the listener's subscriptions (its persistent session) are in place.
    await listening.until((out) => out.includes('"event":"ready"'), 'the ready line');
    const sent = [];
    for (const text of ['one', 'two']) {
      const r = await roomcast(['send', '--identity', 'alice.json', '--data-dir', 'alice', '--mqtt', broker.url, '--to', bobMagnet, '--json', '--wait-ack', '10', text], cwd);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines[0]).toMatchObject({ event: 'delivery', ok: true });
      expect(lines.some((l) => l.event === 'ack' && l.via === 'mqtt')).toBe(true);
      sent.push(lines[0]!.uuid);
    }
    expect(await listening.exited, listening.stderr()).toBe(0);
    const [ready, ...got] = listening.lines().map((x) => JSON.parse(x) as Record<string, unknown>);
    expect(ready).toMatchObject({ event: 'ready', transports: { mqtt: { connected: 1, endpoints: 1 } } });
    expect(got.map((g) => g.content)).toEqual(['one', 'two']);
    expect(got.map((g) => g.uuid)).toEqual(sent);
    expect(got[0]).toMatchObject({ event: 'message', via: 'mqtt', verified: true });
  });

  it('send exits 1 and says why when no transport delivers', async () => {
    const bobMagnet = (await roomcast(['identity', 'show', 'bob.json', '--magnet'], cwd)).stdout.trim();
    const dead = await freePort();
    const r = await roomcast(['send', '--identity', 'alice.json', '--data-dir', 'alice', '--mqtt', `mqtt://127.0.0.1:${dead}`, '--to', bobMagnet, 'hello?'], cwd);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Delivery status: ✗ MQTT \(0\/1 brokers\) unreachable/);
  });

  it('rejects a bad magnet link naming the parameter, with exit 2', async () => {
    const r = await roomcast(['send', '--identity', 'alice.json', '--mqtt', broker.url, '--to', 'magnet:?xt=urn:identity:v1&secp256k1pub=04abc', 'hi'], cwd);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/invalid magnet link: secp256k1pub/);
  });

  it('rejects bad flags and a bad config file with exit 2 and a clear message', async () => {
    const count = await roomcast(['listen', '--identity', 'bob.json', '--count', 'many'], cwd);
    expect(count.code).toBe(2);
    expect(count.stderr).toMatch(/--count must be a positive whole number/);
    const missing = await roomcast(['send', '--identity', 'nope.json', '--to', 'x', 'hi'], cwd);
    expect(missing.code).toBe(2);
    const help = await roomcast(['--help'], cwd);
    expect(help.code).toBe(0);
    for (const cmd of ['identity', 'send', 'listen', 'chat', 'relay', 'start', 'worker']) expect(help.stdout).toContain(cmd);
    const worker = await roomcast(['worker', '--data-dir', 'w'], cwd);
    expect(worker.code).toBe(2);
    expect(worker.stderr).toMatch(/set REDIS_URL/);
  });
});
