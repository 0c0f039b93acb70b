/**
 * Delivery receipts in the room, on the message they are about: a reaction
 * once any transport delivered it to anyone, and a compact notice ("✓ nostr
 * 3/3 245ms · ✓ MQTT 3/3 12ms · ✗ XMTP timeout") that is edited as retries
 * and acks come in, or, where a platform cannot edit, a second reaction for
 * the ack. What could not be delivered after the last attempt is always said
 * in the room, whatever the mode: never a silent loss.
 */
import type { Logger } from '../observability/logger.js';
import { platformId, platformMessageId } from '../platforms/platform.js';
import type { RoomRef } from '../platforms/platform.js';
import type { OutboxEntry } from '../store/rooms.js';
import type { Store } from '../store/store.js';
import { reached, receiptText } from './receipt-text.js';
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
/** An ack can overtake the worker's first receipt notice; the ack's update waits for it this often, 1 s apart. */
const ACK_WAITS_FOR_NOTICE = 10;

export class RoomReceipts {
  /** One render at a time per message in this process, so two updates never post two notices. */
  private readonly rendering = new Map<string, Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly directory: RoomDirectory,
    private readonly writer: RoomWriter,
    private readonly opts: ReceiptOptions,
    private readonly log: Logger,
  ) {}

  /** Shows (or updates) the receipt of one room message. Never throws: a receipt must not fail a delivery. */
  async show(entry: OutboxEntry, final: boolean, createNotice = true): Promise<boolean> {
    const previous = this.rendering.get(entry.uuid) ?? Promise.resolve();
    let shown = false;
    const next = previous.then(async () => {
      try {
        shown = await this.render(entry, final, createNotice);
      } catch (err) {
        this.log.warn({ uuid: entry.uuid, err: (err as Error).message }, 'could not show a delivery receipt');
      }
    });
    this.rendering.set(entry.uuid, next);
    await next;
    if (this.rendering.get(entry.uuid) === next) this.rendering.delete(entry.uuid);
    return shown;
  }

  /** A contact acknowledged copy `copyUuid` of a message of room identity `owner`. */
  async onAck(owner: string, copyUuid: string): Promise<void> {
    const copy = await this.store.rooms.getOutboxCopy(owner, copyUuid);
    if (!copy) return;
    // The notice is created by the worker that sent the message (possibly in
    // another process); an ack only updates it, waiting for it if need be.
    for (let i = 0; i < ACK_WAITS_FOR_NOTICE; i++) {
      const entry = await this.store.rooms.getOutbox(copy.roomUuid);
      if (!entry) return;
      if (await this.show(entry, false, false)) return;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }

  /** True when the receipt is fully shown (false: the notice it should update does not exist yet). */
  private async render(entry: OutboxEntry, final: boolean, createNotice: boolean): Promise<boolean> {
    const room: RoomRef = { platform: platformId(entry.platform), roomId: entry.roomId };
    const bridged = await this.directory.room(entry.platform, entry.roomId);
    const r = await receiptFor(this.store, bridged.identity.xOnly, entry.uuid);
    const target = platformMessageId(entry.platformMessageId);
    const { mode } = this.opts;

    if (final && r.undelivered.length > 0) {
      await this.writer.post(room, {
        text: `✗ Not delivered to ${r.undelivered.join(', ')}: “${quote(entry.text)}”\n${r.text}`,
        notice: true,
        idempotencyKey: `undelivered-${entry.uuid}`,
      });
    }
    if (mode === 'off') return true;
    if ((mode === 'reactions' || mode === 'both') && r.delivered) await this.writer.react(room, target, this.opts.deliveredReaction);
    if (r.text === '') return true; // no contacts: nothing to report
    let noticeShowsAcks = false;
    if (mode === 'notice' || mode === 'both') {
      const text = `↳ “${quote(entry.text)}”: ${r.text}`;
      const fresh = await this.store.rooms.getOutbox(entry.uuid);
      if (fresh?.receiptPostId) {
        noticeShowsAcks = await this.writer.edit(room, platformMessageId(fresh.receiptPostId), { text, notice: true });
      } else if (!createNotice) {
        return false;
      } else {
        const id = await this.writer.post(room, { text, notice: true, idempotencyKey: `receipt-${entry.uuid}` });
        await this.store.rooms.setOutboxReceiptPost(entry.uuid, id);
        noticeShowsAcks = true;
      }
    }
    if (r.acked && (mode === 'reactions' || !noticeShowsAcks)) await this.writer.react(room, target, this.opts.ackedReaction);
    return true;
  }
}

/** The receipt of one room message, per contact, from the store. */
async function receiptFor(store: Store, owner: string, roomUuid: string): Promise<{ text: string; delivered: boolean; acked: boolean; undelivered: string[] }> {
  const copies = await store.rooms.listOutboxCopies(roomUuid);
  const contacts = await store.listContacts(owner);
  const names = new Map(contacts.map((c) => [c.xOnly, c.name]));
  const rows: ContactReceipt[] = [];
  const undelivered: string[] = [];
  for (const c of copies) {
    const sends = await store.getSendResults(owner, c.uuid);
    const receipts = await store.getReceipts(owner, c.uuid);
    const name = names.get(c.contact) ?? `${c.contact.slice(0, 8)}…`;
    rows.push({ name, sends, receipts });
    if (!reached(sends)) undelivered.push(name);
  }
  return {
    text: receiptText(rows),
    delivered: rows.some((r) => reached(r.sends)),
    acked: rows.some((r) => r.receipts.some((x) => x.kind === 'ack')),
    undelivered,
  };
}

function quote(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > QUOTE_CHARS ? `${oneLine.slice(0, QUOTE_CHARS)}…` : oneLine;
}
