/**
 * Where every refused inbound copy ends up: counted by transport and reason,
 * and logged once. "Once" means one warning per distinct (transport, code,
 * detail) per window: a forged payload retained on three brokers, or a peer
 * spamming the same bad message, does not flood the log, while the counter
 * still counts every copy.
 */
import type { Rejection } from '../protocol/chat-message.js';
import type { RejectSink, TransportId } from '../transports/transport.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

const WINDOW_MS = 60_000;
const MAX_KEYS = 1000;

export function createRejectSink(log: Logger, metrics: Metrics, now: () => number = Date.now): RejectSink {
  const lastLogged = new Map<string, { at: number; suppressed: number }>();
  return (source: { transport: TransportId; endpoint: string }, rejection: Rejection) => {
    metrics.rejected.inc({ transport: source.transport, code: rejection.code });
    const key = `${source.transport}|${rejection.code}|${rejection.detail}`;
    const seen = lastLogged.get(key);
    const t = now();
    if (seen && t - seen.at < WINDOW_MS) {
      seen.suppressed++;
      return;
    }
    if (lastLogged.size >= MAX_KEYS) lastLogged.clear();
    lastLogged.set(key, { at: t, suppressed: 0 });
    log.warn(
      { transport: source.transport, endpoint: source.endpoint, code: rejection.code, ...(seen?.suppressed ? { repeatsSuppressed: seen.suppressed } : {}) },
      `rejected inbound copy: ${rejection.detail}`,
    );
  };
}
