/**
 * The delivery receipt a room shows for one of its messages, built from what
 * the store recorded: per contact, per transport, the latest result of each
 * endpoint ("✓ nostr 3/3 245ms · ✓ MQTT 2/3 12ms · ✗ XMTP timeout"), then the
 * first ack per protocol ("acknowledged via MQTT +150ms").
 */
import { protocolName, reasonText } from '../text/delivery.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { Receipt, SendResult } from '../store/store.js';

export interface ContactReceipt {
  readonly name: string;
  readonly sends: readonly SendResult[];
  readonly receipts: readonly Receipt[];
}

export interface ProtocolOutcome {
  readonly protocol: ProtocolId;
  readonly ok: number;
  readonly endpoints: number;
  /** Fastest successful endpoint of the latest successful attempt. */
  readonly latencyMs?: number;
  /** Reason of the latest failure, when no endpoint is ok. */
  readonly reason?: string;
}

/** Latest result per endpoint, summed per protocol, in first-seen order. */
export function outcomes(sends: readonly SendResult[]): ProtocolOutcome[] {
  const latest = new Map<string, SendResult>();
  for (const s of sends) latest.set(`${s.protocol}|${s.endpoint}`, s); // oldest first: later attempts win
  const byProtocol = new Map<ProtocolId, SendResult[]>();
  for (const s of latest.values()) byProtocol.set(s.protocol, [...(byProtocol.get(s.protocol) ?? []), s]);
  return [...byProtocol].map(([protocol, rows]) => {
    const ok = rows.filter((r) => r.ok);
    return {
      protocol,
      ok: ok.length,
      endpoints: rows.length,
      ...(ok.length ? { latencyMs: Math.min(...ok.map((r) => r.latencyMs)) } : { reason: rows[rows.length - 1]?.reason ?? 'failed' }),
    };
  });
}

function outcomeText(o: ProtocolOutcome): string {
  const name = protocolName(o.protocol);
  return o.ok > 0 ? `✓ ${name} ${o.ok}/${o.endpoints} ${Math.round(o.latencyMs ?? 0)}ms` : `✗ ${name} ${reasonText(o.reason)}`;
}

function ackText(receipts: readonly Receipt[]): string | undefined {
  const first = new Map<ProtocolId, Receipt>();
  for (const r of receipts) if (r.kind === 'ack' && !first.has(r.protocol)) first.set(r.protocol, r);
  if (first.size === 0) return undefined;
  return `acknowledged via ${[...first.values()].map((r) => `${protocolName(r.protocol)} +${Math.round(r.latencyMs)}ms`).join(', ')}`;
}

/** One line per contact; the contact's name is left out when there is only one. */
export function receiptText(contacts: readonly ContactReceipt[]): string {
  return contacts
    .map((c) => {
      const sends = outcomes(c.sends).map(outcomeText).join(' · ') || 'not sent yet';
      const ack = ackText(c.receipts);
      const line = ack ? `${sends} — ${ack}` : sends;
      return contacts.length > 1 ? `${c.name}: ${line}` : line;
    })
    .join('\n');
}

/** True when the contact has the message on at least one transport. */
export function reached(sends: readonly SendResult[]): boolean {
  return sends.some((s) => s.ok);
}

/**
 * One contact's receipt for a message sent in parts, each part's sends and
 * receipts given separately: an endpoint counts as delivered when it
 * delivered every part (latency: the slowest part's), a protocol as
 * acknowledged when every part was acknowledged on it (the slowest ack).
 * One part is passed through unchanged.
 */
export function mergeParts(parts: ReadonlyArray<{ sends: readonly SendResult[]; receipts: readonly Receipt[] }>): { sends: SendResult[]; receipts: Receipt[] } {
  if (parts.length === 1) return { sends: [...parts[0]!.sends], receipts: [...parts[0]!.receipts] };
  const latestPerPart = parts.map((p) => {
    const latest = new Map<string, SendResult>();
    for (const s of p.sends) latest.set(`${s.protocol}|${s.endpoint}`, s);
    return latest;
  });
  const keys = new Set(latestPerPart.flatMap((m) => [...m.keys()]));
  const sends: SendResult[] = [];
  for (const key of keys) {
    const rows = latestPerPart.map((m) => m.get(key));
    const base = rows.find((r) => r !== undefined)!;
    const failed = rows.find((r) => r === undefined || !r.ok);
    if (failed === undefined) sends.push({ ...base, latencyMs: Math.max(...rows.map((r) => r!.latencyMs)) });
    else sends.push({ ...base, ok: false, latencyMs: base.latencyMs, ...(failed?.reason ? { reason: failed.reason } : {}) });
  }
  const receipts: Receipt[] = [];
  const protocols = new Set(parts.flatMap((p) => p.receipts.filter((r) => r.kind === 'ack').map((r) => r.protocol)));
  for (const protocol of protocols) {
    const firstAcks = parts.map((p) => p.receipts.find((r) => r.kind === 'ack' && r.protocol === protocol));
    if (firstAcks.every((r) => r !== undefined)) {
      const slowest = firstAcks.reduce((a, b) => (b!.latencyMs > a!.latencyMs ? b : a))!;
      receipts.push(slowest);
    }
  }
  return { sends, receipts };
}
