/**
 * What an outbound job does: send one room message to every contact of the
 * room on every transport, recording each contact × transport result, so a
 * retry sends only what failed. The room's order is kept by the outbox: a
 * message's turn comes once every earlier one has reached each contact on at
 * least one transport (or finally failed), so a transport still being retried
 * for message 1 does not hold message 2 back, while a contact never gets
 * message 2 before message 1.
 */
import { decodeMagnet, encodeMagnet } from '../identity/magnet.js';
import type { Logger } from '../observability/logger.js';
import type { Store } from '../store/store.js';
import type { Turn } from '../common/turn.js';
import type { OutboxEntry } from '../store/rooms.js';
import { isPermanentFailure } from '../common/delivery.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import { MessageTooLargeError, outboundRecord } from '../broadcaster/broadcaster.js';
import { serializeChatMessage } from '../protocol/chat-message.js';
import { contactCopies } from './copies.js';
import { contactContents } from './parts.js';
import type { PartLimits } from './parts.js';
import type { RoomBroadcasters } from './room-broadcasters.js';
import type { RoomDirectory } from './room-directory.js';

/**
 * done: nothing left to send (failures a retry cannot cure, such as a network
 * that requires a newer client, are shown in the receipt and not retried);
 * retry: some contact × transport failed in a way a retry may cure;
 * failed: some contact was reached on no transport, and no retry can change that.
 */
export type OutboundOutcome = { kind: 'done' } | { kind: 'retry'; failed: string } | { kind: 'failed'; failed: string };

export interface OutboundDeps {
  readonly store: Store;
  readonly directory: RoomDirectory;
  readonly broadcasters: RoomBroadcasters;
  readonly log: Logger;
  /** How much one ChatMessage may carry (limits.maxContentChars, limits.maxMessageBytes), and into how many parts a room message may be cut (bridge.maxParts). */
  readonly limits: { readonly maxContentChars: number; readonly maxMessageBytes: number; readonly maxParts: number };
  /** Marks the message's receipt for showing in its room (receipts.ts); returns at once, never throws: delivery never waits for a receipt. */
  readonly showReceipt: (entry: OutboxEntry, final: boolean) => void;
  /** Tells the room that a message was not sent at all, and why; never throws. */
  readonly refuse: (entry: OutboxEntry, why: string) => Promise<unknown>;
}

/**
 * Whether room message `uuid` may be sent now (every earlier message of its
 * room is done or failed, or in `passed`: see processOutbound's `onPassed`),
 * or how far off its turn is.
 */
export async function outboundTurn(store: Store, uuid: string, passed?: ReadonlySet<string>): Promise<Turn> {
  const entry = await store.rooms.getOutbox(uuid);
  return !entry || entry.state !== 'queued' ? 'now' : store.rooms.outboxTurn(entry, passed);
}

/**
 * Sends what is still missing for room message `uuid` (call it in the
 * message's turn: isOutboundTurn). A message too long for one ChatMessage
 * goes in parts, in order: a contact gets part 2 only once part 1 reached
 * them. One that would take more than `limits.maxParts` is not sent; the room
 * is told. Throws only on store or platform faults. `onPassed` is called
 * once every contact has the message, before its state is committed.
 */
