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
    /** Reaction for "acknowledged by a contact" (reactions and both modes; in notice mode only where the notice cannot be edited). */
    ackedReaction: z.string().min(1).max(16).default('📬'),
    /** A message from someone who is not a contact of the room: post it marked as unknown, or drop it. */
    unknownSenders: z.enum(['post', 'drop']).default('post'),
    /**
     * A room message longer than one ChatMessage carries (limits.maxContentChars)
     * goes to contacts in parts marked (1/3), (2/3)…; one that would take more
     * parts than this is not sent, and the room is told.
     */
    maxParts: z.number().int().min(1).max(99).default(10),
    /** At most this many messages from non-contacts wait to be posted in a room; more are refused (counted, logged once). */
    maxQueuedFromStrangers: z.number().int().min(1).max(100_000).default(20),
  })
  .strict();

export type BridgeConfig = z.output<typeof BridgeConfigSchema>;
