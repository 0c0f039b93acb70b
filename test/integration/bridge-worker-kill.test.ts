/**
 * A worker process killed with SIGKILL in the middle of a room's traffic:
 * another worker takes over; every message reaches the peer once and in
 * order, and nothing is posted twice in the room (receipts, the peer's
 * messages). The bridge (listening, taking room events) runs here; the
 * workers are child processes sharing its store file, service identity and
 * queues, and writing to the room through test/support/remote-platform.ts.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import { saveIdentity } from '../../src/identity/key-file.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { startTestBridge } from '../support/bridge.js';
import { servePlatform } from '../support/remote-platform.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { waitFor } from '../support/wait.js';
import { waitForPost } from '../support/room-waits.js';

const FIXTURE = new URL('../fixtures/bridge-worker.ts', import.meta.url).pathname;

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(1, 1);
});
afterAll(async () => {
  await net?.stop();
});

function startWorker(args: object): { child: ChildProcess; ready: Promise<void> } {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`worker exited early (${code})`)));
  });
  return { child, ready };
}

describe('worker killed mid-run', () => {
  it('loses nothing, shows nothing twice and posts nothing twice when a worker is SIGKILLed and another takes over', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-kill-'));
    const storeUrl = `file:${join(dir, 'roomcast.db')}`;
    const service = generateIdentity();
    const serviceFile = join(dir, 'service.json');
    await saveIdentity(serviceFile, service);
    const b = await startTestBridge({ net, role: 'bridge', storeUrl, service });
    const peer = await openTestNode(net);
    const shown: string[] = [];
    peer.broadcaster.on('message', (e) => shown.push(e.message.content));
    await peer.broadcaster.start();
    const room = b.platform.room('!kill');
    const served = await servePlatform(b.platform);
    const args = {
      storeUrl,
      serviceFile,
      queueNames: b.queueNames,
      brokers: net.brokers.map((x) => x.url),
      relays: net.relays.map((x) => x.url),
      platformUrl: served.url,
    };
    let first: ChildProcess | undefined;
    let second: ChildProcess | undefined;
    try {
      await b.platform.say(room, { id: '@mod', displayName: 'Mod', level: 'moderator' }, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
      await waitForPost(b.platform, room, (e) => e.text.includes('alice'));
      const texts = Array.from({ length: 20 }, (_, i) => `m${String(i).padStart(2, '0')}`);
      for (const t of texts) await b.platform.say(room, { id: '@bob', displayName: 'Bob' }, t);
      const roomIdentity = (await b.rt.directory.room('memory', '!kill')).identity;
      const replies = Array.from({ length: 10 }, (_, i) => `reply ${i}`);
      for (const r of replies) await peer.broadcaster.send(roomIdentity, r);

      const a = startWorker(args);
      first = a.child;
      await a.ready;
      await waitFor(() => shown.length >= 5, 'the first worker to deliver some messages', 60_000, 5);
      first.kill('SIGKILL');
      await new Promise((r) => first!.once('exit', r));
      const delivered = shown.length;
      expect(delivered).toBeLessThan(20); // killed in the middle of the run

      const w2 = startWorker(args);
      second = w2.child;
      await w2.ready;
      await waitFor(() => shown.length >= 20, 'the second worker to finish the room', 60_000);
      const posts = () => b.platform.botPosts(room).map((p) => p.text);
      // A post that had to wait for the room's budget carries the replies queued behind it, one per line.
      const replyLines = () => posts().filter((p) => p.startsWith('alice: ')).flatMap((p) => p.slice('alice: '.length).split('\n'));
      await waitFor(() => replies.every((r) => replyLines().includes(r)), 'every reply posted', 60_000);
      await waitFor(() => texts.every((t) => posts().some((p) => p.startsWith(`↳ “${t}”`))), 'a receipt for every message', 60_000);
      await new Promise((r) => setTimeout(r, 1500)); // room for a wrongful duplicate to show up
      expect(shown).toEqual(texts.map((t) => `Bob: ${t}`));
      expect(replyLines()).toEqual(replies);
      for (const t of texts) expect(posts().filter((p) => p.startsWith(`↳ “${t}”`))).toHaveLength(1);
    } finally {
      first?.kill('SIGKILL');
      if (second && second.exitCode === null) {
        second.kill('SIGTERM');
        await new Promise((r) => second!.once('exit', r));
      }
      await peer.close();
      await b.stop();
      await served.close();
    }
    // Its waits add up past the suite's minute when a deferred job's promotion died with the killed worker and
    // waits out the 30 s fallback (sequencer.ts, laterMs): correctness is asserted here, not speed.
  }, 180_000);
});
