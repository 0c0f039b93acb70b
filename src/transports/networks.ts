/**
 * How each network is shown to people: its name and what its endpoints are
 * called. Data of each transport's own folder (display.ts), listed here once,
 * so shared text never names a network. Adding a network adds its line here
 * and in registry.ts.
 */
import type { ProtocolId } from '../protocol/chat-message.js';
import { MQTT_DISPLAY } from './mqtt/display.js';
import { NOSTR_DISPLAY } from './nostr/display.js';
import { XMTP_DISPLAY } from './xmtp/display.js';

export interface NetworkDisplay {
  /** "MQTT", "nostr", "XMTP". */
  readonly label: string;
  /** What its endpoints are called: "brokers", "relays". */
  readonly endpointNoun: string;
  /** False for a network with one implicit endpoint (nothing to count in "(2/3 brokers)"). */
  readonly countEndpoints: boolean;
}

export const NETWORKS: Readonly<Record<ProtocolId, NetworkDisplay>> = {
  nostr: NOSTR_DISPLAY,
  mqtt: MQTT_DISPLAY,
  xmtp: XMTP_DISPLAY,
};
