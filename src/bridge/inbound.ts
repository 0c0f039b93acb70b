/**
 * Messages from contacts into rooms. The listener records each new message in
 * the room's inbox (in arrival order) and queues a job; the job posts it into
 * the room as "alice: Hi!", in the inbox's order, paced by the platform's rate
 * limit. A sender who is not a contact is posted marked as unknown (with
 * their npub), or dropped, as configured; at most `strangers.max` of their
 * messages wait per room, so a flood of strangers cannot bury the room.
 * Entries are per sender: another sender's message with the same uuid is an
 * entry of its own.
 */
import type { MessageEvent } from '../broadcaster/events.js';
import { npubOf } from '../identity/keys.js';
import { decodeMagnet } from '../identity/magnet.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OncePerWindow } from '../observability/rejections.js';
import { platformId } from '../platforms/platform.js';
import { InboxFullError } from '../store/rooms.js';
import type { Turn } from '../common/turn.js';
import type { InboxEntry } from '../store/rooms.js';
import type { Store } from '../store/store.js';
import { splitText } from './parts.js';
import type { BridgedRoom } from './room-directory.js';
import type { RoomWriter } from './room-writer.js';

export type UnknownSenderPolicy = 'post' | 'drop';

/** The cap on queued messages from non-contacts per room; refusals are counted and logged once per room per window. */
export interface StrangerCap {
  readonly max: number;
  readonly metrics: Metrics;
  readonly once: OncePerWindow;
}

/** Listener side: a new message for a room's identity. Returns the inbox entry to queue, or undefined when it is dropped. */
export async function receiveForRoom(
  room: BridgedRoom,
  e: MessageEvent,
  d: { store: Store; unknownSenders: UnknownSenderPolicy; log: Logger; strangers: StrangerCap },
): Promise<InboxEntry | undefined> {
  const owner = room.identity.xOnly;
  const contact = await d.store.findContactByKey(owner, e.sender.xOnly);
  if (!contact && d.unknownSenders === 'drop') {
    d.log.info({ room: room.roomId, from: npubOf(e.sender) }, 'dropped a message from a sender who is not a contact');
    return undefined;
  }
  try {
    const entry = { platform: room.platform, roomId: room.roomId, owner, uuid: e.message.uuid, peer: e.sender.xOnly };
    return await d.store.rooms.enqueueInbox(entry, { maxQueuedFromStrangers: d.strangers.max });
  } catch (err) {
    if (!(err instanceof InboxFullError)) throw err;
    d.strangers.metrics.inboxRefused.inc({ platform: room.platform });
    const logNow = d.strangers.once.hit(`${room.platform}|${room.roomId}`);
    if (logNow) {
      d.log.warn(
        { room: room.roomId, from: npubOf(e.sender), max: err.max, ...(logNow.suppressed ? { repeatsSuppressed: logNow.suppressed } : {}) },
        'refused a message from a sender who is not a contact: the room already has the most such messages waiting (bridge.maxQueuedFromStrangers)',
      );
    }
    return undefined;
  }
}

/** Whether inbox entry (owner, uuid) may be posted now (every earlier one of its room is posted or failed), or how far off its turn is. */
export async function inboundTurn(store: Store, owner: string, uuid: string): Promise<Turn> {
  const entry = await store.rooms.getInbox(owner, uuid);
  return !entry || entry.state !== 'queued' ? 'now' : store.rooms.inboxTurn(entry);
}

/** At most this many waiting messages are gathered into one post. */
const MAX_GATHERED = 50;

/**
 * Worker side: posts one inbox entry into its room, once (call it in the
 * entry's turn: isInboundTurn).
 *
 * Bursts: when the room's write budget is spent and the post had to wait for
 * its slot, the messages that queued up behind it from the same contact are
 * gathered into the same post (one per line, in order, within the platform's
 * length), and all of them are marked posted with it. A burst of 30 into a
 * room that takes 5 writes per 5 s thus arrives in a few posts within seconds,
 * not in 30 posts over half a minute. Without a wait, one message is one post.
 */
