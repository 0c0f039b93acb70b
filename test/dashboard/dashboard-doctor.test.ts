/**
 * `roomcast doctor` with the real binary: a running broker is up, a stopped
 * one is down; the run fails (exit 1) only when something needed is broken —
 * no endpoint of an enabled network, refused Matrix credentials, an HTTP
 * port taken by another program — and changes nothing on disk.
 */
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../fakes/discord/index.js';
import { startFakeHomeserver } from '../fakes/matrix/index.js';
import type { FakeHomeserver } from '../fakes/matrix/index.js';
import { roomcast } from '../cli/cli-process.js';
import { MatrixPerson } from '../support/matrix-person.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { freePort } from '../support/nostr-relay.js';

let net: TestNetwork;
let hs: FakeHomeserver;
let stoppedBroker: string;

beforeAll(async () => {
  [net, hs] = await Promise.all([startNetwork(1, 1), startFakeHomeserver()]);
  stoppedBroker = `mqtt://127.0.0.1:${await freePort()}`;
});

afterAll(async () => {
  await hs?.close();
  await net?.stop();
});

const rowOf = (stdout: string, check: string) => stdout.split('\n').find((l) => l.slice(2).startsWith(check));

describe('roomcast doctor', () => {
  it('shows a running broker up and a stopped one down; the others carry the messages, so it passes (exit 0), writing nothing', async () => {
    const dataDir = join(await mkdtemp(join(tmpdir(), 'rc-doctor-')), 'data');
    const r = await roomcast(['doctor', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url, '--mqtt', stoppedBroker, '--nostr', net.relays[0]!.url], tmpdir());
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(rowOf(r.stdout, `mqtt ${net.brokers[0]!.url}`)).toMatch(/^✓ .* up, \d+ ms$/);
    expect(rowOf(r.stdout, `mqtt ${stoppedBroker}`)).toMatch(/^! .* down: connect ECONNREFUSED/);
    expect(rowOf(r.stdout, `nostr ${net.relays[0]!.url}`)).toMatch(/^✓ .* up, \d+ ms$/);
    expect(rowOf(r.stdout, 'store')).toMatch(/not created yet/);
    expect(r.stdout).toMatch(/Everything roomcast needs answers\.\n$/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it('fails (exit 1) when no endpoint of a network answers, naming it', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-doctor-'));
    const r = await roomcast(['doctor', '--data-dir', dataDir, '--mqtt', stoppedBroker], tmpdir());
    expect(r.code).toBe(1);
    expect(rowOf(r.stdout, `mqtt ${stoppedBroker}`)).toMatch(/^✗ /);
    expect(r.stdout).toContain(`1 needed check failed: mqtt ${stoppedBroker}.`);
  });

  it('checks Matrix credentials: signed in, or refused (exit 1) without showing the token', async () => {
    const bot = await MatrixPerson.register(hs.url, 'bot');
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-doctor-'));
    const args = ['doctor', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url];
    const good = await roomcast(args, tmpdir(), { ROOMCAST_MATRIX_HOMESERVER_URL: hs.url, ROOMCAST_MATRIX_ACCESS_TOKEN: bot.accessToken });
    expect(good.code, good.stdout).toBe(0);
    expect(rowOf(good.stdout, 'matrix')).toMatch(new RegExp(`^✓ matrix +${hs.url.replace(/[.]/g, '\\.')}: signed in as ${bot.userId.replace(/[.]/g, '\\.')}, \\d+ ms$`));
    const bad = await roomcast(args, tmpdir(), { ROOMCAST_MATRIX_HOMESERVER_URL: hs.url, ROOMCAST_MATRIX_ACCESS_TOKEN: 'syt_not_a_real_token' });
    expect(bad.code).toBe(1);
    expect(rowOf(bad.stdout, 'matrix')).toMatch(/^✗ matrix .*the access token was refused \(M_UNKNOWN_TOKEN\)$/);
    expect(bad.stdout + bad.stderr).not.toContain('syt_not_a_real_token');
  });

  it('checks the Discord bot token with GET /users/@me: signed in, or refused (exit 1) without showing the token', async () => {
    const discord = await startFakeDiscord();
    try {
      const acc = discord.bootstrap();
      const dataDir = await mkdtemp(join(tmpdir(), 'rc-doctor-'));
      const args = ['doctor', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url];
      const good = await roomcast(args, tmpdir(), { ROOMCAST_DISCORD_API_URL: acc.api_url, ROOMCAST_DISCORD_TOKEN: acc.bot.token });
      expect(good.code, good.stdout).toBe(0);
      expect(rowOf(good.stdout, 'discord')).toMatch(new RegExp(`^✓ discord +${acc.api_url.replace(/[.]/g, '\\.')}: signed in as smokebot \\(${acc.bot.id}\\), \\d+ ms$`));
      const bad = await roomcast(args, tmpdir(), { ROOMCAST_DISCORD_API_URL: acc.api_url, ROOMCAST_DISCORD_TOKEN: 'not.a.real-token' });
      expect(bad.code).toBe(1);
      expect(rowOf(bad.stdout, 'discord')).toMatch(/^✗ discord .*the bot token was refused/);
      expect(bad.stdout + bad.stderr).not.toContain('not.a.real-token');
      expect(good.stdout + good.stderr).not.toContain(acc.bot.token);
    } finally {
      await discord.close();
    }
  });

  it('fails (exit 1) when another program holds the HTTP port', async () => {
    const port = await freePort();
    // Accepts and never answers, as a program that is not roomcast might.
    const sockets = new Set<import('node:net').Socket>();
    const squatter: Server = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const dataDir = await mkdtemp(join(tmpdir(), 'rc-doctor-'));
      const r = await roomcast(['doctor', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url], tmpdir(), { ROOMCAST_HTTP_PORT: String(port) });
      expect(r.code).toBe(1);
      expect(rowOf(r.stdout, 'http')).toMatch(new RegExp(`^✗ http +127\\.0\\.0\\.1:${port}: taken by another program \\(set http\\.port / ROOMCAST_HTTP_PORT\\)$`));
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