export async function processOutbound(uuid: string, d: OutboundDeps, onPassed?: () => void): Promise<OutboundOutcome> {
  const entry = await d.store.rooms.getOutbox(uuid);
  if (!entry || entry.state === 'failed') return { kind: 'done' };
  const room = await d.directory.room(entry.platform, entry.roomId);
  const magnetLink = encodeMagnet(room.identity);
  const split = contactContents(entry.senderName, entry.text, partLimits(magnetLink, entry.createdAt, d.limits));
  if (!split.ok) {
    await d.store.rooms.setOutboxState(entry.uuid, 'failed');
    await d.refuse(entry, `it would take ${split.parts} messages; at most ${d.limits.maxParts} are sent for one (${d.limits.maxContentChars} characters each)`);
    return { kind: 'done' };
  }

  const owner = room.identity.xOnly;
  const broadcaster = await d.broadcasters.get(room);
  const all = broadcaster.transports.map((t) => t.id);
  const contacts = await d.store.listContacts(owner);

  const failures: string[] = [];
  const permanent: string[] = [];
  let everyoneReached = true;
  const perContact = contacts.map((contact) => ({ contact, copies: contactCopies({ magnetLink }, entry, contact.xOnly, split.contents) }));
  // Every copy is on record, with its message row, before any is sent, in one commit: a receipt never
  // counts a contact reached by part 1 alone, and an ack that overtakes the send reports finds its message.
  await Promise.all(
    perContact.flatMap(({ contact, copies }) =>
      copies.flatMap((copy) => [
        d.store.rooms.addOutboxCopy({ owner, uuid: copy.uuid, roomUuid: entry.uuid, contact: contact.xOnly }),
        d.store.recordOutbound(outboundRecord(owner, contact.xOnly, copy), []),
      ]),
    ),
  );
  // Send results are written while the next copy goes out; the last ones share a commit with the message's state.
  const writes: Array<Promise<void>> = [];
  const write = (p: Promise<void>) => {
    p.catch(() => undefined); // awaited below; never an unhandled rejection meanwhile
    writes.push(p);
  };
  // Each copy's delivery, settled once every endpoint has answered; the loop goes on as soon as one endpoint took it.
  const deliveries: Array<Promise<void>> = [];
  try {
    for (const { contact, copies } of perContact) {
      const peer = decodeMagnet(contact.magnetLink);
      for (const copy of copies) {
        const before = await d.store.getSendResults(owner, copy.uuid);
        const done = new Set<ProtocolId>(before.filter((s) => s.ok).map((s) => s.protocol));
        const missing = all.filter((t) => !done.has(t));
        let reached = done.size > 0;
        if (missing.length > 0) {
          let accepted: () => void = () => undefined;
          const firstAccepted = new Promise<void>((resolve) => (accepted = resolve));
          const delivery = broadcaster.deliver(peer, copy, missing, { record: false, onReached: accepted }).then(
            (delivery) => {
              write(d.store.recordOutbound(outboundRecord(owner, contact.xOnly, copy), delivery.reports));
              for (const r of delivery.reports) {
                if (r.ok) done.add(r.transport);
                else (isPermanentFailure(r.reason) ? permanent : failures).push(`${contact.name}: ${r.transport} ${r.reason ?? 'failed'}`);
              }
            },
            (err: unknown) => {
              // Sizes are checked before sending: no retry makes a message smaller.
              if (!(err instanceof MessageTooLargeError)) throw err;
              permanent.push(`${contact.name}: ${err.message}`);
            },
          );
          delivery.catch(() => undefined); // awaited below
          deliveries.push(delivery);
          // A slow endpoint (a broker that stopped answering) holds neither the next part nor the room's next
          // message: every broker and relay already has this copy on its connection, ahead of anything sent
          // after it, and the endpoint that took it first has it on its way to the contact.
          await Promise.race([firstAccepted.then(() => (reached = true)), delivery.then(() => undefined, () => undefined)]);
          reached ||= done.size > 0;
        }
        if (!reached) {
          // Later parts wait until this one reached the contact: never part 2 before part 1.
          everyoneReached = false;
          break;
        }
      }
    }
    // Every contact has it: the room's next message need not wait for the endpoints still answering, nor for
    // the commit of this one's state. Should this process die before that commit, this message is sent again
    // after the next one, which only repeats what every contact already has (same uuid).
    const passed = everyoneReached && entry.state === 'queued';
    if (passed) onPassed?.();
    await Promise.all(deliveries);
    // Asked for in the same turn as the last send results, so they share a commit.
    if (passed) write(d.store.rooms.setOutboxState(entry.uuid, 'done'));
    await Promise.all(writes);
  } finally {
    await Promise.allSettled(deliveries);
    await Promise.allSettled(writes);
  }
  d.showReceipt(entry, false);
  if (failures.length > 0) return { kind: 'retry', failed: failures.join('; ') };
  return everyoneReached ? { kind: 'done' } : { kind: 'failed', failed: permanent.join('; ') };
}

/** The part limits for copies from `magnetLink`: what the encoded message leaves for the content. */
function partLimits(magnetLink: string, timestamp: number, limits: OutboundDeps['limits']): PartLimits {
  const empty = serializeChatMessage({ uuid: '00000000-0000-5000-8000-000000000000', type: 'message', content: '', timestamp, fromMagnetLink: magnetLink });
  return { maxContentChars: limits.maxContentChars, maxContentBytes: limits.maxMessageBytes - Buffer.byteLength(empty), maxParts: limits.maxParts };
}

/**
 * After the last attempt: the message's turn passes for good, and the room is
 * told what did not arrive where, and why.
 */
export async function finishOutbound(uuid: string, d: OutboundDeps): Promise<void> {
  const entry = await d.store.rooms.getOutbox(uuid);
  if (!entry) return;
  if (entry.state === 'queued') await d.store.rooms.setOutboxState(uuid, 'failed');
  d.showReceipt({ ...entry, state: entry.state === 'queued' ? 'failed' : entry.state }, true);
}
