/**
 * Which addresses have an XMTP inbox, asked of the network without a client
 * of our own, remembered for a while, and batched: every lookup made in one
 * turn of the event loop goes out as one request (a thousand rooms starting
 * together ask once). One per process and environment (ConnectionPool).
 */
import type { Poolable } from '../connection-pool.js';
import type { XmtpEnvName } from './config.js';
import type { XmtpNetwork } from './seam.js';

interface Waiting {
  readonly addresses: readonly string[];
  readonly done: (found: Set<string> | undefined) => void;
}

export class XmtpReachability implements Poolable {
  private readonly known = new Map<string, { readonly yes: boolean; readonly at: number }>();
  private waiting: Waiting[] = [];
  private queued = false;

  constructor(
    private readonly network: XmtpNetwork,
    private readonly env: XmtpEnvName,
    /** How long an answer holds (an address may register later). */
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Which of `addresses` have an inbox (lower case), or undefined when the
   * network could not say (unreachable): callers then try, and a real send
   * reports the network's own failure.
   */
  check(addresses: readonly string[]): Promise<Set<string> | undefined> {
    const wanted = addresses.map((a) => a.toLowerCase());
    const t = this.now();
    if (wanted.every((a) => this.fresh(a, t))) return Promise.resolve(new Set(wanted.filter((a) => this.known.get(a)!.yes)));
    return new Promise((done) => {
      this.waiting.push({ addresses: wanted, done });
      if (this.queued) return;
      this.queued = true;
      setImmediate(() => void this.ask());
    });
  }

  async close(): Promise<void> {
    for (const w of this.waiting.splice(0)) w.done(undefined);
  }

  private fresh(address: string, t: number): boolean {
    const k = this.known.get(address);
    return k !== undefined && t - k.at < this.ttlMs;
  }

  private async ask(): Promise<void> {
    this.queued = false;
    const batch = this.waiting.splice(0);
    const t = this.now();
    const unknown = [...new Set(batch.flatMap((w) => w.addresses))].filter((a) => !this.fresh(a, t));
    try {
      const found = unknown.length > 0 ? await this.network.reachable(unknown, this.env) : new Set<string>();
      for (const a of unknown) this.known.set(a, { yes: found.has(a), at: t });
      for (const w of batch) w.done(new Set(w.addresses.filter((a) => this.known.get(a)?.yes === true)));
    } catch {
      for (const w of batch) w.done(undefined);
    }
  }
}
