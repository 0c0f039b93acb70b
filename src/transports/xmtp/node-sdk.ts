/**
 * The real XMTP network on @xmtp/node-sdk 4.4.0 (DEPENDENCIES.md: the newest
 * release that loads on Node 20 / glibc 2.36). Everything SDK-specific lives
 * here, behind the seam in seam.ts.
 *
 * Verified offline: the signer's EIP-191 signatures (tests recover the
 * address), and that Client.create fails fast against an unreachable node.
 * Verified only by the opt-in live test (XMTP_LIVE=1): registration, DM
 * sends and streaming against the dev network.
 */
import type { Client, Identifier, IdentifierKind, Signer } from '@xmtp/node-sdk';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import type { XmtpCreateOptions, XmtpInboundDm, XmtpNetwork, XmtpSession } from './seam.js';

/**
 * IdentifierKind.Ethereum. The bindings declare IdentifierKind as an ambient
 * const enum, which isolatedModules forbids reading; its value is fixed by the
 * wire format.
 */
const ETHEREUM = 0 as IdentifierKind;
/** Sender inbox → addresses, remembered so each message does not cost a lookup. */
const INBOX_CACHE_SIZE = 1024;

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
  ) {}

  async sendDm(toAddress: string, text: string): Promise<void> {
    if (this.closed) throw new Error('xmtp session closed');
    // createDm returns the existing DM with that inbox when there is one.
    const dm = await this.client.conversations.newDmWithIdentifier(ethIdentifier(toAddress));
    await dm.send(text);
  }

  async streamDms(onMessage: (m: XmtpInboundDm) => void, opts?: { readonly sinceMs?: number }): Promise<() => Promise<void>> {
    if (this.closed) throw new Error('xmtp session closed');
    const stream = await this.client.conversations.streamAllDmMessages();
    let ended = false;
    const end = async () => {
      if (ended) return;
      ended = true;
      this.streams.delete(end);
      await stream.end();
    };
    this.streams.add(end);
    /** Ids handled recently: the replay and the stream may both carry a message. */
    const seen = new Set<string>();
    const handle = async (msg: SdkMessage) => {
      if (ended || seen.has(msg.id)) return;
      seen.add(msg.id);
      if (seen.size > SEEN_IDS) seen.delete(seen.values().next().value as string);
      if (msg.kind !== 'application' || typeof msg.content !== 'string') return; // membership changes, reactions, …
      try {
        const senderAddresses = await this.addressesOf(msg.senderInboxId);
        onMessage({ senderAddresses, text: msg.content, sentAtMs: msg.sentAt.getTime() });
      } catch {
        // The sender could not be resolved to an address: it cannot be attributed, so it is dropped.
      }
    };
    void (async () => {
      for await (const msg of stream) {
        if (ended) break;
        await handle(msg);
      }
    })().catch(() => undefined);
    if (opts?.sinceMs !== undefined) {
      await this.client.conversations.syncAll();
      for (const dm of this.client.conversations.listDms()) {
        // sentAfterNs is exclusive and a JS number (ns lose precision): step back 1 ms.
        for (const msg of await dm.messages({ sentAfterNs: (opts.sinceMs - 1) * 1e6 })) await handle(msg);
      }
    }
    return end;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.streams].map((end) => end().catch(() => undefined)));
    // 4.4.0 has no client.close(); the native client is released with the object.
  }

  /** Ethereum addresses associated with an inbox (from the network the first time). */
  private async addressesOf(inboxId: string): Promise<readonly string[]> {
    const cached = this.inboxAddresses.get(inboxId);
    if (cached) return cached;
    const [state] = await this.client.preferences.inboxStateFromInboxIds([inboxId], true);
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
  async create(opts: XmtpCreateOptions): Promise<XmtpSession> {
    const { Client } = await import('@xmtp/node-sdk');
    const client = await Client.create(eoaSigner(opts.privateKey, opts.address), {
      env: opts.env,
      dbPath: opts.dbPath,
      dbEncryptionKey: opts.dbEncryptionKey,
    });
    return new NodeSdkSession(client, opts.address);
  },
};
