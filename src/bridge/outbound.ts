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
import type { OutboxEntry } from '../store/rooms.js';
import { isPermanentFailure } from '../transports/transport.js';
import type { TransportId } from '../transports/transport.js';
import { contactCopy } from './copies.js';
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
  /** Shows the message's delivery state in its room (receipts.ts); never throws. */
  readonly showReceipt: (entry: OutboxEntry, final: boolean) => Promise<unknown>;
}

/** Whether room message `uuid` may be sent now: every earlier message of its room is done or failed. */
export async function isOutboundTurn(store: Store, uuid: string): Promise<boolean> {
  const entry = await store.rooms.getOutbox(uuid);
  return !entry || entry.state !== 'queued' || store.rooms.isOutboxTurn(entry);
}

/**
 * Sends what is still missing for room message `uuid` (call it in the
 * message's turn: isOutboundTurn). Throws only on store or platform faults.
 */
export async function processOutbound(uuid: string, d: OutboundDeps): Promise<OutboundOutcome> {
  const entry = await d.store.rooms.getOutbox(uuid);
  if (!entry || entry.state === 'failed') return { kind: 'done' };

  const room = await d.directory.room(entry.platform, entry.roomId);
  const owner = room.identity.xOnly;
  const broadcaster = await d.broadcasters.get(room);
  const all = broadcaster.transports.map((t) => t.id);
  const contacts = await d.store.listContacts(owner);
  const magnetLink = encodeMagnet(room.identity);

  const failures: string[] = [];
  const permanent: string[] = [];
  let everyoneReached = true;
  for (const contact of contacts) {
    const copy = contactCopy({ magnetLink }, entry, contact.xOnly);
    await d.store.rooms.addOutboxCopy({ owner, uuid: copy.uuid, roomUuid: entry.uuid, contact: contact.xOnly });
    const before = await d.store.getSendResults(owner, copy.uuid);
    const done = new Set<TransportId>(before.filter((s) => s.ok).map((s) => s.protocol));
    const missing = all.filter((t) => !done.has(t));
    if (missing.length > 0) {
      const delivery = await broadcaster.deliver(decodeMagnet(contact.magnetLink), copy, missing);
      for (const r of delivery.reports) {
        if (r.ok) done.add(r.transport);
        else (isPermanentFailure(r.reason) ? permanent : failures).push(`${contact.name}: ${r.transport} ${r.reason ?? 'failed'}`);
      }
    }
    if (done.size === 0) everyoneReached = false;
  }
  if (everyoneReached && entry.state === 'queued') await d.store.rooms.setOutboxState(entry.uuid, 'done');
  await d.showReceipt(entry, false);
  if (failures.length > 0) return { kind: 'retry', failed: failures.join('; ') };
  return everyoneReached ? { kind: 'done' } : { kind: 'failed', failed: permanent.join('; ') };
}

/**
 * After the last attempt: the message's turn passes for good, and the room is
 * told what did not arrive where, and why.
 */
export async function finishOutbound(uuid: string, d: OutboundDeps): Promise<void> {
  const entry = await d.store.rooms.getOutbox(uuid);
  if (!entry) return;
  if (entry.state === 'queued') await d.store.rooms.setOutboxState(uuid, 'failed');
  await d.showReceipt({ ...entry, state: entry.state === 'queued' ? 'failed' : entry.state }, true);
}
