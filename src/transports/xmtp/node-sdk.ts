/**
 * The real XMTP network on @xmtp/node-sdk 5.5.0, the newest release whose
 * native bindings load on these machines (glibc 2.36; 6.x needs 2.38) and the
 * first line XMTP supports on its decentralised network. Everything
 * SDK-specific lives here, behind the seam in seam.ts: moving to another SDK
 * major is this one file.
 *
 * Verified offline: the signer's EIP-191 signatures (tests recover the
 * address); that Client.create fails fast against an unreachable node; and,
 * against a fake node answering every call with XMTP's cut-over status, that
 * the SDK's error carries the migration text the transport classifies.
 * Verified only by the opt-in live test (XMTP_LIVE=1): registration, DM sends
 * and streaming against the dev network.
 */
import type { Client, GroupMessageKind, Identifier, IdentifierKind, Signer } from '@xmtp/node-sdk';
import sdkPackage from '@xmtp/node-sdk/package.json' with { type: 'json' };
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { XmtpEnvName } from './config.js';
import type { XmtpCreateOptions, XmtpInboundDm, XmtpNetwork, XmtpSession, XmtpStreamOptions } from './seam.js';

/**
 * IdentifierKind.Ethereum and GroupMessageKind.Application. The bindings
 * declare both as ambient const enums, which isolatedModules forbids reading;
 * their values are fixed by the wire format.
 */
const ETHEREUM = 0 as IdentifierKind;
const APPLICATION = 0 as GroupMessageKind;
/** Sender inbox → addresses, remembered so each message does not cost a lookup. */
const INBOX_CACHE_SIZE = 1024;
const NS_PER_MS = 1_000_000n;

/** An XMTP identifier for an Ethereum address (the SDK expects lower case). */
export function ethIdentifier(address: string): Identifier {
  return { identifier: address.toLowerCase(), identifierKind: ETHEREUM };
}

