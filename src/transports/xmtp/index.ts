/** The XMTP transport folder's public surface (for the broadcaster and the config loader). */
export { XmtpTransport } from './xmtp-transport.js';
export { checkXmtpSender } from './sender.js';
export { XmtpConfigSchema, XMTP_ENVS, xmtpEndpoint } from './config.js';
export type { XmtpConfig, XmtpConfigInput, XmtpEnvName } from './config.js';
export { deriveXmtpDbKey, xmtpDbPath, XMTP_DB_KEY_INFO } from './db-key.js';
export { classifyXmtpError, XmtpTimeoutError } from './errors.js';
export { nodeSdkNetwork, eoaSigner, personalSign, personalMessageHash, ethIdentifier, nsToMs, sentAtOrAfterNs } from './node-sdk.js';
export type { XmtpCreateOptions, XmtpInboundDm, XmtpNetwork, XmtpSession, XmtpStreamOptions } from './seam.js';
