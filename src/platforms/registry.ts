/**
 * The list of chat platforms. Adding one is a folder under src/platforms/
 * plus one entry here (its config section is named by the entry, and so are
 * its environment variables); nothing else in shared code names a platform.
 * `roomcast start` builds every platform whose section is enabled.
 */
import type { z } from 'zod';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { DiscordPlatformConfigSchema } from './discord/config.js';
import { MatrixPlatformConfigSchema } from './matrix/config.js';
import { MemoryPlatformConfigSchema } from './memory/config.js';
import { MemoryPlatform } from './memory/memory-platform.js';
import type { Platform, PlatformStateStore } from './platform.js';
import { withOwnDefaults } from '../common/config-fields.js';

/** What a platform gets from the process that builds it. */
export interface PlatformContext {
  /** Durable state of this platform (its sync position …), in roomcast's store. */
  state(platformId: string): PlatformStateStore;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** What an adapter is built with (the platform's own slice of the context). */
export interface PlatformDeps {
  readonly state: PlatformStateStore;
  readonly log: Logger;
  readonly metrics: Metrics;
}

/** How environment variables set keys of a platform's section (read by the config loader). */
export interface PlatformEnv {
  /** Plain settings: key → variable. */
  readonly settings?: Readonly<Record<string, string>>;
  /** Secrets: key → variable (VAR or VAR_FILE); refused when written in the config file. */
  readonly secrets?: Readonly<Record<string, string>>;
  /** With all these keys given (file or environment), the platform is on unless the file says `enabled: false`. */
  readonly enabledBy?: readonly string[];
}

/** What `roomcast doctor` learns of a platform's account. */
export interface PlatformProbe {
  readonly ok: boolean;
  /** One line: where, and who is signed in or why not (no secrets). */
  readonly detail: string;
}

interface PlatformEntry<K extends string, S extends z.ZodType<{ enabled: boolean }>> {
  /** The config section's key under `platforms`. */
  readonly section: K;
  readonly schema: S;
  readonly env?: PlatformEnv;
  /** Async, so a platform's library is loaded only when the platform is on. */
  create(config: z.output<S>, ctx: PlatformContext): Platform | Promise<Platform>;
  /** Signs in without starting anything, for `roomcast doctor`; never rejects (an unreachable server is `ok: false`). */
  probe?(config: z.output<S>, timeoutMs: number): Promise<PlatformProbe>;
}

function entry<const K extends string, S extends z.ZodType<{ enabled: boolean }>>(e: PlatformEntry<K, S>): PlatformEntry<K, S> {
  return e;
}

export const PLATFORMS = [
  entry({ section: 'memory', schema: MemoryPlatformConfigSchema, create: (c) => new MemoryPlatform({ id: c.id }) }),
  entry({
    section: 'matrix',
    schema: MatrixPlatformConfigSchema,
    env: {
      settings: { homeserverUrl: 'ROOMCAST_MATRIX_HOMESERVER_URL' },
      secrets: { accessToken: 'ROOMCAST_MATRIX_ACCESS_TOKEN' },
      enabledBy: ['homeserverUrl', 'accessToken'],
    },
    create: async (c, ctx) => new (await quietly(() => import('./matrix/matrix-platform.js'))).MatrixPlatform(c, { state: ctx.state('matrix'), log: ctx.log, metrics: ctx.metrics }),
    probe: async (c, ms) => (await import('./matrix/probe.js')).probeMatrix(c, ms),
  }),
  entry({
    section: 'discord',
    schema: DiscordPlatformConfigSchema,
    env: {
      settings: { apiUrl: 'ROOMCAST_DISCORD_API_URL' },
      secrets: { token: 'ROOMCAST_DISCORD_TOKEN' },
      enabledBy: ['token'],
    },
    create: async (c, ctx) => new (await import('./discord/discord-platform.js')).DiscordPlatform(c, { state: ctx.state('discord'), log: ctx.log, metrics: ctx.metrics }),
    probe: async (c, ms) => (await import('./discord/probe.js')).probeDiscord(c, ms),
  }),
] as const;

/** The `platforms` config: one section per registry entry, each with its defaults. */
export const PLATFORM_SECTIONS = Object.fromEntries(PLATFORMS.map((p) => [p.section, withOwnDefaults(p.schema)])) as {
  readonly [E in (typeof PLATFORMS)[number] as E['section']]: z.ZodDefault<E['schema']>;
};

/** Each platform section's environment variables, for the config loader. */
export const PLATFORM_ENV: ReadonlyArray<{ readonly section: string; readonly env: PlatformEnv }> = PLATFORMS.flatMap((p) =>
  'env' in p && p.env ? [{ section: p.section, env: p.env }] : [],
);

/** The probe of every enabled platform that has one, in registry order (see PlatformEntry.probe). */
export function platformProbes(config: Readonly<Record<string, { enabled: boolean }>>, timeoutMs: number): Array<{ section: string; run: () => Promise<PlatformProbe> }> {
  return PLATFORMS.flatMap((p) => {
    const section = config[p.section];
    if (!section?.enabled || !('probe' in p)) return [];
    const probe = p.probe as (c: unknown, ms: number) => Promise<PlatformProbe>;
    return [{ section: p.section, run: () => probe(p.schema.parse(section), timeoutMs) }];
  });
}

/** Every enabled platform, in registry order. */
export async function createPlatforms(config: Readonly<Record<string, { enabled: boolean }>>, ctx: PlatformContext): Promise<Platform[]> {
  const built: Platform[] = [];
  for (const p of PLATFORMS) {
    const section = config[p.section];
    // Each entry's create takes its own schema's output: the parse just above gives exactly that.
    if (section?.enabled) built.push(await (p.create as (c: unknown, x: PlatformContext) => Platform | Promise<Platform>)(p.schema.parse(section), ctx));
  }
  return built;
}

/**
 * Loads a module with Node's deprecation warnings off for the load only:
 * matrix-bot-sdk's dependency htmlencode calls the deprecated util._extend
 * when it loads, and Node would print that on stderr, where our JSON logs go.
 */
async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const before = process.noDeprecation;
  process.noDeprecation = true;
  try {
    return await load();
  } finally {
    process.noDeprecation = before;
  }
}
