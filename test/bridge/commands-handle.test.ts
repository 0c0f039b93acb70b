import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clampReply, handleCommand, parseCommand } from '../../src/bridge/commands/index.js';
import type { BridgeStatus, Command, CommandContext } from '../../src/bridge/commands/index.js';
import { encodeMagnet, generateIdentity, npubOf } from '../../src/identity/index.js';
import type { Identity } from '../../src/identity/index.js';
import { platformId } from '../../src/platforms/platform.js';
import type { SenderLevel } from '../../src/platforms/platform.js';
import { openStore } from '../../src/store/index.js';
import type { Store } from '../../src/store/index.js';
import type { EndpointResult, SendReport } from '../../src/transports/transport.js';

const T0 = 1_700_000_000_000;
let clock = T0;
let store: Store;
let room: Identity;
let status: () => Promise<BridgeStatus>;

beforeEach(async () => {
  clock = T0;
  store = await openStore({ url: ':memory:', now: () => clock });
  room = generateIdentity();
  status = async () => ({ transports: [], queues: {} });
});
afterEach(async () => {
  await store.close();
});

function ctx(level: SenderLevel = 'moderator', extra: Partial<CommandContext> = {}): CommandContext {
  return {
    prefix: '!roomcast',
    room: { platform: platformId('memory'), roomId: '!room:example.org' },
    sender: { level, displayName: level === 'moderator' ? 'Mo' : 'Mel' },
    owner: { xOnly: room.xOnly, magnetLink: encodeMagnet(room), ethAddress: room.ethAddress, npub: npubOf(room) },
    store,
    status: () => status(),
    now: () => clock,
    ...extra,
  };
}

/** Parses and runs one line as a person would type it. */
async function run(text: string, level: SenderLevel = 'moderator', extra: Partial<CommandContext> = {}): Promise<string> {
  const parsed = parseCommand(text, '!roomcast');
  if (!parsed?.ok) throw new Error(`not a valid command: ${text}: ${JSON.stringify(parsed)}`);
  return handleCommand(parsed.command, ctx(level, extra));
}

const ok = (endpoint: string, latencyMs: number): EndpointResult => ({ endpoint, ok: true, latencyMs });
const failed = (endpoint: string, reason: 'timeout' | 'unreachable', error: string): EndpointResult => ({ endpoint, ok: false, latencyMs: 5000, reason, error });
function report(transport: SendReport['transport'], endpoints: EndpointResult[]): SendReport {
  const good = endpoints.filter((e) => e.ok);
  return good.length > 0
    ? { transport, ok: true, endpoints, latencyMs: Math.min(...good.map((e) => e.latencyMs)) }
    : { transport, ok: false, endpoints, latencyMs: 5000, reason: endpoints[0]?.reason ?? 'unreachable', error: 'failed' };
}

describe('bridge commands: help and whoami', () => {
  it('help lists every command with what it does and which need a moderator', async () => {
    const text = await run('!roomcast help', 'member');
    for (const usage of ['help', 'whoami', 'contact add <name> <magnet>', 'contact remove <name>', 'contacts', 'status', 'receipts [n]', 'prefs <name>']) {
      expect(text).toContain(`!roomcast ${usage} — `);
    }
    expect(text).toMatch(/contact add <name> <magnet> — .*\(moderators only\)/);
    expect(text).toMatch(/contact remove <name> — .*\(moderators only\)/);
    expect(text.match(/moderators only/g)).toHaveLength(2);
    expect(text).toContain("Contact names: 1-32 letters, digits, '-', '_' or '.'");
    const withPrefix = await handleCommand({ kind: 'help' }, ctx('member', { prefix: '!rc' }));
    expect(withPrefix).toContain('!rc contacts — ');
  });

  it("whoami gives the room's magnet link, npub and Ethereum address", async () => {
    const text = await run('!roomcast whoami', 'member');
    expect(text).toContain(encodeMagnet(room));
    expect(text).toContain(npubOf(room));
    expect(text).toContain(room.ethAddress);
  });
});

