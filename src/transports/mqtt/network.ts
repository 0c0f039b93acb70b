/** MQTT as the registry lists it (../network.ts). */
import { network } from '../network.js';
import { MqttSectionSchema } from './config.js';
import { MqttTransport } from './mqtt-transport.js';

export const MQTT_NETWORK = network({
  display: { label: 'MQTT', endpointNoun: 'brokers', countEndpoints: true, wireLabel: 'MQTT' },
  section: MqttSectionSchema,
  create: (c, ctx) => (c.brokers.length > 0 ? new MqttTransport(c, ctx) : undefined),
});
