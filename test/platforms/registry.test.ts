/** The platform registry builds exactly the platforms whose config section is enabled. */
import { describe, expect, it } from 'vitest';
import { ConfigSchema } from '../../src/config/schema.js';
import { createPlatforms, PLATFORMS } from '../../src/platforms/registry.js';
import type { PlatformContext } from '../../src/platforms/registry.js';
import { createLogger } from '../../src/observability/logger.js';
import { createMetrics } from '../../src/observability/metrics.js';

function context(): PlatformContext {
  const values = new Map<string, string>();
  return {
    state: (id) => ({ get: async (k) => values.get(`${id}|${k}`), set: async (k, v) => void values.set(`${id}|${k}`, v) }),
    log: createLogger('silent'),
    metrics: createMetrics(),
  };
}

describe('platform registry', () => {
  it('has a config section per entry, all off by default, and builds none then', async () => {
    const config = ConfigSchema.parse({});
    expect(Object.keys(config.platforms).sort()).toEqual(PLATFORMS.map((p) => p.section).sort());
    expect(Object.values(config.platforms).every((s) => s.enabled === false)).toBe(true);
    expect(await createPlatforms(config.platforms, context())).toEqual([]);
  });

  it('builds an enabled platform from its section', async () => {
    const config = ConfigSchema.parse({ platforms: { memory: { enabled: true, id: 'lab' } } });
    const built = await createPlatforms(config.platforms, context());
    expect(built.map((p) => p.id)).toEqual(['lab']);
  });

  it('refuses an unknown platform section, naming it', () => {
    const r = ConfigSchema.safeParse({ platforms: { irc: { enabled: true } } });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('irc');
  });
});
