import { describe, expect, it } from 'vitest';
import { generateIdentity } from '../../src/identity/keys.js';
import { backoffDelay } from '../../src/transports/mqtt/broker-connection.js';
import { MqttConfigSchema, SEED_PUBLIC_BROKERS } from '../../src/transports/mqtt/config.js';
import { mqttClientId } from '../../src/transports/mqtt/mqtt-transport.js';

describe('MqttConfigSchema', () => {
  it('has the documented defaults', () => {
    expect(MqttConfigSchema.parse({})).toEqual({
      brokers: [...SEED_PUBLIC_BROKERS],
      acceptUnsigned: false,
      connectTimeoutMs: 5000,
      sendTimeoutMs: 5000,
      reconnectMinMs: 500,
      reconnectMaxMs: 30_000,
      maxClockSkewMs: 600_000,
    });
  });

  it('accepts mqtt, mqtts, ws and wss broker URLs, with credentials', () => {
    const brokers = ['mqtt://a.example:1883', 'mqtts://user:pw@b.example:8883', 'ws://c.example/mqtt', 'wss://d.example:443/mqtt'];
    expect(MqttConfigSchema.parse({ brokers }).brokers).toEqual(brokers);
  });

  it('names the offending key', () => {
    const bad = MqttConfigSchema.safeParse({ brokers: ['mqtt://ok.example', 'http://x.example'] });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['brokers', 1]);
    expect(MqttConfigSchema.safeParse({ brokers: ['not a url'] }).success).toBe(false);
    const skew = MqttConfigSchema.safeParse({ reconnectMinMs: 5000, reconnectMaxMs: 1000 });
    expect(skew.error?.issues[0]?.path).toEqual(['reconnectMinMs']);
    expect(MqttConfigSchema.safeParse({ sendTimeoutMs: 0 }).success).toBe(false);
    expect(MqttConfigSchema.safeParse({ acceptUnsigned: 'yes' }).success).toBe(false);
  });

  it('refuses the same broker twice (they would share one session), even with other credentials', () => {
    const dup = MqttConfigSchema.safeParse({ brokers: ['mqtt://a.example:1883', 'mqtt://u:p@a.example:1883'] });
    expect(dup.success).toBe(false);
    expect(dup.error?.issues[0]?.path).toEqual(['brokers', 1]);
    expect(dup.error?.issues[0]?.message).not.toContain('u:p');
  });
});

describe('mqttClientId', () => {
  it('is stable per identity and broker, distinct otherwise, and at most 23 characters', () => {
    const a = generateIdentity();
    const b = generateIdentity();
    const id = mqttClientId(a.xOnly, 'mqtt://127.0.0.1:1883');
    expect(id).toMatch(/^rc-[0-9a-f]{20}$/);
    expect(id.length).toBeLessThanOrEqual(23);
    expect(mqttClientId(a.xOnly, 'mqtt://127.0.0.1:1883')).toBe(id);
    expect(mqttClientId(a.xOnly, 'mqtt://u:p@127.0.0.1:1883')).toBe(id);
    expect(mqttClientId(a.xOnly, 'mqtt://127.0.0.1:1884')).not.toBe(id);
    expect(mqttClientId(b.xOnly, 'mqtt://127.0.0.1:1883')).not.toBe(id);
  });
});

describe('backoffDelay', () => {
  it('doubles from min and stays within [min, max]', () => {
    const mid = () => 0.5;
    expect(backoffDelay(0, 500, 30_000, mid)).toBe(500);
    expect(backoffDelay(1, 500, 30_000, mid)).toBe(1000);
    expect(backoffDelay(3, 500, 30_000, mid)).toBe(4000);
    expect(backoffDelay(20, 500, 30_000, mid)).toBe(30_000);
    expect(backoffDelay(1000, 500, 30_000, mid)).toBe(30_000);
    for (let i = 0; i < 12; i++) {
      for (const r of [0, 0.999]) {
        const d = backoffDelay(i, 500, 30_000, () => r);
        expect(d).toBeGreaterThanOrEqual(500);
        expect(d).toBeLessThanOrEqual(30_000);
      }
    }
  });
});
