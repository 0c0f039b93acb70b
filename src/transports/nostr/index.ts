/** The Nostr transport: public surface for wiring (main.ts, config) and tests. */
export { NostrTransport, createNostrTransport } from './nostr-transport.js';
export { NostrConfigSchema, DEFAULT_NOSTR_RELAYS } from './config.js';
export type { NostrConfig, NostrConfigInput } from './config.js';
export {
  buildOutboundEvent,
  buildEncryptedDm,
  buildGiftWrappedDm,
  framingFor,
  openInbound,
  OUTBOUND_FRAMINGS,
  FramingError,
  GIFT_WRAP_MAX_AGE_SEC,
  KIND_ENCRYPTED_DM,
  KIND_GIFT_WRAP,
  KIND_PRIVATE_DM,
  KIND_SEAL,
} from './framing.js';
export type { NostrEvent, OpenResult, OpenedMessage, OutboundFraming } from './framing.js';
export { cursorKey, subscriptionFilters } from './cursor.js';
