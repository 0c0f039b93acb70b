/**
 * What one bridged message costs the store, counted where it is paid: the
 * commits in the file database's write-ahead log (each one an fsync with
 * `synchronous = FULL`). In order: the outbox row; the contact's copy with its
 * message row, in one commit; its send results with the message's state, in
 * one commit; the ack. Before they were folded, each of the four middle
 * writes was a commit of its own, on the path every room message waits for.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBridge } from '../support/bridge.js';
import { startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';
import { MODERATOR, peerContact } from '../support/peer-contact.js';

/** Commit frames in a WAL file: frames of the current generation (salts as in the header) whose "database size after commit" field is set. */
async function walCommits(path: string): Promise<{ salt: string; commits: number }> {
  const wal = await readFile(path);
  const pageSize = wal.readUInt32BE(8);
  const salt = wal.subarray(16, 24);
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (!wal.subarray(at + 8, at + 16).equals(salt)) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits++;
  }
  return { salt: salt.toString('hex'), commits };
}

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

describe('store cost of a bridged message', () => {
  it('four commits per message, one contact on one broker: outbox row, copy with record, results with state, ack', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-commits-'));
    const b = await startTestBridge({ net, storeUrl: `file:${join(dir, 'roomcast.db')}`, bridge: { receipts: 'off' }, transports: { nostr: { enabled: false } } });
    const { peer, room, got } = await peerContact(b, net, '!commits');
    try {
      const owner = (await b.rt.directory.room('memory', '!commits')).identity.xOnly;
      const acked = async (n: number) => (await b.store.listMessages(owner, 1000)).filter((m) => m.direction === 'out' && m.state === 'acked').length >= n;
      // Nothing more to write for a message once its job is done and the peer's ack is in.
      const settled = async (id: string, n: number) => {
        await waitFor(async () => (await acked(n)) && (await b.store.rooms.findOutboxByPost('memory', '!commits', id))?.state === 'done', `message ${n} done and acked`);
        await sleep(100);
      };
      // A first message: the contact's channel preferences come with its first ack, once.
      await settled(await b.platform.say(room, MODERATOR, 'warm-up'), 1);

      const wal = join(dir, 'roomcast.db-wal');
      const start = await walCommits(wal);
      const n = 10;
      for (let i = 0; i < n; i++) {
        await settled(await b.platform.say(room, MODERATOR, `message ${i}`), i + 2);
      }
      const end = await walCommits(wal);
      expect(end.salt).toBe(start.salt); // no checkpoint restarted the log meanwhile
      expect(got.length).toBe(n + 1);
      expect(end.commits - start.commits).toBeLessThanOrEqual(4 * n);
    } finally {
      await peer.close();
      await b.stop();
    }
  });
});
