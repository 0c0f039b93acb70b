/**
 * `roomcast start` with ROOMCAST_DISCORD_TOKEN (and the API's address) and
 * nothing else about Discord bridges its channels: the real binary, the fake
 * Discord, the embedded queue (no Redis configured), a local broker and relay.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeDiscord } from '../fakes/discord/index.js';
import type { FakeDiscord } from '../fakes/discord/index.js';
import { DiscordPerson } from '../support/discord-person.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { start, stopAll } from './cli-process.js';

let discord: FakeDiscord;
let net: TestNetwork;

beforeAll(async () => {
  [discord, net] = await Promise.all([startFakeDiscord(), startNetwork(1, 1)]);
});

afterAll(async () => {
  await stopAll();
  await discord?.close();
  await net?.stop();
});

describe('roomcast start with Discord', () => {
  it('bridges Discord channels with ROOMCAST_DISCORD_TOKEN set, answers in a channel, and never logs the token', async () => {
    const acc = discord.bootstrap();
    const alice = new DiscordPerson(acc.api_url, acc.alice);
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-discord-'));
    const s = start(['start', '--data-dir', dataDir, '--mqtt', net.brokers[0]!.url, '--nostr', net.relays[0]!.url], dataDir, {
      ROOMCAST_DISCORD_API_URL: acc.api_url,
      ROOMCAST_DISCORD_TOKEN: acc.bot.token,
      ROOMCAST_LOG_LEVEL: 'debug',
    });
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    expect(s.stdout()).toContain('Rooms bridged on: discord');

    await alice.say(acc.channel_id, '!roomcast status');
    const status = await alice.waitForMessage(acc.channel_id, (m) => m.author.id === acc.bot.id && m.content.includes('Platform discord'), 'the status', 20_000);
    expect(status.content).toMatch(new RegExp(`^Platform discord: ✓ connected .* — smokebot \\(${acc.bot.id}\\) on http://127\\.0\\.0\\.1:\\d+/api\\nTransports:`));

    expect(await s.stop(), s.stderr()).toBe(0);
    expect(s.stderr()).toContain('Discord: connected');
    expect(s.stderr()).not.toContain(acc.bot.token);
  });
});
