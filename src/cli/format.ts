/**
 * Human-readable lines for the terminal client, in the prototype's words
 * ("Delivery status: ✓ nostr (3/3 relays) 245ms · ✓ MQTT (3/3 brokers) 12ms").
 */
import type { AckEvent, CopyEvent } from '../broadcaster/events.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { FailureReason, SendReport } from '../transports/transport.js';

/** How each network is named on screen, and what its endpoints are called. */
const DISPLAY: Readonly<Record<ProtocolId, { label: string; endpoints: string }>> = {
  nostr: { label: 'nostr', endpoints: 'relays' },
  mqtt: { label: 'MQTT', endpoints: 'brokers' },
  xmtp: { label: 'XMTP', endpoints: 'nodes' },
};

export function protocolName(p: ProtocolId): string {
  return DISPLAY[p].label;
}

/** A failure reason as people read it. */
const REASON_TEXT: Readonly<Record<FailureReason, string>> = {
  timeout: 'timeout',
  rejected: 'rejected',
  unreachable: 'unreachable',
  error: 'error',
  'upgrade-required': 'upgrade required (the network refuses this roomcast version)',
};

/** The words for a failure reason; an unknown or missing one is "failed". */
export function reasonText(reason: string | undefined): string {
  return reason !== undefined && Object.hasOwn(REASON_TEXT, reason) ? REASON_TEXT[reason as FailureReason] : 'failed';
}

/** "✓ MQTT (2/3 brokers) 12ms" or "✗ nostr timeout". */
export function formatReport(r: SendReport): string {
  const d = DISPLAY[r.transport];
  const okCount = r.endpoints.filter((e) => e.ok).length;
  const counts = r.endpoints.length > 1 || r.transport !== 'xmtp' ? ` (${okCount}/${r.endpoints.length} ${d.endpoints})` : '';
  return r.ok ? `✓ ${d.label}${counts} ${Math.round(r.latencyMs)}ms` : `✗ ${d.label}${r.endpoints.length ? counts : ''} ${reasonText(r.reason)}`;
}

/** "MQTT (1/3 brokers)": how many of a network's endpoints are connected. */
export function formatConnected(p: ProtocolId, connected: number, total: number): string {
  const d = DISPLAY[p];
  return `${d.label} (${connected}/${total} ${d.endpoints})`;
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
