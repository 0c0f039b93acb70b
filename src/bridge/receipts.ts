/**
 * Delivery receipts in the room, on the message they are about: a reaction
 * once any transport delivered it to anyone, a second once a contact
 * acknowledged it, and a compact notice, posted as a reply to the message
 * ("✓ nostr 3/3 245ms · ✓ MQTT 3/3 12ms · ✗ XMTP timeout") and edited as
 * retries and acks come in (bridge.receipts picks reactions, the notice, or
 * both; where a platform cannot edit, the ack reaction stands in for the
 * edit). What could not be delivered after the last attempt is always said
 * in the room, whatever the mode: never a silent loss.
 *
 * Receipts must fit the room's write budget and never hold a message up:
 * - `show` only marks a message; a loop per room renders what is marked,
 *   from the store's current state, with the platform's 'low' write priority,
 *   so contacts' messages and answers go first and a delivery never waits;
 * - marks that arrive while a render waits for a slot are coalesced: one
 *   render (one edit) shows all of them;
 * - each message costs at most one delivered reaction, one notice, and an
 *   edit only when its text changed;
 * - when more messages wait for their receipt than half the room's write
 *   window allows, they get one summary notice together ("Receipts for 12
 *   messages … alice: delivered 12/12 · acknowledged 9/12"), edited as acks
 *   come in, instead of a queue of notices the room cannot afford.
 * An ack marks its message like anything else: there is no polling, and a
 * notice not posted yet is posted with the ack already in it.
 */
import type { Logger } from '../observability/logger.js';
import { platformId, platformMessageId, roomKey } from '../platforms/platform.js';
import type { PlatformMessageId, RoomRef } from '../platforms/platform.js';
import type { OutboxEntry } from '../store/rooms.js';
import type { Receipt, SendResult, Store } from '../store/store.js';
import { mergeParts, reached, receiptText } from './receipt-text.js';
import type { ContactReceipt } from './receipt-text.js';
import type { RoomDirectory } from './room-directory.js';
import type { RoomWriter } from './room-writer.js';

export type ReceiptMode = 'reactions' | 'notice' | 'both' | 'off';

export interface ReceiptOptions {
  readonly mode: ReceiptMode;
  /** Reaction for "delivered on at least one transport". */
  readonly deliveredReaction: string;
  /** Reaction for "acknowledged by a contact" (used where notices cannot be edited, or in reactions mode). */
  readonly ackedReaction: string;
}

const QUOTE_CHARS = 40;
/** Notice texts remembered per process, so an unchanged receipt is not edited again. */
const REMEMBERED = 10_000;

interface Marked {
  /** After the last attempt: say what was not delivered. */
  final: boolean;
  /**
   * May post the message's first notice. Only the job that sent it does (after
   * its sends are recorded): an ack can overtake them, and on a platform that
   * cannot edit, a notice posted that early would say "not sent yet" for good.
   */
  create: boolean;
}

export class RoomReceipts {
  /** Per room: messages whose receipt is to be rendered. */
  private readonly marked = new Map<string, Map<string, Marked>>();
  /** Per room: the render loop, while one runs. */
  private readonly loops = new Map<string, Promise<void>>();
  /** What this process already wrote: reactions placed (uuid|emoji) and notices (post id → their text as it stands). */
  private readonly reactedTo = new Set<string>();
  private readonly notices = new Map<string, StandingNotice>();

  constructor(
    private readonly store: Store,
    private readonly directory: RoomDirectory,
    private readonly writer: RoomWriter,
    private readonly opts: ReceiptOptions,
    private readonly log: Logger,
  ) {}

  /**
   * Marks the receipt of one room message for rendering and returns at once;
   * never throws. `create`: see Marked (the sending job passes true).
   */
  show(entry: OutboxEntry, final: boolean, create = true): void {
    const key = roomKey({ platform: platformId(entry.platform), roomId: entry.roomId });
    let room = this.marked.get(key);
    if (!room) {
      room = new Map();
      this.marked.set(key, room);
    }
    const before = room.get(entry.uuid);
    room.set(entry.uuid, { final: final || (before?.final ?? false), create: create || (before?.create ?? false) });
    if (!this.loops.has(key)) this.loops.set(key, this.run(key, { platform: platformId(entry.platform), roomId: entry.roomId }));
  }

