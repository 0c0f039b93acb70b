/**
 * The receiver is a real `roomcast listen` process: restarting it must neither
 * re-show nor re-acknowledge what it already handled, and what was sent while
 * it was down must arrive when it returns (MQTT persistent sessions, Nostr
 * resume cursors).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateIdentity, publicPart } from '../../src/identity/keys.js';
import { saveIdentity } from '../../src/identity/key-file.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';

const BIN = new URL('../../bin/roomcast.js', import.meta.url).pathname;

let net: TestNetwork;
beforeAll(async () => {
  net = await startNetwork(3, 3);
});
afterAll(async () => {
  await net?.stop();
});

interface Listener {
  child: ChildProcess;
  lines: Array<{ uuid: string; content: string }>;
  exited: Promise<number | null>;
}

function startListener(identityFile: string, dataDir: string): Listener {
  const args = [BIN, 'listen', '--identity', identityFile, '--data-dir', dataDir, '--json'];
  for (const b of net.brokers) args.push('--mqtt', b.url);
  for (const r of net.relays) args.push('--nostr', r.url);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Listener['lines'] = [];
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (line.startsWith('{')) {
        const parsed = JSON.parse(line) as { event?: string; uuid: string; content: string };
        if (parsed.event === undefined || parsed.event === 'message') lines.push(parsed); // not the ready line
      }
    }
  });
  child.stderr!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

describe('receiver restart', () => {
  it('shows nothing twice, acks nothing twice, and receives what was sent while it was down', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-listener-'));
    const bob = generateIdentity();
    const bobFile = join(dir, 'bob.json');
    await saveIdentity(bobFile, bob);
    const alice = await openTestNode(net);
    const acked: string[] = [];
    alice.broadcaster.on('ack', (e) => {
      if (e.firstOnProtocol) acked.push(`${e.originalUuid}|${e.via}`);
    });
    await alice.broadcaster.start();
    const toBob = publicPart(bob);
    try {
      let listener = startListener(bobFile, join(dir, 'data'));
      // Wait until the listener is subscribed everywhere: a probe message comes through.
      const probe = await alice.broadcaster.send(toBob, 'probe');
      await waitFor(() => listener.lines.some((l) => l.uuid === probe.uuid), 'the listener to start', 30_000);

      const first: string[] = [];
      for (let i = 0; i < 5; i++) first.push((await alice.broadcaster.send(toBob, `first ${i}`)).uuid);
      await waitFor(() => first.every((u) => listener.lines.some((l) => l.uuid === u)), 'first batch shown', 30_000);
      await waitFor(() => first.every((u) => acked.includes(`${u}|mqtt`) && acked.includes(`${u}|nostr`)), 'first batch acked on both', 30_000);

      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);

      const whileDown: string[] = [];
      for (let i = 0; i < 5; i++) {
        const d = await alice.broadcaster.send(toBob, `while down ${i}`);
        expect(d.ok).toBe(true);
        whileDown.push(d.uuid);
      }
      const ackReceiptsBefore = await Promise.all(first.map(async (u) => (await alice.store.getReceipts(alice.identity.xOnly, u)).filter((r) => r.kind === 'ack').length));

      listener = startListener(bobFile, join(dir, 'data'));
      await waitFor(() => whileDown.every((u) => listener.lines.some((l) => l.uuid === u)), 'messages sent while down', 30_000);
      await waitFor(() => whileDown.every((u) => acked.includes(`${u}|mqtt`) && acked.includes(`${u}|nostr`)), 'while-down batch acked', 30_000);
      await sleep(1500); // give any wrongful re-delivery time to show up

      expect(listener.lines.map((l) => l.uuid).sort()).toEqual([...whileDown].sort());
      const ackReceiptsAfter = await Promise.all(first.map(async (u) => (await alice.store.getReceipts(alice.identity.xOnly, u)).filter((r) => r.kind === 'ack').length));
      expect(ackReceiptsAfter).toEqual(ackReceiptsBefore);

      listener.child.kill('SIGTERM');
      expect(await listener.exited).toBe(0);
    } finally {
      await alice.close();
    }
  });
});
