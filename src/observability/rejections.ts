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

/**
 * Decides which occurrences of a repeated event get a log line: the first
 * per key, then the first after each window; the rest are only counted (by
 * the caller's metric) and reported as `repeatsSuppressed` on the next line.
 * Bounded: past `maxKeys` keys it starts over, so a flood of distinct keys
 * (e.g. senders with fresh keys) costs memory once, not forever.
 */
export class OncePerWindow {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly windowMs: number = WINDOW_MS,
    private readonly maxKeys: number = MAX_KEYS,
    private readonly now: () => number = Date.now,
  ) {}

  /** undefined: do not log this one. Otherwise log it, with `suppressed` repeats since the last line for the key. */
  hit(key: string): { suppressed: number } | undefined {
    const seen = this.last.get(key);
    const t = this.now();
    if (seen && t - seen.at < this.windowMs) {
      seen.suppressed++;
      return undefined;
    }
    if (this.last.size >= this.maxKeys) this.last.clear();
    this.last.set(key, { at: t, suppressed: 0 });
    return { suppressed: seen?.suppressed ?? 0 };
  }
}

export function createRejectSink(log: Logger, metrics: Metrics, now: () => number = Date.now): RejectSink {
  const once = new OncePerWindow(WINDOW_MS, MAX_KEYS, now);
  return (source: { transport: TransportId; endpoint: string }, rejection: Rejection) => {
    metrics.rejected.inc({ transport: source.transport, code: rejection.code });
    const logNow = once.hit(`${source.transport}|${rejection.code}|${rejection.detail}`);
    if (!logNow) return;
    log.warn(
      { transport: source.transport, endpoint: source.endpoint, code: rejection.code, ...(logNow.suppressed ? { repeatsSuppressed: logNow.suppressed } : {}) },
      `rejected inbound copy: ${rejection.detail}`,
    );
  };
}