describe('bridge commands: contacts', () => {
  it('a moderator adds contacts; everyone can list them', async () => {
    const alice = generateIdentity();
    const bob = generateIdentity();
    expect(await run('!roomcast contacts', 'member')).toBe(
      'This room has no contacts yet. A moderator can add one: !roomcast contact add <name> <magnet>',
    );
    expect(await run(`!roomcast contact add alice ${encodeMagnet(alice)}`)).toBe(
      `Added contact alice (${npubOf(alice)}). Messages written in this room now go to alice too.`,
    );
    await run(`!roomcast contact add bob ${encodeMagnet(bob)}`);
    const stored = await store.findContactByName(room.xOnly, 'alice');
    expect(stored).toMatchObject({ owner: room.xOnly, name: 'alice', magnetLink: encodeMagnet(alice), xOnly: alice.xOnly, ethAddress: alice.ethAddress });
    expect(await run('!roomcast contacts', 'member')).toBe(`Contacts (2):\n• alice — ${npubOf(alice)}\n• bob — ${npubOf(bob)}`);
  });

  it('updating a contact says whether the identity changed', async () => {
    const alice = generateIdentity();
    await run(`!roomcast contact add alice ${encodeMagnet(alice)}`);
    expect(await run(`!roomcast contact add alice ${encodeMagnet(alice)}`)).toBe(`Updated the magnet link of alice (${npubOf(alice)}).`);
    const other = generateIdentity();
    expect(await run(`!roomcast contact add alice ${encodeMagnet(other)}`)).toBe(
      `alice now points to a different identity: ${npubOf(other)} (was ${npubOf(alice)}).`,
    );
    expect((await store.findContactByName(room.xOnly, 'alice'))?.xOnly).toBe(other.xOnly);
  });

  it('refuses a second name for the same identity, and the room itself as a contact', async () => {
    const alice = generateIdentity();
    await run(`!roomcast contact add alice ${encodeMagnet(alice)}`);
    expect(await run(`!roomcast contact add alice2 ${encodeMagnet(alice)}`)).toBe(
      'That identity is already a contact named "alice". Use that name, or remove it first: !roomcast contact remove alice',
    );
    expect(await run(`!roomcast contact add me ${encodeMagnet(room)}`)).toContain("That is this room's own magnet link");
    expect((await store.listContacts(room.xOnly)).map((c) => c.name)).toEqual(['alice']);
  });

  it('a moderator removes contacts; unknown names get the list of known ones', async () => {
    await run(`!roomcast contact add alice ${encodeMagnet(generateIdentity())}`);
    await run(`!roomcast contact add bob ${encodeMagnet(generateIdentity())}`);
    expect(await run('!roomcast contact remove carol')).toBe('No contact named "carol". Contacts: alice, bob.');
    expect(await run('!roomcast contact remove Alice')).toBe(
      'No contact named "Alice". Did you mean "alice"? Names are case-sensitive. Contacts: alice, bob.',
    );
    expect(await run('!roomcast contact remove alice')).toBe('Removed contact alice.');
    expect((await store.listContacts(room.xOnly)).map((c) => c.name)).toEqual(['bob']);
    await run('!roomcast contact remove bob');
    expect(await run('!roomcast contact remove bob')).toBe(
      'No contact named "bob": this room has no contacts yet. A moderator can add one: !roomcast contact add <name> <magnet>',
    );
  });

  it('members may not add or remove contacts, and are told so', async () => {
    const alice = generateIdentity();
    expect(await run(`!roomcast contact add alice ${encodeMagnet(alice)}`, 'member')).toBe(
      'Only room moderators can add a contact, or change the link of one (!roomcast contact add <name> <magnet>). Mel, ask a moderator of this room.',
    );
    expect(await store.listContacts(room.xOnly)).toEqual([]);
    await run(`!roomcast contact add alice ${encodeMagnet(alice)}`, 'moderator');
    expect(await run('!roomcast contact remove alice', 'member')).toBe(
      'Only room moderators can remove a contact (!roomcast contact remove <name>). Mel, ask a moderator of this room.',
    );
    expect((await store.listContacts(room.xOnly)).map((c) => c.name)).toEqual(['alice']);
  });

  it('contacts are per room: another room identity sees none of them', async () => {
    await run(`!roomcast contact add alice ${encodeMagnet(generateIdentity())}`);
    const other = generateIdentity();
    const text = await handleCommand({ kind: 'contacts' }, ctx('member', { owner: { xOnly: other.xOnly, magnetLink: encodeMagnet(other), ethAddress: other.ethAddress, npub: npubOf(other) } }));
    expect(text).toContain('no contacts yet');
  });

  it('long replies are cut to the platform limit with an ellipsis', async () => {
    for (let i = 0; i < 40; i++) await store.addContact({ owner: room.xOnly, name: `contact-${String(i).padStart(2, '0')}`, magnetLink: 'magnet:?x', xOnly: generateIdentity().xOnly, ethAddress: '0x0' });
    const full = await handleCommand({ kind: 'contacts' }, ctx('member', { maxReplyChars: 100_000 }));
    expect(full.length).toBeGreaterThan(2000);
    const text = await run('!roomcast contacts', 'member');
    expect(text.length).toBeLessThanOrEqual(2000);
    expect(text.endsWith('…')).toBe(true);
    expect(text.startsWith('Contacts (40):\n• contact-00 — npub1')).toBe(true);
    const short = await run('!roomcast contacts', 'member', { maxReplyChars: 300 });
    expect(short.length).toBeLessThanOrEqual(300);
    expect(short.endsWith('…')).toBe(true);
  });
});

