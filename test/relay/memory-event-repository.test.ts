/**
 * The local relay's event store (`roomcast relay`): filters as NIP-01 says,
 * and lookups by id from its map. @nostr-relay/core asks for every incoming
 * EVENT by id first, so a lookup that scanned every stored event made a relay
 * holding tens of thousands slow down with each one it kept (the 100,000-
 * message soak's relays reached 40% of a core each).
 */
import { describe, expect, it, vi } from 'vitest';
import type { Event } from '@nostr-relay/common';
import { MemoryEventRepository } from '../../src/relay/local-relay.js';

function event(i: number, kind = 1, p?: string): Event {
  return { id: i.toString(16).padStart(64, '0'), pubkey: 'a'.repeat(64), created_at: 1000 + i, kind, tags: p ? [['p', p]] : [], content: `${i}`, sig: 'b'.repeat(128) };
}

describe('MemoryEventRepository', () => {
  it('finds by id without looking at the other events, honouring the rest of the filter', () => {
    const repo = new MemoryEventRepository();
    for (let i = 0; i < 1000; i++) repo.upsert(event(i, i % 2 === 0 ? 1 : 4));
    const values = vi.spyOn(repo.events, 'values');
    expect(repo.find({ ids: [event(7).id, event(3).id, 'f'.repeat(64)] }).map((e) => e.content)).toEqual(['7', '3']); // newest first; unknown ids: nothing
    expect(repo.find({ ids: [event(7).id], kinds: [1] })).toEqual([]); // 7 is kind 4
    expect(repo.find({ ids: [event(8).id, event(9).id], limit: 1 }).map((e) => e.content)).toEqual(['9']);
    expect(values).not.toHaveBeenCalled();
    expect(repo.find({ kinds: [4], since: 1990 }).map((e) => e.content)).toEqual(['999', '997', '995', '993', '991']);
    expect(values).toHaveBeenCalledTimes(1);
  });

  it('keeps at most maxEvents, dropping the oldest; a duplicate is reported, not stored twice', () => {
    const repo = new MemoryEventRepository(3);
    for (let i = 0; i < 5; i++) expect(repo.upsert(event(i))).toEqual({ isDuplicate: false });
    expect(repo.upsert(event(4))).toEqual({ isDuplicate: true });
    expect(repo.find({}).map((e) => e.content)).toEqual(['4', '3', '2']);
    expect(repo.find({ ids: [event(0).id] })).toEqual([]);
  });
});
