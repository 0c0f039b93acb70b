/**
 * An in-memory XMTP network implementing the transport's seam: DMs routed by
 * recipient address, echoed back to the sender as real XMTP does, a switch
 * that makes it unreachable (creation and sends fail like the SDK does with no
 * network), switches that make it refuse writes or end streams with XMTP's
 * cut-over errors, and a back door to deliver what the network would report
 * for messages a real client cannot produce.
 */
import type { XmtpCreateOptions, XmtpInboundDm, XmtpNetwork, XmtpSession } from '../../src/transports/xmtp/seam.js';

/** What the native SDK throws with no network (DEPENDENCIES.md). */
export function unreachableError(): Error {
  return Object.assign(
    new Error('api client error api client at endpoint "get_inbox_ids" has error status: \'The service is currently unavailable\', self: "tcp connect error"'),
    { code: 'GenericFailure' },
  );
}

/**
 * What the SDK throws when XMTP's old servers refuse a write after the
 * cut-over: the text 5.5.0 produced against test/fakes/xmtp-node.ts answering
 * every call with the cut-over status, with the write endpoint named instead
 * of the identity lookup that test reaches.
 */
export function publishingCutOverError(): Error {
  return Object.assign(
    new Error(
      'api client error api client at endpoint "/xmtp.mls.api.v1.MlsApi/SendGroupMessages" has error status: ' +
        '\'The system is not in a state required for the operation\'s execution\', self: "publishing to XMTP V3 is no longer available. Please upgrade your client to XMTP D14N."',
    ),
    { code: 'GenericFailure' },
  );
}

/** What ends a stream after the cut-over (the servers' text, as the SDK passes it on). */
export function streamingCutOverError(): Error {
  return Object.assign(new Error('stream error: "XMTP V3 streaming is no longer available. Please upgrade your client to XMTP D14N."'), {
    code: 'GenericFailure',
  });
}

type Listener = (m: XmtpInboundDm) => void;
interface Stream {
  readonly address: string;
  readonly onMessage: Listener;
  readonly onEnd: ((err: unknown) => void) | undefined;
}

export class MemoryXmtpNetwork implements XmtpNetwork {
  readonly client = 'in-memory XMTP network';
  /** When true, create and send fail as with no network. */
  unreachable = false;
  /** When set, create throws it (after recording the call). */
  createError: (() => Error) | undefined;
  /** When set, sendDm throws it. */
  sendError: (() => Error) | undefined;
  /** Number of sendDm calls that reached the network (failed ones included). */
  sendAttempts = 0;
  /** Artificial delay of create (ms), to test timeouts. */
  createDelayMs = 0;
  /** Every create call's options (tests check paths and db keys). */
  readonly creates: XmtpCreateOptions[] = [];
  /** Inbox addresses by member address: a test may link extra wallets to an inbox. */
  private readonly linked = new Map<string, string[]>();
  private readonly listeners = new Map<string, Set<Stream>>();
  /** Every message the network stored, by recipient address. */
  private readonly stored = new Map<string, XmtpInboundDm[]>();

  async create(opts: XmtpCreateOptions): Promise<XmtpSession> {
    this.creates.push(opts);
    if (this.createDelayMs > 0) await new Promise((r) => setTimeout(r, this.createDelayMs));
    if (this.unreachable) throw unreachableError();
    if (this.createError) throw this.createError();
    const address = opts.address.toLowerCase();
    const streams = new Set<Stream>();
    let closed = false;
    const net = this;
    return {
      address: opts.address,
      async sendDm(toAddress: string, text: string) {
        if (closed) throw new Error('session closed');
        net.sendAttempts++;
        if (net.unreachable) throw unreachableError();
        if (net.sendError) throw net.sendError();
        const m = { senderAddresses: net.addressesOf(address), text, sentAtMs: Date.now() };
        net.deliver(toAddress, m);
        net.deliver(address, m); // the echo
      },
      async streamDms(onMessage, opts) {
        if (closed) throw new Error('session closed');
        const stream: Stream = { address, onMessage, onEnd: opts?.onEnd };
        streams.add(stream);
        net.listenersOf(address).add(stream);
        const since = opts?.sinceMs;
        if (since !== undefined) {
          for (const m of net.stored.get(address) ?? []) if (m.sentAtMs >= since) queueMicrotask(() => onMessage(m));
        }
        return async () => {
          streams.delete(stream);
          net.listenersOf(address).delete(stream);
        };
      },
      async close() {
        closed = true;
        for (const l of streams) net.listenersOf(address).delete(l);
        streams.clear();
      },
    };
  }

  /** Lookups made by `reachable` (each one call, however many addresses). */
  reachabilityChecks = 0;

  /** An address has an inbox once a client was created for it (or it was linked to one). */
  async reachable(addresses: readonly string[]): Promise<Set<string>> {
    this.reachabilityChecks++;
    if (this.unreachable) throw unreachableError();
    const known = new Set([...this.creates.map((c) => c.address.toLowerCase()), ...[...this.linked.values()].flat()]);
    return new Set(addresses.map((a) => a.toLowerCase()).filter((a) => known.has(a)));
  }

  /** Links extra wallet addresses to the inbox of `address` (an XMTP inbox may own several). */
  link(address: string, ...others: string[]): void {
    this.linked.set(address.toLowerCase(), others.map((o) => o.toLowerCase()));
  }

  /** Stores and delivers a message to `toAddress` as if the network had authenticated `senderAddresses`. */
  deliver(toAddress: string, dm: Omit<XmtpInboundDm, 'sentAtMs'> & { sentAtMs?: number }): void {
    const m: XmtpInboundDm = { ...dm, sentAtMs: dm.sentAtMs ?? Date.now() };
    const to = toAddress.toLowerCase();
    const list = this.stored.get(to) ?? [];
    list.push(m);
    this.stored.set(to, list);
    for (const l of [...this.listenersOf(to)]) queueMicrotask(() => l.onMessage(m));
  }

  /** Ends every stream of `address` as the network would, with `err`; returns how many ended. */
  endStreams(address: string, err: Error): number {
    const streams = [...this.listenersOf(address)];
    for (const st of streams) {
      this.listenersOf(address).delete(st);
      queueMicrotask(() => st.onEnd?.(err));
    }
    return streams.length;
  }

  /** Number of open streams for an address. */
  streamCount(address: string): number {
    return this.listenersOf(address.toLowerCase()).size;
  }

  private addressesOf(address: string): string[] {
    return [address, ...(this.linked.get(address) ?? [])];
  }

  private listenersOf(address: string): Set<Stream> {
    let set = this.listeners.get(address.toLowerCase());
    if (!set) {
      set = new Set();
      this.listeners.set(address.toLowerCase(), set);
    }
    return set;
  }
}
