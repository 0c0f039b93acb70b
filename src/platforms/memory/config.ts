/**
 * The `platforms.memory` section. The in-memory platform has no network: its
 * rooms live inside the process, and only code in the same process can speak
 * in them (the test suites, a script driving `roomcast start` programmatically).
 * Off by default; it exists in the config so the platform registry is
 * exercised the way the Matrix and Discord adapters will be.
 */
import { z } from 'zod';

export const MemoryPlatformConfigSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Platform id its rooms are known by in the store. */
    id: z
      .string()
      .regex(/^[a-z][a-z0-9-]{0,31}$/, 'must be lower-case letters, digits and dashes, starting with a letter')
      .default('memory'),
  })
  .strict();

export type MemoryPlatformConfig = z.output<typeof MemoryPlatformConfigSchema>;
