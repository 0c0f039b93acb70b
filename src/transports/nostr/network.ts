/** Nostr as the registry lists it (../network.ts). */
import { network } from '../network.js';
import { NostrSectionSchema } from './config.js';
import { NostrTransport } from './nostr-transport.js';

export const NOSTR_NETWORK = network({
  display: { label: 'nostr', endpointNoun: 'relays', countEndpoints: true, wireLabel: 'nostr' },
  section: NostrSectionSchema,
  create: (c, ctx) => (c.relays.length > 0 ? new NostrTransport(c, ctx) : undefined),
});
