import { afterEach, describe, expect, it } from 'vitest';
import { ContactConflictError, openStore } from '../../src/store/index.js';
import type { Contact } from '../../src/store/index.js';
import { FLAVOURS, freshUrl, openFresh, xOnly } from './helpers.js';
import type { Opened } from './helpers.js';

const opened: Opened[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.dispose();
});

describe.each(FLAVOURS)('contacts, identities and cursors (%s)', (flavour) => {
  let clock = 0;
  async function fresh() {
    clock = 1_000;
    const o = await openFresh(flavour, () => clock);
    opened.push(o);
    return o.store;
  }
  const contact = (owner: string, name: string, key = xOnly()): Omit<Contact, 'addedAt'> => ({
    owner,
    name,
    magnetLink: `magnet:?xt=urn%3Aidentity%3Av1&k=${key.slice(0, 8)}`,
    xOnly: key,
    ethAddress: '0x52908400098527886E0F7030069857D2E4169EE7',
  });

  it('adds, finds by name and by key, lists by name, and removes', async () => {
    const store = await fresh();
    const owner = xOnly();
    const bob = contact(owner, 'bob');
    const alice = contact(owner, 'alice');
    expect(await store.addContact(bob)).toStrictEqual({ ...bob, addedAt: 1_000 });
    clock = 2_000;
    await store.addContact(alice);
    expect((await store.listContacts(owner)).map((c) => c.name)).toEqual(['alice', 'bob']);
    expect(await store.findContactByName(owner, 'alice')).toStrictEqual({ ...alice, addedAt: 2_000 });
    expect(await store.findContactByKey(owner, bob.xOnly)).toStrictEqual({ ...bob, addedAt: 1_000 });
    expect(await store.findContactByName(owner, 'carol')).toBeUndefined();
    expect(await store.findContactByKey(owner, xOnly())).toBeUndefined();
    expect(await store.removeContact(owner, 'bob')).toBe(true);
    expect(await store.removeContact(owner, 'bob')).toBe(false);
    expect(await store.findContactByKey(owner, bob.xOnly)).toBeUndefined();
    expect(await store.listContacts(owner)).toHaveLength(1);
  });

  it('replaces a contact of the same name: keeps addedAt for the same key, resets it for a new key', async () => {
    const store = await fresh();
    const owner = xOnly();
    const bob = contact(owner, 'bob');
    await store.addContact(bob);
    clock = 2_000;
    const updated = await store.addContact({ ...bob, magnetLink: 'magnet:?new' });
    expect(updated).toStrictEqual({ ...bob, magnetLink: 'magnet:?new', addedAt: 1_000 });
    clock = 3_000;
    const rekeyed = contact(owner, 'bob');
    expect(await store.addContact(rekeyed)).toStrictEqual({ ...rekeyed, addedAt: 3_000 });
    expect(await store.findContactByKey(owner, bob.xOnly)).toBeUndefined();
    expect(await store.listContacts(owner)).toHaveLength(1);
  });

  it('refuses a second name for the same key with ContactConflictError, changing nothing', async () => {
    const store = await fresh();
    const owner = xOnly();
    const bob = contact(owner, 'bob');
    await store.addContact(bob);
    const err = await store.addContact({ ...bob, name: 'robert' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ContactConflictError);
    expect((err as ContactConflictError).existingName).toBe('bob');
    // also when renaming an existing name onto a key another name holds
    await store.addContact(contact(owner, 'carol'));
    await expect(store.addContact({ ...bob, name: 'carol' })).rejects.toBeInstanceOf(ContactConflictError);
    expect((await store.listContacts(owner)).map((c) => [c.name, c.xOnly === bob.xOnly])).toEqual([
      ['bob', true],
      ['carol', false],
    ]);
  });

  it('treats names case-sensitively and scopes everything by owner', async () => {
    const store = await fresh();
    const [o1, o2] = [xOnly(), xOnly()];
    await store.addContact(contact(o1, 'Alice'));
    await store.addContact(contact(o1, 'alice'));
    expect((await store.listContacts(o1)).map((c) => c.name)).toEqual(['Alice', 'alice']);
    expect(await store.findContactByName(o1, 'ALICE')).toBeUndefined();
    // the same key may be a contact of two owners, under different names
    const key = xOnly();
    await store.addContact(contact(o1, 'k', key));
    await store.addContact(contact(o2, 'other-name', key));
    expect((await store.findContactByKey(o2, key))?.name).toBe('other-name');
    expect(await store.listContacts(o2)).toHaveLength(1);
    expect(await store.removeContact(o2, 'Alice')).toBe(false);
  });

  it('upserts identities: keeps createdAt, replaces the label only when given', async () => {
    const store = await fresh();
    const [a, b] = [xOnly(), xOnly()];
    expect(await store.listIdentities()).toEqual([]);
    await store.upsertIdentity({ owner: a, magnetLink: 'magnet:?a1', label: '#general' });
    clock = 2_000;
    await store.upsertIdentity({ owner: b, magnetLink: 'magnet:?b' });
    clock = 3_000;
    await store.upsertIdentity({ owner: a, magnetLink: 'magnet:?a2' });
    expect(await store.listIdentities()).toStrictEqual([
      { owner: a, magnetLink: 'magnet:?a2', label: '#general', createdAt: 1_000 },
      { owner: b, magnetLink: 'magnet:?b', createdAt: 2_000 },
    ]);
    await store.upsertIdentity({ owner: b, magnetLink: 'magnet:?b', label: 'ops' });
    expect((await store.listIdentities())[1]).toMatchObject({ label: 'ops', createdAt: 2_000 });
  });

  it('gets and sets cursors', async () => {
    const store = await fresh();
    expect(await store.getCursor('nostr:wss://a')).toBeUndefined();
    await store.setCursor('nostr:wss://a', 1_699_564_800);
    await store.setCursor('nostr:wss://b', 5);
    await store.setCursor('nostr:wss://a', 1_699_564_900);
    expect(await store.getCursor('nostr:wss://a')).toBe(1_699_564_900);
    expect(await store.getCursor('nostr:wss://b')).toBe(5);
    await expect(store.setCursor('x', Number.NaN)).rejects.toThrow(RangeError);
  });
});

describe('persistence on a file database', () => {
  it('keeps contacts, identities and cursors across close and reopen', async () => {
    const { url, cleanup } = freshUrl('file');
    try {
      const owner = xOnly();
      const s1 = await openStore({ url, now: () => 42 });
      await s1.upsertIdentity({ owner, magnetLink: 'magnet:?me' });
      await s1.addContact({ owner, name: 'bob', magnetLink: 'magnet:?bob', xOnly: 'ab'.repeat(32), ethAddress: '0x0' });
      await s1.setCursor('k', 7);
      await s1.close();
      const s2 = await openStore({ url });
      expect(await s2.listIdentities()).toEqual([{ owner, magnetLink: 'magnet:?me', createdAt: 42 }]);
      expect((await s2.findContactByName(owner, 'bob'))?.addedAt).toBe(42);
      expect(await s2.getCursor('k')).toBe(7);
      await s2.close();
    } finally {
      cleanup();
    }
  });

  it('rejects calls after close', async () => {
    const { url, cleanup } = freshUrl('file');
    const store = await openStore({ url });
    await store.close();
    await store.close(); // idempotent
    await expect(store.getCursor('k')).rejects.toThrow(/closed/);
    await expect(store.setCursor('k', 1)).rejects.toThrow(/closed/);
    cleanup();
  });
});
