/**
 * The `bridge` section of the configuration: how rooms talk to the bridge and
 * how the bridge answers. Every key has a default.
 */
import { z } from 'zod';

export const BridgeConfigSchema = z
  .object({
    /** Messages starting with this are bot commands (`!roomcast help`). */
    commandPrefix: z
      .string()
      .min(1)
      .max(32)
      .regex(/^\S+$/, 'must not contain spaces')
      .default('!roomcast'),
    /** How delivery receipts show in rooms: reactions, notice, both, or off (undelivered messages are always reported). */
    receipts: z.enum(['reactions', 'notice', 'both', 'off']).default('both'),
    /** Reaction for "delivered on at least one transport". */
    deliveredReaction: z.string().min(1).max(16).default('✔️'),
    /** Reaction for "acknowledged" (where a notice cannot show it, or in reactions mode). */
    ackedReaction: z.string().min(1).max(16).default('📬'),
    /** A message from someone who is not a contact of the room: post it marked as unknown, or drop it. */
    unknownSenders: z.enum(['post', 'drop']).default('post'),
  })
  .strict();

export type BridgeConfig = z.output<typeof BridgeConfigSchema>;
