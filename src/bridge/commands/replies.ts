/**
 * The text of command replies: plain text, one post, compact enough for a
 * chat room. Pure functions of what the store and the status say, so each
 * reply is tested without a room. Receipt lines reuse the terminal client's
 * words (cli/format.ts), so a person sees the same "✓ nostr (3/3 relays)
 * 245ms" everywhere.
 */
import { nip19 } from 'nostr-tools';
import { formatReport, protocolName } from '../../text/delivery.js';
import type { ProtocolId } from '../../protocol/chat-message.js';
import type { ChannelPreferenceRow, Contact, Receipt, SendResult, StoredMessage } from '../../store/store.js';
import type { EndpointResult, EndpointStatus, SendReport, TransportId } from '../../transports/transport.js';
import type { PlatformStatus } from '../../platforms/platform.js';
import { COMMAND_SPECS, NAME_RULE } from './parse.js';

/** Discord's limit; a platform's own `capabilities.maxMessageChars` overrides it. */
export const DEFAULT_MAX_REPLY_CHARS = 2000;

export interface TransportStatus {
  readonly id: TransportId;
  readonly endpoints: readonly EndpointStatus[];
}

/** What `status` reports: endpoint state per transport, and job counts per queue (e.g. outbound → { waiting: 3, failed: 0 }). */
export interface BridgeStatus {
  /** The room's platform and, where it has a connection, how it stands. */
  readonly platform?: { readonly id: string; readonly status?: PlatformStatus };
  readonly transports: readonly TransportStatus[];
  readonly queues: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** One sent message with everything known of its delivery. */
export interface SentMessageReceipts {
  readonly message: StoredMessage;
  /** Contact name of the recipient, when it is (still) a contact. */
  readonly peerName?: string;
  readonly sends: readonly SendResult[];
  readonly receipts: readonly Receipt[];
}

/**
 * Cuts text to at most `max` characters (UTF-16 units, never more than the
 * platform counts), ending with "…"; at a line break when one is near, and
 * never inside a surrogate pair.
 */
export function clampReply(text: string, max: number = DEFAULT_MAX_REPLY_CHARS): string {
  if (text.length <= max) return text;
  let cut = Math.max(0, max - 1);
  const newline = text.lastIndexOf('\n', cut);
  if (newline > max * 0.75) cut = newline;
  const code = text.charCodeAt(cut - 1);
  if (code >= 0xd800 && code <= 0xdbff) cut--;
  return `${text.slice(0, cut).trimEnd()}…`;
}

export function helpText(prefix: string): string {
  const lines = COMMAND_SPECS.map((s) => `${prefix} ${s.usage} — ${s.description}${s.moderatorOnly ? ' (moderators only)' : ''}`);
  return ['roomcast commands:', ...lines, `Contact names: ${NAME_RULE}.`].join('\n');
}

export function whoamiText(owner: { magnetLink: string; npub: string; ethAddress: string }): string {
  return [
    "This room's identity. Give the magnet link to contacts so they can reach the room:",
    owner.magnetLink,
    `Nostr: ${owner.npub}`,
    `XMTP (Ethereum address): ${owner.ethAddress}`,
  ].join('\n');
}

export function contactsText(contacts: readonly Contact[], prefix: string): string {
  if (contacts.length === 0) return `This room has no contacts yet. A moderator can add one: ${prefix} contact add <name> <magnet>`;
  return [`Contacts (${contacts.length}):`, ...contacts.map((c) => `• ${c.name} — ${npubOfKey(c.xOnly)}`)].join('\n');
}

/** "no contact named "carol". Contacts: alice, bob." with a case-insensitive "did you mean". */
export function unknownContactText(name: string, contacts: readonly Contact[], prefix: string): string {
  if (contacts.length === 0) return `No contact named "${name}": this room has no contacts yet. A moderator can add one: ${prefix} contact add <name> <magnet>`;
  const sameLetters = contacts.find((c) => c.name.toLowerCase() === name.toLowerCase());
  const hint = sameLetters ? ` Did you mean "${sameLetters.name}"? Names are case-sensitive.` : '';
  return `No contact named "${name}".${hint} Contacts: ${contacts.map((c) => c.name).join(', ')}.`;
}

export function receiptsText(items: readonly SentMessageReceipts[], asked: number, now: number): string {
  if (items.length === 0) return 'No messages have been sent from this room yet.';
  const head = items.length < asked ? `The ${items.length} sent message${items.length === 1 ? '' : 's'} found, newest first:` : `Last ${items.length} sent message${items.length === 1 ? '' : 's'}, newest first:`;
  return [head, ...items.map((item) => receiptLine(item, now))].join('\n');
}

function receiptLine(item: SentMessageReceipts, now: number): string {
  const m = item.message;
  const to = item.peerName ?? shortNpub(m.peer);
  const reports = reportsFrom(item.sends);
  const delivery = reports.length > 0 ? reports.map(formatReport).join(' · ') : m.state === 'pending' ? 'queued, not sent yet' : m.state;
  const acks = acksFrom(item.receipts);
  const acked = acks.length > 0 ? ` — acked via ${acks.map((a) => `${protocolName(a.protocol)} +${Math.round(a.latencyMs)}ms`).join(', ')}` : '';
  return `• to ${to}, ${ago(m.timestamp, now)}: "${preview(m.content)}" — ${delivery}${acked}`;
}

/**
 * One SendReport per protocol from the stored per-endpoint results of every
 * attempt: the latest result of each endpoint counts (a retry sends only
 * what failed, so an endpoint's last word is its state).
 */
export function reportsFrom(sends: readonly SendResult[]): SendReport[] {
  const byProtocol = new Map<ProtocolId, Map<string, SendResult>>();
  for (const r of sends) {
    const endpoints = byProtocol.get(r.protocol) ?? new Map<string, SendResult>();
    endpoints.set(r.endpoint, r);
    byProtocol.set(r.protocol, endpoints);
  }
  return [...byProtocol].map(([transport, endpoints]) => {
    const results: EndpointResult[] = [...endpoints.values()].map((r) => ({
      endpoint: r.endpoint,
      ok: r.ok,
      latencyMs: r.latencyMs,
      ...(r.reason ? { reason: r.reason } : {}),
      ...(r.error ? { error: r.error } : {}),
    }));
    const ok = results.filter((e) => e.ok);
    const failed = results.find((e) => !e.ok);
    return ok.length > 0
      ? { transport, ok: true, endpoints: results, latencyMs: Math.min(...ok.map((e) => e.latencyMs)) }
      : { transport, ok: false, endpoints: results, latencyMs: Math.max(...results.map((e) => e.latencyMs)), reason: failed?.reason ?? 'error', ...(failed?.error ? { error: failed.error } : {}) };
  });
}

/** The fastest ack per protocol, fastest first. */
function acksFrom(receipts: readonly Receipt[]): Array<{ protocol: ProtocolId; latencyMs: number }> {
  const best = new Map<ProtocolId, number>();
  for (const r of receipts) {
    if (r.kind !== 'ack') continue;
    best.set(r.protocol, Math.min(best.get(r.protocol) ?? Number.POSITIVE_INFINITY, r.latencyMs));
  }
  return [...best].map(([protocol, latencyMs]) => ({ protocol, latencyMs })).sort((a, b) => a.latencyMs - b.latencyMs);
}

export function prefsText(name: string, rows: readonly ChannelPreferenceRow[], now: number): string {
  if (rows.length === 0) return `Nothing learned about ${name} yet: preferences come from their acks to messages this room sends them.`;
  const lines = rows.map((r) => {
    const parts = [r.working ? 'working' : 'not working'];
    parts.push(r.samples > 0 && r.avgLatencyMs !== undefined ? `mean ${Math.round(r.avgLatencyMs)}ms over ${r.samples} ack${r.samples === 1 ? '' : 's'}` : 'no acks yet');
    if (r.lastAckAt !== undefined) parts.push(`last ack ${ago(r.lastAckAt, now)}`);
    if (r.cannotUse) parts.push(`${name} says it cannot use ${protocolName(r.protocol)}`);
    return `${r.preferenceOrder}. ${protocolName(r.protocol)} — ${parts.join(' · ')}`;
  });
  return [`Channel preferences for ${name}, preferred first (learned from acks):`, ...lines].join('\n');
}

export function statusText(status: BridgeStatus, now: number): string {
  const lines: string[] = [];
  if (status.platform) {
    const p = status.platform.status;
    if (!p) lines.push(`Platform ${status.platform.id}: in-process`);
    else {
      const state = p.connected ? `connected ${since(p.since, now)}` : `not connected ${since(p.since, now)}`;
      lines.push(`Platform ${status.platform.id}: ${p.connected ? '✓' : '✗'} ${state} — ${p.detail}`);
      if (p.lastError) lines.push(`  last error ${ago(p.lastError.at, now)}: ${p.lastError.message}`);
    }
  }
  lines.push('Transports:');
  if (status.transports.length === 0) lines.push('none configured');
  for (const t of status.transports) {
    const up = t.endpoints.filter((e) => e.connected).length;
    lines.push(`${protocolName(t.id)}: ${up}/${t.endpoints.length} up`);
    for (const e of t.endpoints) {
      const state = e.connected ? `up ${since(e.since, now)}` : `down ${since(e.since, now)}${e.lastError ? ` (${e.lastError})` : ''}`;
      lines.push(`  ${e.connected ? '✓' : '✗'} ${e.endpoint} — ${state}`);
    }
  }
  const queues = Object.entries(status.queues);
  lines.push('Queues:');
  if (queues.length === 0) lines.push('none');
  for (const [name, counts] of queues) {
    const parts = Object.entries(counts).map(([state, n]) => `${state} ${n}`);
    lines.push(`${name}: ${parts.length > 0 ? parts.join(' · ') : 'no counts'}`);
  }
  return lines.join('\n');
}

/** "5m ago"; "just now" under a second. */
export function ago(at: number, now: number): string {
  const ms = now - at;
  return ms < 1000 ? 'just now' : `${duration(ms)} ago`;
}

function since(at: number, now: number): string {
  return now - at < 1000 ? 'since just now' : `for ${duration(now - at)}`;
}

function duration(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 48 * 3600) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

function preview(content: string): string {
  const chars = Array.from(content.replace(/\s+/g, ' ').trim());
  return chars.length > 40 ? `${chars.slice(0, 39).join('')}…` : chars.join('');
}

export function npubOfKey(xOnly: string): string {
  try {
    return nip19.npubEncode(xOnly);
  } catch {
    return xOnly;
  }
}

function shortNpub(xOnly: string): string {
  const npub = npubOfKey(xOnly);
  return npub.length > 20 ? `${npub.slice(0, 12)}…${npub.slice(-6)}` : npub;
}
