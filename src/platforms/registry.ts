/**
 * The list of chat platforms. Adding one is a folder under src/platforms/
 * plus one entry here (its config section is named by the entry); nothing
 * else in shared code names a platform. `roomcast start` builds every
 * platform whose section is enabled.
 */
import type { z } from 'zod';
import { MemoryPlatformConfigSchema } from './memory/config.js';
import { MemoryPlatform } from './memory/memory-platform.js';
import type { Platform } from './platform.js';
import { withOwnDefaults } from '../common/config-fields.js';

interface PlatformEntry<S extends z.ZodType<{ enabled: boolean }>> {
  /** The config section's key under `platforms`. */
  readonly section: string;
  readonly schema: S;
  create(config: z.output<S>): Platform;
}

function entry<S extends z.ZodType<{ enabled: boolean }>>(e: PlatformEntry<S>): PlatformEntry<S> {
  return e;
}

export const PLATFORMS = [
  entry({ section: 'memory', schema: MemoryPlatformConfigSchema, create: (c) => new MemoryPlatform({ id: c.id }) }),
] as const;

/** The `platforms` config: one section per registry entry, each with its defaults. */
export const PLATFORM_SECTIONS = Object.fromEntries(PLATFORMS.map((p) => [p.section, withOwnDefaults(p.schema)])) as {
  readonly [K in (typeof PLATFORMS)[number]['section']]: z.ZodDefault<(typeof PLATFORMS)[number]['schema']>;
};

/** Every enabled platform, in registry order. */
export function createPlatforms(config: Readonly<Record<string, { enabled: boolean }>>): Platform[] {
  return PLATFORMS.flatMap((p) => {
    const section = config[p.section];
    return section?.enabled ? [p.create(p.schema.parse(section))] : [];
  });
}
