/**
 * Bot commands: `parseCommand` turns a room message into a checked command
 * (or a helpful error), `handleCommand` runs it and returns the reply text.
 */
export {
  COMMAND_SPECS,
  DEFAULT_COMMAND_PREFIX,
  DEFAULT_RECEIPTS,
  MAX_NAME_LENGTH,
  MAX_RECEIPTS,
  NAME_RULE,
  nameProblem,
  parseCommand,
  specOf,
  usageOf,
} from './parse.js';
export type { Command, CommandKind, CommandSpec, ParseResult } from './parse.js';
export { handleCommand, RECEIPTS_SCAN_LIMIT } from './handle.js';
export type { CommandContext, CommandStore, RoomOwner } from './handle.js';
export { clampReply, DEFAULT_MAX_REPLY_CHARS, reportsFrom } from './replies.js';
export type { BridgeStatus, SentMessageReceipts, TransportStatus } from './replies.js';