  /** Resolves once nothing is marked or rendering in any room (tests; a clean stop). */
  async idle(): Promise<void> {
    while (this.loops.size > 0) await Promise.all([...this.loops.values()]);
  }

  /** A contact acknowledged copy `copyUuid` of a message of room identity `owner`. */
  async onAck(owner: string, copyUuid: string): Promise<void> {
    const copy = await this.store.rooms.getOutboxCopy(owner, copyUuid);
    if (!copy) return;
    const entry = await this.store.rooms.getOutbox(copy.roomUuid);
    if (entry) this.show(entry, false, false);
  }

  /** Tells the room, once, that a message was not sent at all, and why. Never throws. */
  async refused(entry: OutboxEntry, why: string): Promise<void> {
    const room: RoomRef = { platform: platformId(entry.platform), roomId: entry.roomId };
    try {
      await this.writer.post(room, { text: `✗ Not sent: “${quote(entry.text)}”: ${why}`, notice: true, idempotencyKey: `refused-${entry.uuid}`, ...replyTo(entry) });
    } catch (err) {
      this.log.warn({ uuid: entry.uuid, err: (err as Error).message }, 'could not tell the room a message was not sent');
    }
  }

  /**
   * Renders a room's marked receipts until none is left. The loop is
   * forgotten in the same turn as its last look at the marks, so a mark made
   * after that starts a new loop and is never stranded.
   */
  private async run(key: string, room: RoomRef): Promise<void> {
    const marked = this.marked.get(key)!;
    try {
      await this.drain(marked, key, room);
    } finally {
      this.loops.delete(key);
      if (marked.size === 0) this.marked.delete(key);
    }
  }

  private async drain(marked: Map<string, Marked>, key: string, room: RoomRef): Promise<void> {
    while (marked.size > 0) {
      const batch = [...marked];
      marked.clear();
      const entries: Array<{ entry: OutboxEntry } & Marked> = [];
      for (const [uuid, m] of batch) {
        const entry = await this.store.rooms.getOutbox(uuid).catch(() => undefined);
        if (entry) entries.push({ entry, ...m });
      }
      try {
        await this.render(room, entries);
      } catch (err) {
        this.log.warn({ room: key, err: (err as Error).message }, 'could not show delivery receipts');
      }
    }
  }

  private async render(room: RoomRef, batch: ReadonlyArray<{ entry: OutboxEntry } & Marked>): Promise<void> {
    const owner = (await this.directory.room(room.platform, room.roomId)).identity.xOnly;
    for (const { entry, final } of batch) {
      if (!final) continue;
      const r = await receiptFor(this.store, owner, entry.uuid);
      if (r.undelivered.length === 0) continue;
      // Never a silent loss: said at the 'high' priority, whatever the mode.
      await this.writer.post(room, { text: `✗ Not delivered to ${r.undelivered.join(', ')}: “${quote(entry.text)}”\n${r.text}`, notice: true, idempotencyKey: `undelivered-${entry.uuid}`, ...replyTo(entry) });
    }
    if (this.opts.mode === 'off') return;
    // Messages already in a summary are shown by it; the rest, alone or (when the budget is short) summarized.
    const summaries = new Set<string>();
    const single: OutboxEntry[] = [];
    for (const { entry, create } of batch) {
      if (entry.receiptPostId && (await this.isSummary(room, entry.receiptPostId))) summaries.add(entry.receiptPostId);
      // Not posted yet and marked by an ack alone while its job still runs: the job's own mark will show it all.
      else if (entry.receiptPostId || create || entry.state !== 'queued') single.push(entry);
    }
    const { posts } = this.writer.platform(room.platform).capabilities.rateLimit;
    const canSummarize = this.opts.mode !== 'reactions';
    if (canSummarize && single.length > Math.max(2, Math.floor(posts / 2))) {
      await this.postSummary(room, owner, single.filter((e) => !e.receiptPostId));
      for (const e of single.filter((x) => x.receiptPostId)) await this.renderOne(room, owner, e);
    } else {
      for (const e of single) await this.renderOne(room, owner, e);
    }
    for (const postId of summaries) await this.editSummary(room, owner, postId);
  }

