/** `roomcast send` and `roomcast listen`: one-shot messaging for scripts and terminals. */
import type { AckEvent, MessageEvent } from '../broadcaster/events.js';
import type { Broadcaster } from '../broadcaster/broadcaster.js';
import { npubOf } from '../identity/keys.js';
import { decodeMagnet } from '../identity/magnet.js';
import { openNode } from '../node.js';
import { clockTime, formatAck, formatDelivery, protocolName, shortNpub } from './format.js';
import { cliConfig, untilSignal } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Out = (s: string) => void;
type Err = (s: string) => void;

export interface SendOptions extends NodeCliOptions {
  identity: string;
  to: string;
  waitAck?: number;
  json: boolean;
}

/**
 * Sends one message and, with --wait-ack, prints the acknowledgments of THIS
 * message (by uuid) until every transport that delivered it has acknowledged
 * or the time is up. Acks of earlier messages (a relay replays them when the
 * subscription resumes) are neither printed nor counted. `send` holds a
 * transient MQTT session, so it runs beside a `listen` of the same identity.
 */
export async function send(text: string, o: SendOptions, out: Out): Promise<void> {
  const to = decodeMagnet(o.to);
  const node = await openNode(cliConfig(o, { quiet: true, transientSession: true }), { identityFile: o.identity });
  try {
    // Acks can overtake the delivery report: keep them until it is printed and the uuid is known.
    const early: AckEvent[] = [];
    const acks: AckEvent[] = [];
    let uuid: string | undefined;
    let wake: () => void = () => undefined;
    const printAck = (e: AckEvent) =>
      out(o.json ? `${JSON.stringify({ event: 'ack', uuid: e.originalUuid, via: e.via, endpoint: e.endpoint, latencyMs: e.latencyMs })}\n` : `${formatAck(e)}\n`);
    node.broadcaster.on('ack', (e) => {
      if (!e.firstOnProtocol) return;
      if (uuid === undefined) {
        early.push(e);
        return;
      }
      if (e.originalUuid !== uuid) return;
      acks.push(e);
      printAck(e);
      wake();
    });
    await node.broadcaster.start();
    const delivery = await node.broadcaster.send(to, text);
    out(o.json ? `${JSON.stringify({ event: 'delivery', ...delivery })}\n` : `${formatDelivery(delivery.reports)}\n`);
    uuid = delivery.uuid;
    for (const e of early) {
      if (e.originalUuid !== uuid) continue;
      acks.push(e);
      printAck(e);
    }
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

/**
 * The line `listen --json` prints once it listens (subscriptions in place
 * where the endpoints are reachable), so scripts send only after it: each
 * transport with how many of its endpoints are connected.
 */
export function readyJson(b: Broadcaster): string {
  const transports = Object.fromEntries(
    b.transports.map((t) => {
      const status = t.status();
      return [t.id, { connected: status.filter((s) => s.connected).length, endpoints: status.length }];
    }),
  );
  return JSON.stringify({ event: 'ready', magnetLink: b.magnetLink, transports });
}

/**
 * Prints each new message and acknowledges it (the broadcaster does). With
 * --count N it prints exactly N and exits. Messages that arrive in the same
 * burst after the Nth (a backlog the broker replays at once) have been
 * acknowledged and recorded by then: they are counted on stderr rather than
 * printed, so neither stdout nor the silence lies about them.
 */
export async function listen(o: ListenOptions, out: Out, err: Err = (s) => process.stderr.write(s)): Promise<void> {
  const node = await openNode(cliConfig(o, { quiet: true }), { identityFile: o.identity });
  let seen = 0;
  let beyond = 0;
  let reachedCount: () => void = () => undefined;
  const counted = new Promise<void>((resolve) => (reachedCount = resolve));
  node.broadcaster.on('message', (e) => {
    if (o.count !== undefined && seen >= o.count) {
      beyond++;
      return;
    }
    seen++;
    if (o.json) out(`${messageJson(e)}\n`);
    else {
      const who = shortNpub(npubOf(e.sender));
      out(`[${clockTime(e.message.timestamp)}] ${who}${e.verified ? '' : ' (unverified)'}: ${e.message.content}\n  First received via: ${protocolName(e.via)}\n`);
    }
    if (o.count !== undefined && seen >= o.count) reachedCount();
  });
  try {
    await node.broadcaster.start();
    const signalled = untilSignal(); // before the ready line (see service.ts)
    out(o.json ? `${readyJson(node.broadcaster)}\n` : `Listening as ${node.broadcaster.magnetLink}\n`);
    await Promise.race([counted, signalled]);
    await node.broadcaster.idle();
  } finally {
    await node.close();
  }
  if (beyond > 0) {
    err(
      `roomcast: ${beyond} more message${beyond === 1 ? '' : 's'} arrived after the first ${o.count} and ${beyond === 1 ? 'was' : 'were'} acknowledged but not printed (--count ${o.count})\n`,
    );
  }
}
