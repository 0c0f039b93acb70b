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
}

export function createMetrics(registry = new Registry()): Metrics {
  return {
    registry,
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
  };
}