describe('bridge commands: prefs', () => {
  it('shows learned channel preferences, preferred first', async () => {
    const alice = generateIdentity();
    await run(`!roomcast contact add alice ${encodeMagnet(alice)}`);
    expect(await run('!roomcast prefs alice', 'member')).toBe(
      'Nothing learned about alice yet: preferences come from their acks to messages this room sends them.',
    );
    const uuid = randomUUID();
    await store.recordOutbound({ owner: room.xOnly, uuid, peer: alice.xOnly, fromMagnetLink: encodeMagnet(room), content: 'hi', timestamp: T0 }, []);
    await store.recordAck({ owner: room.xOnly, originalUuid: uuid, peer: alice.xOnly, protocol: 'mqtt', endpoint: 'mqtt://b1', receivedAt: T0 + 40 });
    await store.recordAck({ owner: room.xOnly, originalUuid: uuid, peer: alice.xOnly, protocol: 'nostr', endpoint: 'wss://r1', receivedAt: T0 + 250 });
    await store.applyStatedPreferences(room.xOnly, alice.xOnly, [{ protocol: 'xmtp', cannotUse: true }]);
    clock = T0 + 125_000;
    expect(await run('!roomcast prefs alice', 'member')).toBe(
      [
        'Channel preferences for alice, preferred first (learned from acks):',
        '1. MQTT — working · mean 40ms over 1 ack · last ack 2m ago',
        '2. nostr — working · mean 250ms over 1 ack · last ack 2m ago',
        '3. XMTP — not working · no acks yet · alice says it cannot use XMTP',
      ].join('\n'),
    );
  });

  it('names the known contacts when the name is unknown', async () => {
    expect(await run('!roomcast prefs alice', 'member')).toContain('this room has no contacts yet');
    await run(`!roomcast contact add bob ${encodeMagnet(generateIdentity())}`);
    expect(await run('!roomcast prefs alice', 'member')).toBe('No contact named "alice". Contacts: bob.');
  });
});

describe('bridge commands: receipts', () => {
  it('shows per-protocol results and acks of the last n sent messages, newest first', async () => {
    const alice = generateIdentity();
    const stranger = generateIdentity();
    await run(`!roomcast contact add alice ${encodeMagnet(alice)}`);
    const out = (uuid: string, peer: string, content: string, timestamp: number) => ({ owner: room.xOnly, uuid, peer, fromMagnetLink: encodeMagnet(room), content, timestamp });
    const [u1, u2, u3] = [randomUUID(), randomUUID(), randomUUID()];
    await store.recordOutbound(out(u1, alice.xOnly, 'first', T0), [report('nostr', [ok('wss://r1', 300)])]);
    await store.recordOutbound(out(u2, alice.xOnly, 'second\nline with a fairly long text that goes on and on', T0 + 1000), [
      report('nostr', [ok('wss://r1', 245), ok('wss://r2', 260), ok('wss://r3', 300)]),
      report('mqtt', [ok('mqtt://b1', 12), failed('mqtt://b2', 'unreachable', 'connection refused'), ok('mqtt://b3', 20)]),
      report('xmtp', [failed('xmtp', 'timeout', 'timed out')]),
    ]);
    await store.recordAck({ owner: room.xOnly, originalUuid: u2, peer: alice.xOnly, protocol: 'nostr', endpoint: 'wss://r1', receivedAt: T0 + 1000 + 320 });
    await store.recordAck({ owner: room.xOnly, originalUuid: u2, peer: alice.xOnly, protocol: 'mqtt', endpoint: 'mqtt://b1', receivedAt: T0 + 1000 + 150 });
    await store.recordAck({ owner: room.xOnly, originalUuid: u2, peer: alice.xOnly, protocol: 'mqtt', endpoint: 'mqtt://b3', receivedAt: T0 + 1000 + 180 });
    await store.recordOutbound(out(u3, stranger.xOnly, 'to a stranger', T0 + 2000), [report('nostr', [failed('wss://r1', 'unreachable', 'refused')])]);
    // Received messages are not receipts of ours, even when newer.
    await store.recordInbound({ owner: room.xOnly, uuid: randomUUID(), peer: alice.xOnly, fromMagnetLink: encodeMagnet(alice), content: 'reply', timestamp: T0 + 3000, verified: true, protocol: 'mqtt', endpoint: 'mqtt://b1', receivedAt: T0 + 3010 });
    clock = T0 + 65_000;

    const text = await run('!roomcast receipts 2', 'member');
    const npub = npubOf(stranger);
    expect(text).toBe(
      [
        'Last 2 sent messages, newest first:',
        `• to ${npub.slice(0, 12)}…${npub.slice(-6)}, 1m ago: "to a stranger" — ✗ nostr (0/1 relays) unreachable`,
        '• to alice, 1m ago: "second line with a fairly long text tha…" — ✓ nostr (3/3 relays) 245ms · ✓ MQTT (2/3 brokers) 12ms · ✗ XMTP timeout — acked via MQTT +150ms, nostr +320ms',
      ].join('\n'),
    );
    const all = await run('!roomcast receipts', 'member');
    expect(all.split('\n')[0]).toBe('The 3 sent messages found, newest first:');
    expect(all).toContain('"first" — ✓ nostr (1/1 relays) 300ms');
  });

  it('a retry that delivers on the failed transport shows the latest state of each endpoint', async () => {
    const alice = generateIdentity();
    const uuid = randomUUID();
    const msg = { owner: room.xOnly, uuid, peer: alice.xOnly, fromMagnetLink: encodeMagnet(room), content: 'retry me', timestamp: T0 };
    await store.recordOutbound(msg, [report('nostr', [ok('wss://r1', 100)]), report('mqtt', [failed('mqtt://b1', 'unreachable', 'down')])]);
    await store.recordOutbound(msg, [report('mqtt', [ok('mqtt://b1', 30)])]);
    expect(await run('!roomcast receipts 1', 'member')).toContain('"retry me" — ✓ nostr (1/1 relays) 100ms · ✓ MQTT (1/1 brokers) 30ms');
  });

  it('says so when nothing was sent, and shows queued messages as not sent yet', async () => {
    expect(await run('!roomcast receipts', 'member')).toBe('No messages have been sent from this room yet.');
    await store.recordOutbound({ owner: room.xOnly, uuid: randomUUID(), peer: generateIdentity().xOnly, fromMagnetLink: encodeMagnet(room), content: 'wait', timestamp: T0 }, []);
    expect(await run('!roomcast receipts', 'member')).toContain('"wait" — queued, not sent yet');
  });
});

