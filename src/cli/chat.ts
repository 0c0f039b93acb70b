/**
 * `roomcast chat`: the prototype's terminal client. Each line typed is sent on
 * every transport; what arrives is shown once, with where it came from first
 * and where else it arrived (collected for a moment after the first copy).
 */
import { createInterface } from 'node:readline';
import type { CopyEvent } from '../broadcaster/events.js';
import { decodeMagnet, sameIdentity } from '../identity/magnet.js';
import { openNode } from '../node.js';
import { formatAck, formatArrival, formatDelivery } from './format.js';
import { cliConfig } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Out = (s: string) => void;

/** How long later copies of a message are gathered before its arrival line is printed. */
const ARRIVAL_WINDOW_MS = 1500;

export interface ChatOptions extends NodeCliOptions {
  identity: string;
  to: string;
}

export async function chat(o: ChatOptions, out: Out): Promise<void> {
  const peer = decodeMagnet(o.to);
  const node = await openNode(cliConfig(o, true), { identityFile: o.identity });
  const { broadcaster } = node;
  const copies = new Map<string, CopyEvent[]>();

  broadcaster.on('message', (e) => {
    const who = sameIdentity(e.sender, peer) ? 'Them' : e.sender.ethAddress.slice(0, 10);
    out(`\n${who}${e.verified ? '' : ' (unverified)'}: ${e.message.content}\n`);
    copies.set(e.message.uuid, []);
    setTimeout(() => {
      out(`  ${formatArrival(e.via, copies.get(e.message.uuid) ?? [])}\n`);
      copies.delete(e.message.uuid);
    }, ARRIVAL_WINDOW_MS).unref();
  });
  broadcaster.on('copy', (e) => copies.get(e.uuid)?.push(e));
  broadcaster.on('ack', (e) => {
    if (e.firstOnProtocol) out(`  ${formatAck(e)}\n`);
  });

  await broadcaster.start();
  out(`Chatting as ${broadcaster.magnetLink}\nwith ${peer.ethAddress}. Type a message and press Enter; /quit or Ctrl-D to leave.\n`);

  const rl = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of rl) {
      const text = line.trim();
      if (text === '/quit') break;
      if (text === '') continue;
      try {
        const delivery = await broadcaster.send(peer, text);
        out(`You: ${text}\n  ${formatDelivery(delivery.reports)}\n`);
      } catch (err) {
        out(`  ✗ not sent: ${(err as Error).message}\n`);
      }
    }
  } finally {
    rl.close();
    await broadcaster.idle();
    await node.close();
  }
}
