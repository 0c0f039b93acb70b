/** The MQTT transport folder's public surface (for the broadcaster and the config loader). */
export { MqttTransport, dmTopic, mqttClientId } from './mqtt-transport.js';
export { MqttConfigSchema, SEED_PUBLIC_BROKERS } from './config.js';
export type { MqttConfig, MqttConfigInput } from './config.js';
export {
  buildEnvelope,
  buildSeedEnvelope,
  buildSignedEnvelope,
  canonicalSigningString,
  parseEnvelope,
  wireFormatFor,
  maxEnvelopeBytes,
  CAP_MQTT_NIP44,
  CAP_MQTT_SIG,
  MQTT_ENVELOPE_VERSION,
  MQTT_SIGNING_DOMAIN,
  NIP44_MAX_PLAINTEXT_BYTES,
} from './envelope.js';
export type { AcceptedEnvelope, EnvelopeParseOptions, SignedFields, WireFormat } from './envelope.js';
