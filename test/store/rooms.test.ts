import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import type { NewOutboxEntry } from '../../src/store/index.js';

const entry = (roomId: string, text: string): NewOutboxEntry => ({
  platform: 'memory',
  roomId,
  uuid: randomUUID(),
  senderId: '@alice',
  senderName: 'Alice',
  text,
  platformMessageId: `m-${text}`,
  createdAt: 1_000,
});

describe('room store', () => {
  it('creates a room once, even when two creators race, and finds it by owner', async () => {
    const store = await openStore({ url: ':memory:' });
    const [a, b] = await Promise.all([
      store.rooms.createRoom({ platform: 'memory', roomId: '!r', owner: 'a'.repeat(64), sealedKey: 'sealed-a' }),
      store.rooms.createRoom({ platform: 'memory', roomId: '!r', owner: 'b'.repeat(64), sealedKey: 'sealed-b' }),
    ]);
    expect(b).toEqual(a);
    expect(await store.rooms.getRoomByOwner(a.owner)).toEqual(a);
    expect(await store.rooms.getRoom('discord', '!r')).toBeUndefined();
    expect(await store.rooms.listRooms()).toHaveLength(1);
    await store.close();
  });

  it('numbers outbox entries per room in order, idempotently, also when enqueued concurrently', async () => {
    const store = await openStore({ url: ':memory:' });
    const entries = Array.from({ length: 20 }, (_, i) => entry('!r', `m${i}`));
    const stored = await Promise.all(entries.map((e) => store.rooms.enqueueOutbox(e)));
    expect(stored.map((s) => s.seq).sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const again = await store.rooms.enqueueOutbox(entries[3]!);
    expect(again.seq).toBe(stored[3]!.seq);
    const other = await store.rooms.enqueueOutbox(entry('!other', 'x'));
    expect(other.seq).toBe(1);
    await store.close();
  });

  it('gives an entry its turn only when every earlier entry of the room is done or failed, and tells next from later', async () => {
    const store = await openStore({ url: ':memory:' });
    const one = await store.rooms.enqueueOutbox(entry('!r', 'one'));
    const two = await store.rooms.enqueueOutbox(entry('!r', 'two'));
    const three = await store.rooms.enqueueOutbox(entry('!r', 'three'));
    const four = await store.rooms.enqueueOutbox(entry('!r', 'four'));
    const elsewhere = await store.rooms.enqueueOutbox(entry('!x', 'x'));
    expect(await store.rooms.outboxTurn(one)).toBe('now');
    expect(await store.rooms.outboxTurn(two)).toBe('next');
    expect(await store.rooms.outboxTurn(three)).toBe('later');
    expect(await store.rooms.outboxTurn(four)).toBe('later');
    expect(await store.rooms.outboxTurn(elsewhere)).toBe('now');
    await store.rooms.setOutboxState(one.uuid, 'failed');
    expect(await store.rooms.outboxTurn(two)).toBe('now');
    expect(await store.rooms.outboxTurn(three)).toBe('next');
    await store.rooms.setOutboxState(two.uuid, 'done');
    await store.rooms.setOutboxState(three.uuid, 'done');
    expect(await store.rooms.outboxTurn(four)).toBe('now');
    await store.rooms.setOutboxReceiptPost(four.uuid, 'post-1');
    expect(await store.rooms.getOutbox(four.uuid)).toMatchObject({ state: 'queued', receiptPostId: 'post-1', text: 'four' });
    await store.close();
  });

  it('counts entries passed by this process as done, and never loses sight of the rest behind them', async () => {
    const store = await openStore({ url: ':memory:' });
    const e = [];
    for (let i = 0; i < 6; i++) e.push(await store.rooms.enqueueOutbox(entry('!p', `m${i}`)));
    const other = await store.rooms.enqueueOutbox(entry('!q', 'q0'));
    const passed = new Set([e[0]!.uuid, other.uuid]);
    expect(await store.rooms.outboxTurn(e[1]!, passed)).toBe('now');
    expect(await store.rooms.outboxTurn(e[2]!, passed)).toBe('next');
    expect(await store.rooms.outboxTurn(e[3]!, passed)).toBe('later');
    passed.add(e[1]!.uuid);
    expect(await store.rooms.outboxTurn(e[2]!, passed)).toBe('now');
    // Behind a full page of passed entries, more may be waiting: never "now" on a guess.
    const many = new Set([e[0]!.uuid, e[1]!.uuid, e[2]!.uuid]);
    expect(await store.rooms.outboxTurn(e[5]!, many)).toBe('later');
    expect(await store.rooms.outboxTurn(e[4]!, new Set([...many, e[3]!.uuid]))).toBe('now');
    expect(await store.rooms.outboxTurn(e[4]!, new Set())).toBe('later');
    await store.close();
  });

  it('keeps an inbox per room with the same ordering rule, idempotent per (owner, uuid)', async () => {
    const store = await openStore({ url: ':memory:' });
    const owner = 'c'.repeat(64);
    const a = await store.rooms.enqueueInbox({ platform: 'memory', roomId: '!r', owner, uuid: randomUUID() });
    const b = await store.rooms.enqueueInbox({ platform: 'memory', roomId: '!r', owner, uuid: randomUUID() });
    expect([a.seq, b.seq]).toEqual([1, 2]);
    expect((await store.rooms.enqueueInbox(a)).seq).toBe(1);
    expect(await store.rooms.inboxTurn(b)).toBe('next');
    await store.rooms.setInboxState(owner, a.uuid, 'posted', 'p-1');
    expect(await store.rooms.inboxTurn(b)).toBe('now');
    expect(await store.rooms.getInbox(owner, a.uuid)).toMatchObject({ state: 'posted', platformMessageId: 'p-1' });
    await store.close();
  });

  it('survives a reopen of a file database', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-rooms-'));
    const url = `file:${join(dir, 'db')}`;
    let store = await openStore({ url });
    await store.rooms.createRoom({ platform: 'memory', roomId: '!r', owner: 'd'.repeat(64), sealedKey: 's' });
    const e = await store.rooms.enqueueOutbox(entry('!r', 'kept'));
    await store.close();
    store = await openStore({ url });
    expect(await store.rooms.getRoom('memory', '!r')).toBeDefined();
    expect(await store.rooms.getOutbox(e.uuid)).toMatchObject({ seq: 1, state: 'queued' });
    expect((await store.rooms.enqueueOutbox(entry('!r', 'next'))).seq).toBe(2);
    await store.close();
  });
});

