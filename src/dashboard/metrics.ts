/**
 * Series read when /metrics is scraped, not kept up to date in between: job
 * counts per queue and state, rooms bridged, and Node's default process
 * metrics. Registered once per registry.
 */
import { collectDefaultMetrics, Gauge } from 'prom-client';
import type { Metrics } from '../observability/metrics.js';
import type { QueueBackend } from '../queue/backend.js';

const registered = new WeakSet<object>();

export interface CollectorSources {
  readonly queue: QueueBackend;
  readonly queueNames: { readonly outbound: string; readonly inbound: string };
  readonly roomsBridged: () => Promise<number>;
}

export function registerCollectors(metrics: Metrics, sources: CollectorSources): void {
  if (registered.has(metrics.registry)) return;
  registered.add(metrics.registry);
  collectDefaultMetrics({ register: metrics.registry });
  new Gauge({
    name: 'roomcast_queue_jobs',
    help: 'Jobs per queue (outbound, inbound) and state (waiting, active, delayed, failed, completed)',
    labelNames: ['queue', 'state'] as const,
    registers: [metrics.registry],
    async collect() {
      for (const [queue, name] of Object.entries(sources.queueNames)) {
        const counts = await sources.queue.counts(name).catch(() => undefined);
        if (!counts) continue; // the backend is away: /readyz says so; no made-up zeros here
        for (const [state, n] of Object.entries(counts)) this.set({ queue, state }, n);
      }
    },
  });
  new Gauge({
    name: 'roomcast_rooms_bridged',
    help: 'Rooms bridged now (the bot is in them)',
    registers: [metrics.registry],
    async collect() {
      this.set(await sources.roomsBridged());
    },
  });
}