  /** One message's own receipt: the reaction once, the notice posted once and edited when its text changes. */
  private async renderOne(room: RoomRef, owner: string, entry: OutboxEntry): Promise<void> {
    const { mode } = this.opts;
    const r = await receiptFor(this.store, owner, entry.uuid);
    const target = platformMessageId(entry.platformMessageId);
    if ((mode === 'reactions' || mode === 'both') && r.delivered) await this.reactOnce(room, target, entry.uuid, this.opts.deliveredReaction);
    if (r.text === '') return; // no contacts: nothing to report
    let noticeShowsAcks = false;
    if (mode === 'notice' || mode === 'both') {
      const notice = { text: `↳ “${quote(entry.text)}”: ${r.text}`, acked: r.acked };
      if (entry.receiptPostId) {
        noticeShowsAcks = (await this.editIfChanged(room, entry.receiptPostId, notice)).acked;
      } else {
        const id = await this.writer.post(room, { text: notice.text, notice: true, idempotencyKey: `receipt-${entry.uuid}`, ...replyTo(entry) }, 'low');
        await this.store.rooms.setOutboxReceiptPost(entry.uuid, id);
        this.remember(id, notice);
        noticeShowsAcks = notice.acked;
      }
    }
    // Reactions show the state at a glance (reactions, both); a notice alone gets the ack reaction only when it cannot show the ack itself.
    if (r.acked && (mode !== 'notice' || !noticeShowsAcks)) await this.reactOnce(room, target, entry.uuid, this.opts.ackedReaction);
  }

  /** One notice for messages whose receipts the room cannot afford one by one. */
  private async postSummary(room: RoomRef, owner: string, entries: readonly OutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    const text = await this.summaryText(owner, entries);
    if (text === undefined) return;
    const id = await this.writer.post(room, { text, notice: true, idempotencyKey: `receipts-${entries[0]!.uuid}` }, 'low');
    await this.store.rooms.setOutboxReceiptPosts(
      entries.map((e) => e.uuid),
      id,
    );
    this.remember(id, { text, acked: false });
  }

  private async editSummary(room: RoomRef, owner: string, postId: string): Promise<void> {
    const members = await this.store.rooms.listOutboxByReceiptPost(room.platform, room.roomId, postId);
    const text = await this.summaryText(owner, members);
    if (text !== undefined) await this.editIfChanged(room, postId, { text, acked: false });
  }

  /** "↳ Receipts for 12 messages, “first” … “last”:" then a line per contact: delivered n/N · acknowledged m/N. */
  private async summaryText(owner: string, entries: readonly OutboxEntry[]): Promise<string | undefined> {
    const perContact = new Map<string, { delivered: number; acked: number }>();
    for (const e of entries) {
      for (const c of (await receiptFor(this.store, owner, e.uuid)).contacts) {
        const t = perContact.get(c.name) ?? { delivered: 0, acked: 0 };
        if (c.reached) t.delivered++;
        if (c.acked) t.acked++;
        perContact.set(c.name, t);
      }
    }
    if (perContact.size === 0) return undefined;
    const n = entries.length;
    const span = n === 1 ? `“${quote(entries[0]!.text)}”` : `“${quote(entries[0]!.text)}” … “${quote(entries[n - 1]!.text)}”`;
    const lines = [...perContact].map(([name, t]) => `${name}: ${t.delivered === n ? '✓' : '…'} delivered ${t.delivered}/${n} · acknowledged ${t.acked}/${n}`);
    return [`↳ Receipts for ${n} message${n === 1 ? '' : 's'}, ${span}:`, ...lines].join('\n');
  }

