/**
 * send, listen and chat as real processes against a real Mosquitto and an
 * in-process Nostr relay (free ports):
 * - `send --wait-ack` prints and counts the acks of the message it sent, not
 *   those of earlier messages a relay replays;
 * - `listen --count 1` with three messages waiting prints exactly one;
 * - one identity in two processes (`listen` and `chat`/`send` as the same
 *   person): chat and send hold transient MQTT sessions, so the listener
 *   keeps its persistent one and everybody receives.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startMosquitto } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { startRelay } from '../support/nostr-relay.js';
import type { TestRelay } from '../support/nostr-relay.js';
import { waitFor } from '../support/wait.js';
import { roomcast, start, stopAll } from './cli-process.js';

interface Person {
  readonly file: string;
  readonly magnet: string;
  readonly xOnly: string;
}

let broker: TestBroker;
let relay: TestRelay;
let cwd: string;
let alice: Person;
let bob: Person;

async function person(name: string): Promise<Person> {
  expect((await roomcast(['identity', 'new', '--out', `${name}.json`], cwd)).code).toBe(0);
  const info = JSON.parse((await roomcast(['identity', 'show', `${name}.json`, '--json'], cwd)).stdout) as Record<string, string>;
  return { file: `${name}.json`, magnet: info.magnetLink!, xOnly: info.nostrPublicKey! };
}

const json = (lines: string[]) => lines.map((l) => JSON.parse(l) as Record<string, unknown>);

beforeAll(async () => {
  [broker, relay] = await Promise.all([startMosquitto(), startRelay()]);
  cwd = await mkdtemp(join(tmpdir(), 'rc-cli-msg-'));
  [alice, bob] = await Promise.all([person('alice'), person('bob')]);
});
afterEach(async () => {
  await stopAll();
});
afterAll(async () => {
  await Promise.all([broker?.stop(), relay?.stop()]);
});

describe('send --wait-ack', () => {
  it("prints and waits for this message's acks, not an earlier message's that a relay replays", async () => {
    const net = ['--mqtt', broker.url, '--nostr', relay.url];
    const listener = start(['listen', '--identity', bob.file, '--data-dir', 'bob-acks', '--json', ...net], cwd);
    await listener.until((o) => o.includes('"event":"ready"'), 'the ready line');

    // An earlier message: alice exits at once, before its acks come back.
    const first = await roomcast(['send', '--identity', alice.file, '--data-dir', 'alice-acks', '--json', ...net, '--to', bob.magnet, 'earlier'], cwd);
    expect(first.code, first.stderr).toBe(0);
    const firstUuid = json(first.stdout.trim().split('\n'))[0]!.uuid;
    await listener.until((o) => o.includes('"content":"earlier"'), 'bob to get the earlier message');
    // Bob's Nostr ack of it waits on the relay (gift-wrapped to alice).
    await waitFor(() => [...relay.repository.events.values()].some((e) => e.tags.some((t) => t[0] === 'p' && t[1] === alice.xOnly)), 'the ack on the relay');

    const r = await roomcast(['send', '--identity', alice.file, '--data-dir', 'alice-acks', '--json', '--wait-ack', '20', ...net, '--to', bob.magnet, 'this one'], cwd);
    expect(r.code, r.stderr).toBe(0);
    const [delivery, ...rest] = json(r.stdout.trim().split('\n'));
    expect(delivery).toMatchObject({ event: 'delivery', ok: true });
    expect(delivery!.uuid).not.toBe(firstUuid);
    const acks = rest.filter((l) => l.event === 'ack');
    expect(acks.map((a) => a.uuid)).toEqual(acks.map(() => delivery!.uuid));
    // It waited for this message's ack on both networks (an old ack did not end the wait).
    expect(new Set(acks.map((a) => a.via))).toEqual(new Set(['mqtt', 'nostr']));
  });
});

describe('listen --count', () => {
  it('prints exactly N messages when more are waiting', async () => {
    // Bob's first listen creates his persistent session; then three messages wait in it.
    const first = start(['listen', '--identity', bob.file, '--data-dir', 'bob-count', '--json', '--mqtt', broker.url], cwd);
    await first.until((o) => o.includes('"event":"ready"'), 'the ready line');
    expect(await first.stop()).toBe(0);
    for (const text of ['m1', 'm2', 'm3']) {
      const r = await roomcast(['send', '--identity', alice.file, '--data-dir', 'alice-count', '--mqtt', broker.url, '--to', bob.magnet, text], cwd);
      expect(r.code, r.stderr).toBe(0);
    }
    const r = await roomcast(['listen', '--identity', bob.file, '--data-dir', 'bob-count', '--json', '--count', '1', '--mqtt', broker.url], cwd);
    expect(r.code, r.stderr).toBe(0);
    const lines = json(r.stdout.trim().split('\n'));
    expect(lines.filter((l) => l.event === 'ready')).toHaveLength(1);
    expect(lines.filter((l) => l.event === 'message').map((l) => l.content)).toEqual(['m1']);
    // Whatever else arrived in the burst was acknowledged: stderr says so rather than staying silent.
    expect(r.stderr).toMatch(/^(|roomcast: [12] more messages? arrived after the first 1 and (was|were) acknowledged but not printed \(--count 1\)\n)$/);
  });
});

describe('one identity in two processes', () => {
  it('listen and chat (and send) as the same person all work, and the listener is never knocked off', async () => {
    const mqtt = ['--mqtt', broker.url];
    const bobListens = start(['listen', '--identity', bob.file, '--data-dir', 'bob-listen', '--json', ...mqtt], cwd);
    const aliceListens = start(['listen', '--identity', alice.file, '--data-dir', 'alice-listen', '--json', ...mqtt], cwd);
    await bobListens.until((o) => o.includes('"event":"ready"'), "bob's ready line");
    await aliceListens.until((o) => o.includes('"event":"ready"'), "alice's ready line");

    const bobChats = start(['chat', '--identity', bob.file, '--data-dir', 'bob-chat', '--to', alice.magnet, '--name', 'Alice', ...mqtt], cwd);
    await bobChats.until((o) => o.includes('/quit or Ctrl-D to leave'), "bob's chat banner");

    const sent = await roomcast(['send', '--identity', alice.file, '--data-dir', 'alice-send', ...mqtt, '--to', bob.magnet, 'to both of you'], cwd);
    expect(sent.code, sent.stderr).toBe(0);
    await bobListens.until((o) => o.includes('"content":"to both of you"'), 'the listener to receive');
    await bobChats.until((o) => /\] Alice: to both of you\n/.test(o), 'the chat to receive');

    bobChats.child.stdin!.write('from the chat\n');
    await aliceListens.until((o) => o.includes('"content":"from the chat"'), 'alice to get the chat line');
    const bobSends = await roomcast(['send', '--identity', bob.file, '--data-dir', 'bob-send', ...mqtt, '--to', alice.magnet, 'from send'], cwd);
    expect(bobSends.code, bobSends.stderr).toBe(0);
    await aliceListens.until((o) => o.includes('"content":"from send"'), 'alice to get the send');

    bobChats.child.stdin!.write('/quit\n');
    expect(await bobChats.exited, bobChats.stderr()).toBe(0);
    // The listener kept its session the whole time: no disconnect, nothing printed to stderr at all.
    expect(bobListens.stderr()).toBe('');
    expect(await bobListens.stop()).toBe(0);
  });
});