/** EIP-191 `personal_sign` digest of a UTF-8 message. */
export function personalMessageHash(message: string): Uint8Array {
  const body = new TextEncoder().encode(message);
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${body.length}`);
  const all = new Uint8Array(prefix.length + body.length);
  all.set(prefix, 0);
  all.set(body, prefix.length);
  return keccak_256(all);
}

/** A 65-byte `personal_sign` signature r ‖ s ‖ v (v = 27 + recovery bit), as wallets produce. */
export function personalSign(privateKey: Uint8Array, message: string): Uint8Array {
  // noble's 'recovered' format is recovery ‖ r ‖ s; Ethereum puts v last.
  const sig = secp256k1.sign(personalMessageHash(message), privateKey, { prehash: false, format: 'recovered' });
  const out = new Uint8Array(65);
  out.set(sig.subarray(1, 65), 0);
  out[64] = 27 + sig[0]!;
  return out;
}

/** The EOA signer XMTP registers an inbox with: the identity's secp256k1 key. */
export function eoaSigner(privateKey: Uint8Array, address: string): Signer {
  return {
    type: 'EOA',
    getIdentifier: () => ethIdentifier(address),
    signMessage: (message: string) => personalSign(privateKey, message),
  };
}

/** ms since the epoch of a nanosecond timestamp. */
export function nsToMs(ns: bigint): number {
  return Number(ns / NS_PER_MS);
}

/**
 * The `sentAfterNs` bound (exclusive in the SDK) that lists messages sent at
 * or after `ms`.
 */
export function sentAtOrAfterNs(ms: number): bigint {
  return BigInt(Math.trunc(ms)) * NS_PER_MS - 1n;
}

type SdkClient = Awaited<ReturnType<typeof Client.create>>;
type SdkMessage = Awaited<ReturnType<ReturnType<SdkClient['conversations']['listDms']>[number]['messages']>>[number];
/** Message ids remembered per stream to drop the replay/stream overlap. */
const SEEN_IDS = 4096;

class NodeSdkSession implements XmtpSession {
  private readonly inboxAddresses = new Map<string, readonly string[]>();
  private readonly streams = new Set<() => Promise<void>>();
  private closed = false;

  constructor(
    private readonly client: SdkClient,
    readonly address: string,
    /** Whether an error is the SDK's StreamFailedError (the stream gave up); its class comes with the lazily loaded SDK. */
    private readonly isStreamFailure: (err: unknown) => boolean,
  ) {}

  async sendDm(toAddress: string, text: string): Promise<void> {
    if (this.closed) throw new Error('xmtp session closed');
    // Returns the existing DM with that inbox when there is one.
    const dm = await this.client.conversations.createDmWithIdentifier(ethIdentifier(toAddress));
    await dm.sendText(text);
  }

  async streamDms(onMessage: (m: XmtpInboundDm) => void, opts?: XmtpStreamOptions): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('xmtp session closed');
    let ended = false;
    let failed = false;
    /** The newest error the SDK reported; StreamFailedError carries no cause, so this names it. */
    let lastError: unknown;
    let setUp = false;
    let setUpError: unknown;
    const fail = (err: unknown) => {
      if (ended || failed) return;
      failed = true;
      if (!setUp) setUpError = err;
      else opts?.onEnd?.(err);
    };
    // retryOnFail is off: the SDK's own restart would not replay what arrived
    // meanwhile, so the transport reconnects and replays from its cursor instead.
    const stream = await this.client.conversations.streamAllDmMessages({
      retryOnFail: false,
      onError: (err) => {
        if (this.isStreamFailure(err)) fail(lastError ?? err);
        else lastError = err;
      },
    });
    setUp = true;
    const end = async () => {
      if (ended) return;
      ended = true;
      this.streams.delete(end);
      await stream.end();
    };
    if (failed) {
      await end();
      throw setUpError ?? lastError;
    }
    this.streams.add(end);
    /** Ids handled recently: the replay and the stream may both carry a message. */
    const seen = new Set<string>();
    const handle = async (msg: SdkMessage) => {
      if (ended || seen.has(msg.id)) return;
      seen.add(msg.id);
      if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value as string);
      if (msg.kind !== APPLICATION || typeof msg.content !== 'string') return; // membership changes, reactions, …
      try {
        const senderAddresses = await this.addressesOf(msg.senderInboxId);
        onMessage({ senderAddresses, text: msg.content, sentAtMs: nsToMs(msg.sentAtNs) });
      } catch {
        // The sender could not be resolved to an address: it cannot be attributed, so it is dropped.
      }
    };
    void (async () => {
      for await (const msg of stream) {
        if (ended) break;
        await handle(msg);
      }
      if (!ended) fail(lastError ?? new Error('xmtp stream ended'));
    })().catch((err: unknown) => fail(err));
    if (opts?.sinceMs !== undefined) {
      try {
        await this.client.conversations.syncAll();
        for (const dm of this.client.conversations.listDms()) {
          for (const msg of await dm.messages({ sentAfterNs: sentAtOrAfterNs(opts.sinceMs) })) await handle(msg);
        }
      } catch (err) {
        await end();
        throw err;
      }
    }
    return end;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.streams].map((end) => end().catch(() => undefined)));
    // 5.5.0 has no client.close(); the native client is released with the object.
  }

  /** Ethereum addresses associated with an inbox (from the network the first time). */
  private async addressesOf(inboxId: string): Promise<readonly string[]> {
    const cached = this.inboxAddresses.get(inboxId);
    if (cached) return cached;
    const [state] = await this.client.preferences.fetchInboxStates([inboxId]);
    const addresses = (state?.identifiers ?? []).filter((i) => i.identifierKind === ETHEREUM).map((i) => i.identifier.toLowerCase());
    if (this.inboxAddresses.size >= INBOX_CACHE_SIZE) {
      const oldest = this.inboxAddresses.keys().next().value;
      if (oldest !== undefined) this.inboxAddresses.delete(oldest);
    }
    this.inboxAddresses.set(inboxId, addresses);
    return addresses;
  }
}

/**
 * The XMTP network through @xmtp/node-sdk. The SDK (a native module) is loaded
 * on first use, so a machine where it cannot load still runs the other
 * transports; the load error then surfaces as a failed creation.
 */
export const nodeSdkNetwork: XmtpNetwork = {
  client: `@xmtp/node-sdk ${sdkPackage.version}`,
  async create(opts: XmtpCreateOptions): Promise<XmtpSession> {
    const { Client, StreamFailedError } = await import('@xmtp/node-sdk');
    const client = await Client.create(eoaSigner(opts.privateKey, opts.address), {
      env: opts.env,
      dbPath: opts.dbPath,
      dbEncryptionKey: opts.dbEncryptionKey,
      ...(opts.gatewayHost !== undefined ? { gatewayHost: opts.gatewayHost } : {}),
    });
    return new NodeSdkSession(client, opts.address, (err) => err instanceof StreamFailedError);
  },
  async reachable(addresses: readonly string[], env: XmtpEnvName): Promise<Set<string>> {
    const { Client } = await import('@xmtp/node-sdk');
    const answer = await Client.canMessage(addresses.map(ethIdentifier), env);
    return new Set([...answer].filter(([, yes]) => yes).map(([address]) => address.toLowerCase()));
  },
};