export async function processInbound(owner: string, uuid: string, d: { store: Store; writer: RoomWriter }): Promise<void> {
  const entry = await d.store.rooms.getInbox(owner, uuid);
  if (!entry || entry.state !== 'queued') return;
  const first = await loadPost(d.store, entry);
  if (!first) {
    await d.store.rooms.setInboxState(owner, uuid, 'failed');
    return;
  }
  const room = { platform: platformId(entry.platform), roomId: entry.roomId };
  // The platform shows the author with each post (a bold name, a webhook's name): leave room for it.
  const max = Math.max(1, d.writer.platform(entry.platform).capabilities.maxMessageChars - first.who.length - 2);
  const chunks = split(first.text, max);
  if (chunks.length > 1) {
    let firstId: string | undefined;
    for (const [i, chunk] of chunks.entries()) {
      // Keyed, so a worker that dies between posting and recording posts nothing twice.
      const id = await d.writer.post(room, { text: chunk, author: first.who, idempotencyKey: `in-${owner}-${uuid}-${i}` });
      firstId ??= id;
    }
    await d.store.rooms.setInboxState(owner, uuid, 'posted', firstId);
    return;
  }
  let gathered: string[] = [uuid];
  const id = await d.writer.postGathered(room, async (waited) => {
    const group = await gather(d.store, entry, first, max, waited);
    gathered = [uuid, ...group.map((g) => g.uuid)];
    // Recorded before the post is written, so a retry after a crash posts this same group under the same key.
    await d.store.rooms.gatherInbox(owner, uuid, gathered.slice(1));
    const text = [first.text, ...group.map((g) => g.text)].join('\n');
    // A group's key differs from a lone post's: a retry that finds a lone post was written and then gathers shows that line twice, never loses the rest.
    return { text, author: first.who, idempotencyKey: group.length === 0 ? `in-${owner}-${uuid}-0` : `in-${owner}-${uuid}-g` };
  });
  await d.store.rooms.setInboxPosted(owner, gathered, id);
}

/**
 * The queued messages after `entry` that its post carries too: the group an
 * earlier attempt recorded, exactly; else, when the post had to wait, the
 * same contact's messages queued right behind it, while they fit in `max`.
 */
async function gather(store: Store, entry: InboxEntry, first: { text: string; who: string }, max: number, waited: boolean): Promise<Array<{ uuid: string; text: string }>> {
  const after = await store.rooms.queuedInboxAfter(entry, MAX_GATHERED - 1);
  const recorded = after.some((e) => e.gatheredInto === entry.uuid);
  if (!recorded && !waited) return [];
  const group: Array<{ uuid: string; text: string }> = [];
  let length = first.text.length;
  for (const next of after) {
    // Consecutive only: stop at the first message that is not this post's to carry.
    if (recorded ? next.gatheredInto !== entry.uuid : next.gatheredInto !== undefined) break;
    const post = await loadPost(store, next);
    if (!post || next.owner !== entry.owner || post.who !== first.who) break;
    if (!recorded && length + 1 + post.text.length > max) break;
    group.push({ uuid: next.uuid, text: post.text });
    length += 1 + post.text.length;
  }
  return group;
}

/** An inbox entry's text and how its author is shown, or undefined when its message is gone. */
async function loadPost(store: Store, entry: InboxEntry): Promise<{ text: string; who: string } | undefined> {
  const message = await store.getMessage(entry.owner, entry.messageUuid, entry.peer);
  if (!message) return undefined;
  const contact = await store.findContactByKey(entry.owner, message.peer);
  const who = `${contact ? contact.name : `⚠ unknown sender ${npubOf(decodeMagnet(message.fromMagnetLink))}`}${message.verified ? '' : ' (unverified)'}`;
  return { text: message.content, who };
}

/** Splits text into posts of at most `max` characters, at line or word breaks where it can: nothing is cut off. */
export function split(text: string, max: number): string[] {
  return splitText(text, (piece) => piece.length <= max);
}
