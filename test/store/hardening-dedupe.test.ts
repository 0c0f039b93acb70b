/**
 * Issue 8 §2 in the store: a message is (owner, sender, uuid), so nobody can
 * hide another sender's message, or block one of ours, by sending its uuid
 * first; migration 4 re-keys an existing database keeping every row; a
 * room's inbox keeps one entry per sender and caps what non-contacts queue.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { createClient } from '@libsql/client';
import { afterEach, describe, expect, it } from 'vitest';
import { InboxFullError, MIGRATIONS, migrate, openStore } from '../../src/store/index.js';
import { FLAVOURS, inbound, okEndpoint, openFresh, outbound, report, tempDir, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';

const opened: Opened[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
  for (const c of cleanups.splice(0).reverse()) await c();
});
async function fresh(flavour: (typeof FLAVOURS)[number]) {
  const o = await openFresh(flavour);
  opened.push(o);
  return o.store;
}

describe.each(FLAVOURS)('de-duplication by sender (%s)', (flavour) => {
  it("a stranger who sends a contact's uuid first hides nothing: two messages, each de-duplicated on its own", async () => {
    const store = await fresh(flavour);
    const [owner, stranger, contact] = [xOnly(), xOnly(), xOnly()];
    const uuid = randomUUID();
    expect((await store.recordInbound(inbound({ owner, peer: stranger, uuid, content: 'squat' }))).first).toBe(true);
    expect((await store.recordInbound(inbound({ owner, peer: contact, uuid, content: 'the real one' }))).first).toBe(true);
    // The contact's copies on other transports are still one message.
    expect((await store.recordInbound(inbound({ owner, peer: contact, uuid, content: 'the real one', protocol: 'mqtt', endpoint: 'mqtt://b' }))).first).toBe(false);
    expect((await store.recordInbound(inbound({ owner, peer: stranger, uuid, content: 'squat', protocol: 'xmtp', endpoint: 'xmtp:dev' }))).first).toBe(false);

    expect(await store.getMessage(owner, uuid, contact)).toMatchObject({ peer: contact, content: 'the real one', direction: 'in' });
    expect(await store.getMessage(owner, uuid, stranger)).toMatchObject({ peer: stranger, content: 'squat' });
    expect((await store.getReceipts(owner, uuid, contact)).map((r) => [r.peer, r.protocol])).toEqual([
      [contact, 'nostr'],
      [contact, 'mqtt'],
    ]);
    expect(await store.getReceipts(owner, uuid, stranger)).toHaveLength(2);
    expect(await store.listMessages(owner, 10)).toHaveLength(2);
  });

  it("squatting the uuid of one of our messages (bridge copies' are predictable) blocks neither the send nor its acks", async () => {
    const store = await fresh(flavour);
    const [owner, stranger, contact] = [xOnly(), xOnly(), xOnly()];
    const m = outbound(owner, contact);
    await store.recordInbound(inbound({ owner, peer: stranger, uuid: m.uuid, content: 'squat' }));

    await store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://a', 10)])]);
    // Without a peer, a uuid names our own message.
    expect(await store.getMessage(owner, m.uuid)).toMatchObject({ direction: 'out', peer: contact, state: 'sent' });
    expect(await store.getSendResults(owner, m.uuid)).toHaveLength(1);
    // Only the recipient can acknowledge it.
    const ack = { owner, originalUuid: m.uuid, protocol: 'nostr' as const, endpoint: 'wss://r', receivedAt: m.timestamp + 30 };
    expect(await store.recordAck({ ...ack, peer: stranger })).toMatchObject({ known: false });
    expect(await store.getChannelPreferences(owner, stranger)).toEqual([]);
    expect(await store.recordAck({ ...ack, peer: contact })).toMatchObject({ known: true, firstAck: true });
    expect((await store.getReceipts(owner, m.uuid)).map((r) => [r.kind, r.peer])).toEqual([['ack', contact]]);
  });

  it('one message of ours sent to two peers under one uuid: each peer acks its own copy', async () => {
    const store = await fresh(flavour);
    const [owner, one, two] = [xOnly(), xOnly(), xOnly()];
    const m = outbound(owner, one);
    await store.recordOutbound(m, [report('mqtt', [okEndpoint('mqtt://a', 10)])]);
    await store.recordOutbound({ ...m, peer: two }, [report('mqtt', [okEndpoint('mqtt://a', 12)])]);
    expect(await store.listMessages(owner, 10)).toHaveLength(2);
    const ack = { owner, originalUuid: m.uuid, protocol: 'mqtt' as const, endpoint: 'mqtt://a', receivedAt: m.timestamp + 30 };
    expect(await store.recordAck({ ...ack, peer: two })).toMatchObject({ known: true, firstAck: true });
    expect(await store.getMessage(owner, m.uuid, two)).toMatchObject({ state: 'acked' });
    expect(await store.getMessage(owner, m.uuid, one)).toMatchObject({ state: 'sent' });
    expect(await store.recordAck({ ...ack, peer: one })).toMatchObject({ known: true, firstAck: true });
  });
});

describe('migration 4 (messages keyed by sender)', () => {
  it('re-keys a version-3 database keeping every row and id, with working foreign keys', async () => {
    const { dir, cleanup } = tempDir();
    cleanups.push(cleanup);
    const url = `file:${join(dir, 'roomcast.db')}`;
    const c = createClient({ url });
    cleanups.push(() => c.close());
    await migrate(c, MIGRATIONS.slice(0, 3));
    const msg = (uuid: string, direction: string, peer: string, state: string) =>
      c.execute({
        sql: `INSERT INTO messages (owner, uuid, direction, peer, from_magnet_link, content, timestamp, state, verified) VALUES ('o', ?, ?, ?, 'magnet:?', 'hi', 1, ?, 1)`,
        args: [uuid, direction, peer, state],
      });
    await msg('u-in', 'in', 'p-in', 'received');
    await msg('u-out', 'out', 'p-out', 'sent');
    await c.execute(`INSERT INTO receipts (id, owner, uuid, kind, protocol, endpoint, received_at, latency_ms) VALUES (5, 'o', 'u-in', 'message', 'mqtt', 'm', 2, 1), (6, 'o', 'u-out', 'ack', 'nostr', 'r', 3, 2)`);
    await c.execute(`INSERT INTO send_results (id, owner, uuid, protocol, endpoint, ok, latency_ms, at) VALUES (7, 'o', 'u-out', 'mqtt', 'm', 1, 4, 9)`);
    await c.execute(`INSERT INTO room_inbox (platform, room_id, seq, owner, uuid, state) VALUES ('memory', '!r', 1, 'o', 'u-in', 'queued'), ('memory', '!r', 2, 'o', 'u-gone', 'queued')`);

    expect((await migrate(c, MIGRATIONS.slice(0, 4))).applied).toEqual([4]);
    const rows = async (sql: string) => (await c.execute(sql)).rows.map((r) => ({ ...r }));
    expect(await rows('SELECT uuid, direction, peer FROM messages ORDER BY uuid')).toEqual([
      { uuid: 'u-in', direction: 'in', peer: 'p-in' },
      { uuid: 'u-out', direction: 'out', peer: 'p-out' },
    ]);
    expect(await rows('SELECT id, peer, uuid, kind FROM receipts ORDER BY id')).toEqual([
      { id: 5, peer: 'p-in', uuid: 'u-in', kind: 'message' },
      { id: 6, peer: 'p-out', uuid: 'u-out', kind: 'ack' },
    ]);
    expect(await rows('SELECT id, peer, uuid FROM send_results')).toEqual([{ id: 7, peer: 'p-out', uuid: 'u-out' }]);
    expect(await rows('SELECT seq, uuid, message_uuid, peer, state FROM room_inbox ORDER BY seq')).toEqual([
      { seq: 1, uuid: 'u-in', message_uuid: 'u-in', peer: 'p-in', state: 'queued' },
      { seq: 2, uuid: 'u-gone', message_uuid: 'u-gone', peer: null, state: 'queued' },
    ]);
    expect(await rows('PRAGMA foreign_key_check')).toEqual([]);
    // The foreign keys name the rebuilt table: deleting a message still takes its receipts with it.
    await c.execute(`DELETE FROM messages WHERE uuid = 'u-in'`);
    expect(await rows(`SELECT id FROM receipts WHERE uuid = 'u-in'`)).toEqual([]);

    const store = await openStore({ url });
    cleanups.push(() => store.close());
    expect(await store.getMessage('o', 'u-out')).toMatchObject({ peer: 'p-out', state: 'sent' });
    expect(await store.rooms.getInbox('o', 'u-in')).toMatchObject({ messageUuid: 'u-in', peer: 'p-in' });
    expect((await store.recordInbound(inbound({ owner: 'o', peer: 'another', uuid: 'u-out' }))).first).toBe(true);
  });
});

describe.each(FLAVOURS)('room inbox per sender, and its cap for non-contacts (%s)', (flavour) => {
  const room = { platform: 'memory', roomId: '!r' };

  it("gives each sender's message its own entry and key, idempotently", async () => {
    const store = await fresh(flavour);
    const owner = xOnly();
    const uuid = randomUUID();
    const [stranger, contact] = [xOnly(), xOnly()];
    const squat = await store.rooms.enqueueInbox({ ...room, owner, uuid, peer: stranger });
    const real = await store.rooms.enqueueInbox({ ...room, owner, uuid, peer: contact });
    expect(squat).toMatchObject({ seq: 1, uuid, messageUuid: uuid, peer: stranger });
    expect(real).toMatchObject({ seq: 2, messageUuid: uuid, peer: contact, state: 'queued' });
    expect(real.uuid).not.toBe(uuid);
    expect(await store.rooms.enqueueInbox({ ...room, owner, uuid, peer: contact })).toEqual(real);
    expect(await store.rooms.getInbox(owner, real.uuid)).toEqual(real);
    expect(await store.rooms.getInbox(owner, uuid)).toEqual(squat);
  });

  it('refuses a non-contact past maxQueuedFromStrangers, writing nothing; contacts always get in; a posted entry frees a place', async () => {
    const store = await fresh(flavour);
    const owner = xOnly();
    const contact = xOnly();
    await store.addContact({ owner, name: 'alice', magnetLink: 'magnet:?x', xOnly: contact, ethAddress: '0x00' });
    const limits = { maxQueuedFromStrangers: 3 };
    const strangers = await Promise.all([0, 1, 2].map(() => store.rooms.enqueueInbox({ ...room, owner, uuid: randomUUID(), peer: xOnly() }, limits)));
    const refused = store.rooms.enqueueInbox({ ...room, owner, uuid: randomUUID(), peer: xOnly() }, limits);
    await expect(refused).rejects.toThrow(InboxFullError);
    await expect(refused).rejects.toMatchObject({ queued: 3, max: 3 });
    expect(await store.rooms.listQueuedInbox(100)).toHaveLength(3);
    // Asking again for an entry that exists is not a new one.
    expect(await store.rooms.enqueueInbox({ ...room, owner, uuid: strangers[0]!.messageUuid, peer: strangers[0]!.peer! }, limits)).toEqual(strangers[0]);
    // A contact is never refused.
    const fromContact = await store.rooms.enqueueInbox({ ...room, owner, uuid: randomUUID(), peer: contact }, limits);
    expect(fromContact.seq).toBe(4);
    // Another room has its own count.
    await store.rooms.enqueueInbox({ platform: 'memory', roomId: '!other', owner: xOnly(), uuid: randomUUID(), peer: xOnly() }, limits);
    await store.rooms.setInboxState(owner, strangers[0]!.uuid, 'posted');
    expect(await store.rooms.enqueueInbox({ ...room, owner, uuid: randomUUID(), peer: xOnly() }, limits)).toMatchObject({ seq: 5 });
  });
});
