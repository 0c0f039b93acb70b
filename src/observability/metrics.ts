/**
 * Counters every role exposes (prom-client). One registry per process role,
 * passed in, so tests can read figures without global state.
 */
import { Counter, Histogram, Registry } from 'prom-client';

export interface Metrics {
  readonly registry: Registry;
  readonly rejected: Counter<'transport' | 'code'>;
  readonly received: Counter<'transport' | 'kind'>;
  readonly duplicates: Counter<'transport'>;
  readonly sent: Counter<'transport' | 'outcome'>;
  readonly sendLatency: Histogram<'transport'>;
  /** Authenticated copies dropped, unstored, because their sender was over its token bucket (limits.perSender). */
  readonly rateLimited: Counter<'transport' | 'kind'>;
  /** Parts of unverified (unsigned) copies that were ignored: 'ack' (not counted as an ack), 'channel-preferences'. */
  readonly unverifiedIgnored: Counter<'transport' | 'what'>;
  /** Messages from non-contacts not queued into a room because its queue of such messages was full. */
  readonly inboxRefused: Counter<'platform'>;
  /** Events from a chat platform that were malformed or could not be read, by platform and reason; never bridged. */
  readonly platformRejected: Counter<'platform' | 'reason'>;
  /** Queue jobs that failed an attempt and will be tried again, by queue (outbound, inbound). */
  readonly retries: Counter<'queue'>;
}

export function createMetrics(registry = new Registry()): Metrics {
  return {
    registry,
    retries: new Counter({
      name: 'roomcast_job_retries_total',
      help: 'Queue jobs that failed an attempt and are tried again, by queue',
      labelNames: ['queue'] as const,
      registers: [registry],
    }),
    platformRejected: new Counter({
      name: 'roomcast_platform_events_rejected_total',
      help: 'Room events from a chat platform that were malformed or unreadable (never bridged), by platform and reason',
      labelNames: ['platform', 'reason'] as const,
      registers: [registry],
    }),
    rejected: new Counter({
      name: 'roomcast_inbound_rejected_total',
      help: 'Inbound copies refused, by transport and reason code',
      labelNames: ['transport', 'code'] as const,
      registers: [registry],
    }),
    received: new Counter({
      name: 'roomcast_inbound_accepted_total',
      help: 'Authenticated inbound copies, by transport and kind (message, ack)',
      labelNames: ['transport', 'kind'] as const,
      registers: [registry],
    }),
    duplicates: new Counter({
      name: 'roomcast_inbound_duplicates_total',
      help: 'Inbound message copies whose uuid was already seen (only a receipt was recorded)',
      labelNames: ['transport'] as const,
      registers: [registry],
    }),
    sent: new Counter({
      name: 'roomcast_sends_total',
      help: 'Sends per transport, by outcome (ok, failed)',
      labelNames: ['transport', 'outcome'] as const,
      registers: [registry],
    }),
    sendLatency: new Histogram({
      name: 'roomcast_send_latency_seconds',
      help: 'Time until the fastest endpoint of a transport accepted a send',
      labelNames: ['transport'] as const,
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    rateLimited: new Counter({
      name: 'roomcast_inbound_rate_limited_total',
      help: 'Authenticated inbound copies dropped unstored because their sender was over its rate limit, by transport and kind',
      labelNames: ['transport', 'kind'] as const,
      registers: [registry],
    }),
    unverifiedIgnored: new Counter({
      name: 'roomcast_inbound_unverified_ignored_total',
      help: 'Unverified (unsigned) inbound copies whose ack or channel preferences were ignored, by transport and what',
      labelNames: ['transport', 'what'] as const,
      registers: [registry],
    }),
    inboxRefused: new Counter({
      name: 'roomcast_room_inbox_refused_total',
      help: 'Messages from senders who are not contacts, not queued into a room because its queue of them was full',
      labelNames: ['platform'] as const,
      registers: [registry],
    }),
  };
}
