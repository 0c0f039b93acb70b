/**
 * What a channel said while roomcast was not listening (stopped, restarted,
 * or a gateway session that could not be resumed): fetched after the last
 * message delivered from it (kept in roomcast's store as `seen:<channel>`)
 * and delivered oldest first, before anything new on the channel's lane.
 * A channel never seen before has nothing to catch up: history from before
 * the bot came is not bridged.
 */
import type { Channel, Message } from 'discord.js';
import type { Logger } from '../../observability/logger.js';
import type { PlatformStateStore, RoomRef } from '../platform.js';
import { compareSnowflakes } from './webhooks.js';

/** At most this many pages of 100 messages per channel; older ones are skipped, and the log says so. */
const MAX_PAGES = 10;

export interface CatchUpDeps {
  readonly state: PlatformStateStore;
  readonly deliver: (m: Message) => Promise<void>;
  readonly log: Logger;
}

export async function catchUp(channel: Channel, room: RoomRef, d: CatchUpDeps): Promise<void> {
  if (!channel.isTextBased() || channel.isDMBased()) return;
  const seen = await d.state.get(`seen:${room.roomId}`);
  if (!seen) return;
  let after = seen;
  let count = 0;
  for (let page = 0; page < MAX_PAGES; page++) {
    const batch = [...(await channel.messages.fetch({ after, limit: 100, cache: true })).values()].sort((a, b) => compareSnowflakes(a.id, b.id));
    for (const m of batch) {
      await d.deliver(m);
      count++;
    }
    const last = batch.at(-1);
    if (!last || batch.length < 100) break;
    after = last.id;
    if (page === MAX_PAGES - 1) d.log.warn({ channel: room.roomId, delivered: count }, 'Discord: caught up the most recent messages of a channel; older ones written while roomcast was away are not bridged');
  }
  if (count > 0) d.log.info({ channel: room.roomId, messages: count }, 'Discord: caught up on messages written while roomcast was away');
}
