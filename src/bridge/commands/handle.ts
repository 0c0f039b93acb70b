/**
 * Runs a parsed command for one room and returns the reply: plain text, one
 * post, within the platform's length. The same code serves every platform;
 * what it needs from the room comes in a small context.
 *
 * Never throws for anything a person did (refusals, unknown contacts,
 * conflicts are replies). It throws only when the store fails; the router
 * then tells the room that something went wrong.
 */
import { ContactConflictError } from '../../store/store.js';
import type { Store } from '../../store/store.js';
import type { RoomRef, SenderLevel } from '../../platforms/platform.js';
import { specOf } from './parse.js';
import type { Command } from './parse.js';
import {
  clampReply,
  contactsText,
  DEFAULT_MAX_REPLY_CHARS,
  helpText,
  npubOfKey,
  prefsText,
  receiptsText,
  statusText,
  unknownContactText,
  whoamiText,
} from './replies.js';
import type { BridgeStatus, SentMessageReceipts } from './replies.js';

/** The store as commands use it: reads, and contact changes. */
export type CommandStore = Pick<
  Store,
  | 'addContact'
  | 'removeContact'
  | 'listContacts'
  | 'findContactByName'
  | 'listMessages'
  | 'getReceipts'
  | 'getSendResults'
  | 'getChannelPreferences'
>;

/** The room's own identity (the `owner` of its store rows), public parts only. */
export interface RoomOwner {
  readonly xOnly: string;
  readonly magnetLink: string;
  readonly ethAddress: string;
  readonly npub: string;
}

export interface CommandContext {
  /** The command prefix in use, for usage lines in replies. */
  readonly prefix: string;
  readonly room: RoomRef;
  /** Who sent the command; the platform adapter maps its power levels / permissions to `level`. */
  readonly sender: { readonly level: SenderLevel; readonly displayName: string };
  readonly owner: RoomOwner;
  readonly store: CommandStore;
  /** Transport endpoints and queue depths; a failure is reported in the reply, not thrown. */
  status(): Promise<BridgeStatus>;
  /** The platform's `capabilities.maxMessageChars`; default 2,000. */
  readonly maxReplyChars?: number;
  readonly now?: () => number;
}

/**
 * How many of the newest messages (both directions) `receipts` looks through
 * for sent ones: the store lists all directions together, and a room that
 * mostly receives must not make the command scan its whole history.
 */
export const RECEIPTS_SCAN_LIMIT = 500;

export async function handleCommand(command: Command, ctx: CommandContext): Promise<string> {
  return clampReply(await reply(command, ctx), ctx.maxReplyChars ?? DEFAULT_MAX_REPLY_CHARS);
}

async function reply(command: Command, ctx: CommandContext): Promise<string> {
  const spec = specOf(command.kind);
  if (spec.moderatorOnly && ctx.sender.level !== 'moderator') {
    return `Only room moderators can ${spec.description} (${ctx.prefix} ${spec.usage}). ${ctx.sender.displayName}, ask a moderator of this room.`;
  }
  const now = ctx.now?.() ?? Date.now();
  const owner = ctx.owner.xOnly;
  switch (command.kind) {
    case 'help':
      return helpText(ctx.prefix);
    case 'whoami':
      return whoamiText(ctx.owner);
    case 'contacts':
      return contactsText(await ctx.store.listContacts(owner), ctx.prefix);
    case 'contact-add':
      return addContact(command, ctx);
    case 'contact-remove': {
      if (await ctx.store.removeContact(owner, command.name)) return `Removed contact ${command.name}.`;
      return unknownContactText(command.name, await ctx.store.listContacts(owner), ctx.prefix);
    }
    case 'prefs': {
      const contact = await ctx.store.findContactByName(owner, command.name);
      if (!contact) return unknownContactText(command.name, await ctx.store.listContacts(owner), ctx.prefix);
      return prefsText(contact.name, await ctx.store.getChannelPreferences(owner, contact.xOnly), now);
    }
    case 'receipts':
      return receiptsText(await sentReceipts(command.count, ctx), command.count, now);
    case 'status': {
      try {
        return statusText(await ctx.status(), now);
      } catch (err) {
        return `Could not read the status: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
}

async function addContact(command: Extract<Command, { kind: 'contact-add' }>, ctx: CommandContext): Promise<string> {
  const owner = ctx.owner.xOnly;
  const { name, identity, magnetLink } = command;
  if (identity.xOnly === owner) return "That is this room's own magnet link. Add the contact's link instead (they get it from their app).";
  const before = await ctx.store.findContactByName(owner, name);
  try {
    await ctx.store.addContact({ owner, name, magnetLink, xOnly: identity.xOnly, ethAddress: identity.ethAddress });
  } catch (err) {
    if (!(err instanceof ContactConflictError)) throw err;
    return `That identity is already a contact named "${err.existingName}". Use that name, or remove it first: ${ctx.prefix} contact remove ${err.existingName}`;
  }
  const npub = npubOfKey(identity.xOnly);
  if (!before) return `Added contact ${name} (${npub}). Messages written in this room now go to ${name} too.`;
  if (before.xOnly === identity.xOnly) return `Updated the magnet link of ${name} (${npub}).`;
  return `${name} now points to a different identity: ${npub} (was ${npubOfKey(before.xOnly)}).`;
}

async function sentReceipts(count: number, ctx: CommandContext): Promise<SentMessageReceipts[]> {
  const owner = ctx.owner.xOnly;
  const [recent, contacts] = await Promise.all([ctx.store.listMessages(owner, RECEIPTS_SCAN_LIMIT), ctx.store.listContacts(owner)]);
  const names = new Map(contacts.map((c) => [c.xOnly, c.name]));
  const sent = recent.filter((m) => m.direction === 'out').slice(0, count);
  return Promise.all(
    sent.map(async (message) => {
      const [sends, receipts] = await Promise.all([ctx.store.getSendResults(owner, message.uuid), ctx.store.getReceipts(owner, message.uuid)]);
      const peerName = names.get(message.peer);
      return { message, sends, receipts, ...(peerName !== undefined ? { peerName } : {}) };
    }),
  );
}
