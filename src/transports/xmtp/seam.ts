/**
 * The narrow seam between the XMTP transport and the XMTP SDK: only the calls
 * the transport makes. The real implementation (node-sdk.ts) wraps
 * @xmtp/node-sdk; tests use an in-memory network. Addresses cross the seam as
 * 0x-prefixed hex in any case; compare them lower-cased.
 */
import type { XmtpEnvName } from './config.js';

export interface XmtpCreateOptions {
  /** The identity's secp256k1 private key (32 bytes): the EOA that owns the inbox. */
  readonly privateKey: Uint8Array;
  /** The Ethereum address of that key. */
  readonly address: string;
  /** Path of the local SDK database file (its folder exists). */
  readonly dbPath: string;
  /** 32-byte key the SDK encrypts its database with; must be the same on every start. */
  readonly dbEncryptionKey: Uint8Array;
  readonly env: XmtpEnvName;
  /** Host of the app's XMTP Gateway Service (pays for writes on the decentralised network); unset: none. */
  readonly gatewayHost?: string;
}

export interface XmtpStreamOptions {
  /**
   * Replay first the DM messages the network stored that were sent at or
   * after this time (ms); they arrived while nothing streamed. A message may
   * then come twice, which the receiver's de-duplication absorbs.
   */
  readonly sinceMs?: number;
  /**
   * Called at most once, when the stream ends on its own (the network failed
   * or closed it), with the error that ended it; never when the function
   * streamDms returned ended it. Nothing more is delivered after it.
   */
  readonly onEnd?: (err: unknown) => void;
}

/** One inbound DM as the network authenticated it. */
export interface XmtpInboundDm {
  /**
   * Every Ethereum address associated with the sending inbox (an inbox may
   * hold several wallets). XMTP's MLS layer has already verified that the
   * message came from that inbox; the SDK resolved the addresses.
   */
  readonly senderAddresses: readonly string[];
  /** The message's text content (non-text content types never cross the seam). */
  readonly text: string;
  /** When the network says it was sent (ms since the epoch). */
  readonly sentAtMs: number;
}

/** A client session; rejects from network calls carry the SDK's error (classified by the transport). */
export interface XmtpSession {
  /** Our own Ethereum address on the network. */
  readonly address: string;
  /** Sends `text` as a DM to the inbox of `toAddress`, creating the DM conversation if needed. */
  sendDm(toAddress: string, text: string): Promise<void>;
  /**
   * Streams every new DM message (our own sends included: XMTP echoes them),
   * after the replay `opts.sinceMs` asks for. Resolves once the stream is set
   * up, with a function that ends it; rejects when it cannot be set up.
   */
  streamDms(onMessage: (m: XmtpInboundDm) => void, opts?: XmtpStreamOptions): Promise<() => Promise<void>>;
  /** Ends streams and releases the session; idempotent. */
  close(): Promise<void>;
}

export interface XmtpNetwork {
  /** Which client this is, for operators ("@xmtp/node-sdk 5.5.0"): named when the network says it is too old. */
  readonly client: string;
  /** Creates (registering on first use) the client of one identity; rejects when the network is unreachable or refuses. */
  create(opts: XmtpCreateOptions): Promise<XmtpSession>;
  /**
   * Which of `addresses` have an XMTP inbox (lower case), asked without a
   * client of our own; rejects when the network is unreachable.
   */
  reachable(addresses: readonly string[], env: XmtpEnvName): Promise<Set<string>>;
}
