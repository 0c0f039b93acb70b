/** How Nostr is shown to people (see ../networks.ts). */
export const NOSTR_DISPLAY = { label: 'nostr', endpointNoun: 'relays', countEndpoints: true } as const;
