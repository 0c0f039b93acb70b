/** How XMTP is shown to people (see ../networks.ts): one logical endpoint per env, so no counts. */
export const XMTP_DISPLAY = { label: 'XMTP', endpointNoun: 'nodes', countEndpoints: false } as const;