describe('outbox copies', () => {
  it('maps each contact copy back to its room message', async () => {
    const store = await openStore({ url: ':memory:' });
    const e = await store.rooms.enqueueOutbox(entry('!r', 'hello'));
    const owner = 'e'.repeat(64);
    const c1 = { owner, uuid: randomUUID(), roomUuid: e.uuid, contact: '1'.repeat(64) };
    const c2 = { owner, uuid: randomUUID(), roomUuid: e.uuid, contact: '2'.repeat(64) };
    await store.rooms.addOutboxCopy(c1);
    await store.rooms.addOutboxCopy(c1);
    await store.rooms.addOutboxCopy(c2);
    expect(await store.rooms.getOutboxCopy(owner, c2.uuid)).toEqual(c2);
    expect(await store.rooms.listOutboxCopies(e.uuid)).toEqual([c1, c2]);
    expect(await store.rooms.getOutboxCopy(owner, randomUUID())).toBeUndefined();
    await store.close();
  });
});

describe('room membership and platform state (migration 6)', () => {
  it('marks a room left and bridged again, finds outbox rows by platform message id, and keeps platform state per platform', async () => {
    const store = await openStore({ url: ':memory:' });
    const room = await store.rooms.createRoom({ platform: 'matrix', roomId: '!r', owner: 'c'.repeat(64), sealedKey: 's' });
    expect(room.leftAt).toBeUndefined();
    expect(await store.rooms.setRoomLeft('matrix', '!r', 5_000)).toBe(true);
    expect((await store.rooms.getRoom('matrix', '!r'))?.leftAt).toBe(5_000);
    expect((await store.rooms.listRooms())[0]?.leftAt).toBe(5_000);
    expect(await store.rooms.setRoomLeft('matrix', '!r', undefined)).toBe(true);
    expect((await store.rooms.getRoom('matrix', '!r'))?.leftAt).toBeUndefined();
    expect(await store.rooms.setRoomLeft('matrix', '!nope', 1)).toBe(false);

    const e = await store.rooms.enqueueOutbox({ ...entry('!r', 'hello'), platform: 'matrix' });
    expect(await store.rooms.findOutboxByPost('matrix', '!r', 'm-hello')).toEqual(e);
    expect(await store.rooms.findOutboxByPost('matrix', '!other', 'm-hello')).toBeUndefined();

    const m = store.platformState('matrix');
    expect(await m.get('sync-token')).toBeUndefined();
    await m.set('sync-token', 's1');
    await m.set('sync-token', 's2');
    expect(await m.get('sync-token')).toBe('s2');
    expect(await store.platformState('discord').get('sync-token')).toBeUndefined();
    await store.close();
  });
});
