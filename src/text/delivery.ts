/**
 * Delivery text shared by the terminal and the rooms: network names, failure
 * reasons, one network's send report ("✓ MQTT (2/3 brokers) 12ms", "✗ nostr
 * timeout"). Network names come from each transport's display data.
 */
import type { FailureReason, SendReport } from '../common/delivery.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import { networkDisplay } from '../transports/registry.js';

export function protocolName(p: ProtocolId): string {
  return networkDisplay(p).label;
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
  const d = networkDisplay(r.transport);
  const okCount = r.endpoints.filter((e) => e.ok).length;
  const counts = r.endpoints.length > 1 || d.countEndpoints ? ` (${okCount}/${r.endpoints.length} ${d.endpointNoun})` : '';
  return r.ok ? `✓ ${d.label}${counts} ${Math.round(r.latencyMs)}ms` : `✗ ${d.label}${r.endpoints.length ? counts : ''} ${reasonText(r.reason)}`;
}
