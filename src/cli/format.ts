/**
 * Human-readable lines for the terminal client, in the prototype's words
 * ("Delivery status: ✓ nostr (3/3 relays) 245ms · ✓ MQTT (3/3 brokers) 12ms").
 */
import type { AckEvent, CopyEvent } from '../broadcaster/events.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { SendReport } from '../transports/transport.js';

export { formatReport, protocolName, reasonText } from '../text/delivery.js';
import { networkDisplay } from '../transports/registry.js';
import { formatReport, protocolName } from '../text/delivery.js';

/** "MQTT (1/3 brokers)": how many of a network's endpoints are connected. */
export function formatConnected(p: ProtocolId, connected: number, total: number): string {
  const d = networkDisplay(p);
  return `${d.label} (${connected}/${total} ${d.endpointNoun})`;
}

export function formatDelivery(reports: readonly SendReport[]): string {
  if (reports.length === 0) return 'Delivery status: no transport is configured';
  return `Delivery status: ${reports.map(formatReport).join(' · ')}`;
}

/**
 * "✓ Acknowledged via MQTT (+41ms)", and with `about` (the acknowledged
 * message, for screens that show several): "… (+41ms): “Hi Bob!”".
 */
export function formatAck(e: Pick<AckEvent, 'via' | 'latencyMs'>, about?: string): string {
  const base = `✓ Acknowledged via ${protocolName(e.via)} (+${Math.round(e.latencyMs)}ms)`;
  return about === undefined ? base : `${base}: “${excerpt(about)}”`;
}

/** The first line of `text`, at most `max` characters (an ellipsis marks a cut). */
export function excerpt(text: string, max = 40): string {
  const line = text.split('\n')[0] ?? '';
  const cut = line.length > max || line.length < text.length;
  return cut ? `${line.slice(0, max).trimEnd()}…` : line;
}

/** "npub1abcdefg…wxyz": enough to tell people apart on screen. */
export function shortNpub(npub: string): string {
  return npub.length > 20 ? `${npub.slice(0, 12)}…${npub.slice(-4)}` : npub;
}

/** Local "HH:MM:SS", with the date in front when `at` is not today. */
export function clockTime(at: number, now: number = Date.now()): string {
  const d = new Date(at);
  const two = (n: number) => String(n).padStart(2, '0');
  const time = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  return new Date(now).toDateString() === d.toDateString() ? time : `${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${time}`;
}

/** "First received via: MQTT — also: nostr (+120ms)". */
export function formatArrival(first: ProtocolId, later: ReadonlyArray<Pick<CopyEvent, 'via' | 'afterFirstMs'>>): string {
  const seen = new Set<ProtocolId>([first]);
  const also: string[] = [];
  for (const c of later) {
    if (seen.has(c.via)) continue;
    seen.add(c.via);
    also.push(`${protocolName(c.via)} (+${Math.round(c.afterFirstMs)}ms)`);
  }
  return `First received via: ${protocolName(first)}${also.length ? ` — also: ${also.join(', ')}` : ''}`;
}
