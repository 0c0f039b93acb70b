/** `roomcast send` and `roomcast listen`: one-shot messaging for scripts and terminals. */
import type { AckEvent, MessageEvent } from '../broadcaster/events.js';
import { npubOf } from '../identity/keys.js';
import { decodeMagnet } from '../identity/magnet.js';
import { openNode } from '../node.js';
import { formatAck, formatDelivery, protocolName } from './format.js';
import { cliConfig, untilSignal } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Out = (s: string) => void;

export interface SendOptions extends NodeCliOptions {
  identity: string;
  to: string;
  waitAck?: number;
  json: boolean;
}

export async function send(text: string, o: SendOptions, out: Out): Promise<void> {
  const to = decodeMagnet(o.to);
  const node = await openNode(cliConfig(o, true), { identityFile: o.identity });
  try {
    // Acks can overtake the delivery report: hold them until it is printed.
    const acks: AckEvent[] = [];
    let reported = false;
    let wake: () => void = () => undefined;
    const printAck = (e: AckEvent) =>
      out(o.json ? `${JSON.stringify({ event: 'ack', uuid: e.originalUuid, via: e.via, endpoint: e.endpoint, latencyMs: e.latencyMs })}\n` : `${formatAck(e)}\n`);
    node.broadcaster.on('ack', (e) => {
      if (!e.firstOnProtocol) return;
      acks.push(e);
      if (reported) printAck(e);
      wake();
    });
    await node.broadcaster.start();
    const delivery = await node.broadcaster.send(to, text);
    out(o.json ? `${JSON.stringify({ event: 'delivery', ...delivery })}\n` : `${formatDelivery(delivery.reports)}\n`);
    reported = true;
    acks.forEach(printAck);
    const delivered = delivery.reports.filter((r) => r.ok).map((r) => r.transport);
    const allAcked = () => delivered.every((t) => acks.some((a) => a.via === t));
    if (o.waitAck && delivery.ok && !allAcked()) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, o.waitAck! * 1000);
        wake = () => {
          if (!allAcked()) return;
          clearTimeout(timer);
          resolve();
        };
      });
      if (acks.length === 0 && !o.json) out(`No acknowledgment within ${o.waitAck}s.\n`);
    }
    process.exitCode = delivery.ok ? 0 : 1;
  } finally {
    await node.close();
  }
}

export interface ListenOptions extends NodeCliOptions {
  identity: string;
  json: boolean;
  count?: number;
}

/** One JSON line describing a new message. */
export function messageJson(e: MessageEvent): string {
  return JSON.stringify({
    event: 'message',
    uuid: e.message.uuid,
    content: e.message.content,
    timestamp: e.message.timestamp,
    from: e.message.fromMagnetLink,
    fromEth: e.sender.ethAddress,
    fromNpub: npubOf(e.sender),
    via: e.via,
    endpoint: e.endpoint,
    receivedAt: e.receivedAt,
    verified: e.verified,
  });
}

export async function listen(o: ListenOptions, out: Out): Promise<void> {
  const node = await openNode(cliConfig(o, true), { identityFile: o.identity });
  let seen = 0;
  let reachedCount: () => void = () => undefined;
  const counted = new Promise<void>((resolve) => (reachedCount = resolve));
  node.broadcaster.on('message', (e) => {
    seen++;
    if (o.json) out(`${messageJson(e)}\n`);
    else {
      const who = e.sender.ethAddress.slice(0, 10);
      out(`[${new Date(e.receivedAt).toLocaleTimeString()}] ${who}${e.verified ? '' : ' (unverified)'}: ${e.message.content}\n  First received via: ${protocolName(e.via)}\n`);
    }
    if (o.count !== undefined && seen >= o.count) reachedCount();
  });
  try {
    await node.broadcaster.start();
    if (!o.json) out(`Listening as ${node.broadcaster.magnetLink}\n`);
    await Promise.race([counted, untilSignal()]);
    await node.broadcaster.idle();
  } finally {
    await node.close();
  }
}
