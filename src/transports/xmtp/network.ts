/** XMTP as the registry lists it (../network.ts): one logical endpoint per env, so no counts. */
import { network } from '../network.js';
import { XmtpSectionSchema } from './config.js';
import { XmtpTransport } from './xmtp-transport.js';

export const XMTP_NETWORK = network({
  display: { label: 'XMTP', endpointNoun: 'nodes', countEndpoints: false, wireLabel: 'XMTP V3' },
  section: XmtpSectionSchema,
  listenerOnly: true,
  create: (c, ctx) => new XmtpTransport(c, ctx),
});