  private async isSummary(room: RoomRef, postId: string): Promise<boolean> {
    return (await this.store.rooms.listOutboxByReceiptPost(room.platform, room.roomId, postId)).length > 1;
  }

  /**
   * Edits a notice unless this process last wrote the same text, and returns
   * the notice as it now stands. When the edit cannot be made (the platform
   * cannot edit), that is what this process last wrote, whose ack may already
   * be in it: an ack the notice shows gets no second sign.
   */
  private async editIfChanged(room: RoomRef, postId: string, notice: StandingNotice): Promise<StandingNotice> {
    const standing = this.notices.get(postId);
    if (standing?.text === notice.text) return standing;
    if (await this.writer.edit(room, platformMessageId(postId), { text: notice.text, notice: true }, 'low')) {
      this.remember(postId, notice);
      return notice;
    }
    return standing ?? { text: '', acked: false };
  }

  private async reactOnce(room: RoomRef, target: ReturnType<typeof platformMessageId>, uuid: string, emoji: string): Promise<void> {
    const key = `${uuid}|${emoji}`;
    if (this.reactedTo.has(key)) return;
    if (await this.writer.react(room, target, emoji, 'low')) this.reactedTo.add(key);
    if (this.reactedTo.size > REMEMBERED) this.reactedTo.delete(this.reactedTo.values().next().value as string);
  }

  private remember(postId: string, notice: StandingNotice): void {
    this.notices.delete(postId);
    this.notices.set(postId, notice);
    if (this.notices.size > REMEMBERED) this.notices.delete(this.notices.keys().next().value as string);
  }
}

/** A notice this process wrote: its text, and whether that text shows an ack. */
interface StandingNotice {
  readonly text: string;
  readonly acked: boolean;
}

interface MessageReceipt {
  readonly text: string;
  readonly delivered: boolean;
  readonly acked: boolean;
  readonly undelivered: string[];
  readonly contacts: ReadonlyArray<{ name: string; reached: boolean; acked: boolean }>;
}

/** The receipt of one room message, per contact (its parts merged), from the store. */
async function receiptFor(store: Store, owner: string, roomUuid: string): Promise<MessageReceipt> {
  const copies = await store.rooms.listOutboxCopies(roomUuid);
  const known = await store.listContacts(owner);
  const names = new Map(known.map((c) => [c.xOnly, c.name]));
  const byContact = new Map<string, Array<{ sends: SendResult[]; receipts: Receipt[] }>>();
  for (const c of copies) {
    const part = { sends: await store.getSendResults(owner, c.uuid), receipts: await store.getReceipts(owner, c.uuid, c.contact) };
    byContact.set(c.contact, [...(byContact.get(c.contact) ?? []), part]);
  }
  const rows: ContactReceipt[] = [];
  const contacts: Array<{ name: string; reached: boolean; acked: boolean }> = [];
  for (const [contact, parts] of byContact) {
    const name = names.get(contact) ?? `${contact.slice(0, 8)}…`;
    const merged = mergeParts(parts);
    rows.push({ name, ...merged });
    // Reached when every part reached them, on whichever transport.
    contacts.push({ name, reached: parts.every((p) => reached(p.sends)), acked: merged.receipts.some((x) => x.kind === 'ack') });
  }
  return {
    text: receiptText(rows),
    delivered: contacts.some((c) => c.reached),
    acked: contacts.some((c) => c.acked),
    undelivered: contacts.filter((c) => !c.reached).map((c) => c.name),
    contacts,
  };
}

/** A receipt is about the person's message: shown as a reply to it where the platform has replies. */
function replyTo(entry: OutboxEntry): { replyTo: PlatformMessageId } {
  return { replyTo: platformMessageId(entry.platformMessageId) };
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > QUOTE_CHARS ? `${oneLine.slice(0, QUOTE_CHARS)}…` : oneLine;
}
