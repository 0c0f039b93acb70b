/**
 * A room's next message goes out once the previous one has reached every
 * contact, without waiting for the previous one's "done" to be committed;
 * the contact still gets them in order. The store is the real one, with the
 * commit of the first message's state held back on purpose.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/index.js';
import type { OutboxState } from '../../src/store/rooms.js';
import type { Store } from '../../src/store/store.js';
import { startTestBridge } from '../support/bridge.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { MODERATOR, peerContact } from '../support/peer-contact.js';

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

/** The store, with the first "done" of an outbox entry held until `release()`. */
function holdingFirstDone(store: Store) {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  let first = true;
  const setOutboxState = async (uuid: string, state: OutboxState) => {
    if (state === 'done' && first) {
      first = false;
      await held;
    }
    return store.rooms.setOutboxState(uuid, state);
  };
  const rooms = new Proxy(store.rooms, { get: (t, k) => (k === 'setOutboxState' ? setOutboxState : bound(t, k)) });
  const wrapped = new Proxy(store, { get: (t, k) => (k === 'rooms' ? rooms : bound(t, k)) });
  return { store: wrapped, release };
}

function bound<T extends object>(t: T, k: string | symbol): unknown {
  const v = Reflect.get(t, k, t) as unknown;
  return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
}

describe('turns in a room', () => {
  it('the next message goes out while the previous one’s “done” is still being written, and the contact gets both in order', async () => {
    const real = await openStore({ url: `file:${join(await mkdtemp(join(tmpdir(), 'rc-turns-')), 'roomcast.db')}` });
    const { store, release } = holdingFirstDone(real);
    const b = await startTestBridge({ net, store, transports: { nostr: { enabled: false } } });
    const { peer, room, texts } = await peerContact(b, net, '!turns');
    try {
      const one = await b.platform.say(room, MODERATOR, 'one');
      await b.platform.say(room, MODERATOR, 'two');
      await waitFor(() => texts().includes('two'), 'the second message at the peer while the first one’s state is held', 15_000);
      expect((await real.rooms.findOutboxByPost('memory', '!turns', one))?.state).toBe('queued');
      release();
      await waitFor(async () => (await real.rooms.findOutboxByPost('memory', '!turns', one))?.state === 'done', 'the first message done');
      expect(texts().filter((t) => t === 'one' || t === 'two')).toEqual(['one', 'two']);
    } finally {
      release();
      await peer.close();
      await b.stop();
      await real.close();
    }
  });
});