describe('bridge commands: status', () => {
  it("shows each transport's endpoints up or down and the queue depths", async () => {
    status = async () => ({
      transports: [
        { id: 'nostr', endpoints: [{ endpoint: 'wss://r1', connected: true, since: T0 - 3_600_000 }, { endpoint: 'wss://r2', connected: false, since: T0 - 30_000, lastError: 'connection refused' }] },
        { id: 'mqtt', endpoints: [{ endpoint: 'mqtt://b1', connected: true, since: T0 - 500 }] },
      ],
      queues: { outbound: { waiting: 3, active: 1, delayed: 0, failed: 2 }, inbound: { waiting: 0 } },
    });
    expect(await run('!roomcast status', 'member')).toBe(
      [
        'Transports:',
        'nostr: 1/2 up',
        '  ✓ wss://r1 — up for 1h',
        '  ✗ wss://r2 — down for 30s (connection refused)',
        'MQTT: 1/1 up',
        '  ✓ mqtt://b1 — up since just now',
        'Queues:',
        'outbound: waiting 3 · active 1 · delayed 0 · failed 2',
        'inbound: waiting 0',
      ].join('\n'),
    );
  });

  it('says when there is nothing to report, and when the status cannot be read', async () => {
    expect(await run('!roomcast status', 'member')).toBe('Transports:\nnone configured\nQueues:\nnone');
    status = async () => {
      throw new Error('Redis is unreachable');
    };
    expect(await run('!roomcast status', 'member')).toBe('Could not read the status: Redis is unreachable');
  });
});

describe('bridge commands: every command is open to members except changes', () => {
  it('members get an answer from every read-only command', async () => {
    const reads: Command[] = [{ kind: 'help' }, { kind: 'whoami' }, { kind: 'contacts' }, { kind: 'status' }, { kind: 'receipts', count: 5 }, { kind: 'prefs', name: 'x' }];
    for (const c of reads) expect(await handleCommand(c, ctx('member'))).not.toContain('Only room moderators');
  });
});

describe('bridge commands: reply length', () => {
  it('clampReply keeps short text, cuts at a line break when near, and never splits a surrogate pair', () => {
    expect(clampReply('short', 10)).toBe('short');
    expect(clampReply('0123456789', 10)).toBe('0123456789');
    expect(clampReply('0123456789A', 10)).toBe('012345678…');
    expect(clampReply('abcdefghij\nklmnop', 12)).toBe('abcdefghij…');
    expect(clampReply('abc\ndefghijklmnop', 12)).toBe('abc\ndefghij…'); // a break far back is not used
    const emoji = 'abcdefgh😀xyz'; // the emoji takes units 8 and 9
    const cut = clampReply(emoji, 10);
    expect(cut).toBe('abcdefgh…');
    expect(cut.length).toBeLessThanOrEqual(10);
  });
});
