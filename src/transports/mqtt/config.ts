/**
 * The `mqtt` section of the configuration (validated once at start-up).
 *
 * Broker URLs may carry credentials (`mqtts://user:pass@host:8883`); they are
 * passed to the MQTT client only. Logs, reports and status use redactUrl().
 */
import { z } from 'zod';
import { ms } from '../../common/config-fields.js';
import { redactUrl } from '../transport.js';

const BROKER_PROTOCOLS = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/**
 * The three public brokers the seed client uses (seed write-up): the default,
 * so a fresh install reaches prototype clients where they are.
 */
export const SEED_PUBLIC_BROKERS: readonly string[] = [
  'mqtt://broker.hivemq.com:1883',
  'mqtt://broker.emqx.io:1883',
  'mqtt://test.mosquitto.org:1883',
];

const BrokerUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL (expected mqtt://, mqtts://, ws:// or wss://host:port)' });
    return;
  }
  if (!BROKER_PROTOCOLS.has(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}"; expected mqtt:, mqtts:, ws: or wss:` });
  } else if (!url.hostname) {
    ctx.addIssue({ code: 'custom', message: 'has no host' });
  }
});


export const MqttConfigSchema = z
  .object({
    /** Broker URLs, used in parallel; order is the order of reports and status. */
    brokers: z.array(BrokerUrlSchema).max(32).default([...SEED_PUBLIC_BROKERS]),
    /** Accept unsigned seed-format envelopes (delivered with verified: false). */
    acceptUnsigned: z.boolean().default(false),
    /** How long start() waits for a broker before leaving it to reconnect in the background. */
    connectTimeoutMs: ms(100, 120_000).default(5000),
    /** How long one publish may wait for the broker's PUBACK. */
    sendTimeoutMs: ms(100, 120_000).default(5000),
    /** First reconnect delay; doubles per failed attempt up to reconnectMaxMs. */
    reconnectMinMs: ms(10, 600_000).default(500),
    reconnectMaxMs: ms(10, 3_600_000).default(30_000),
    /** Envelopes dated further in the future than this are rejected ('future-timestamp'). */
    maxClockSkewMs: ms(0, 7 * 24 * 3_600_000).default(600_000),
    /**
     * How a listening process holds its place on the broker. Unset or
     * `persistent`: the identity's stable client id with a persistent session,
     * so messages published while the process was down arrive when it returns;
     * one process per identity and broker can hold it (a second one with the
     * same id takes the session over, and the two knock each other off).
     * `transient`: a client id of this process alone with a clean session: it
     * receives only while it runs and never takes the persistent session
     * (`roomcast chat` and `send` use it, so they run beside a `listen` or the
     * service of the same identity).
     */
    session: z.enum(['persistent', 'transient']).optional(),
  })
  .superRefine((cfg, ctx) => {
    if (cfg.reconnectMinMs > cfg.reconnectMaxMs) {
      ctx.addIssue({ code: 'custom', path: ['reconnectMinMs'], message: 'must not be larger than reconnectMaxMs' });
    }
    // The client id and the endpoint label derive from the redacted URL: two
    // entries for the same broker would fight over one persistent session.
    const seen = new Map<string, number>();
    cfg.brokers.forEach((url, i) => {
      const label = redactUrl(url);
      const first = seen.get(label);
      if (first !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['brokers', i], message: `names the same broker as brokers[${first}] (${label})` });
      } else {
        seen.set(label, i);
      }
    });
  });

/** Validated config (defaults applied). */
export type MqttConfig = z.infer<typeof MqttConfigSchema>;
/** What a config file may contain (defaults not yet applied). */
export type MqttConfigInput = z.input<typeof MqttConfigSchema>;

/**
 * The `transports.mqtt` config section: the settings plus `enabled`. An
 * enabled MQTT without a broker would be left out without a word (the
 * registry skips it): refused, saying how to turn MQTT off on purpose.
 */
export const MqttSectionSchema = MqttConfigSchema.extend({ enabled: z.boolean().default(true) }).superRefine((c, ctx) => {
  if (c.enabled && c.brokers.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['brokers'], message: 'names no broker while MQTT is enabled: list at least one, or set transports.mqtt.enabled: false to turn MQTT off' });
  }
});
