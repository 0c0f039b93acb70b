/**
 * Every write the bridge makes into rooms goes through here: paced per room
 * to the platform's declared rate limit, and retried when the platform still
 * says "slow down" (RateLimitedError), so a burst of inbound messages or
 * receipts is delayed, never dropped. Writes are 'high' priority (contacts'
 * messages, answers) unless marked 'low' (receipts): when the room's budget
 * is short, high ones go first. Capabilities decide what is possible
 * (reactions, edits); nothing here names a platform.
 */
import type { Logger } from '../observability/logger.js';
import { limitFor, RateLimitedError, roomKey } from '../platforms/platform.js';
import type { Platform, PlatformMessageId, RoomPost, RoomRef, WriteKind } from '../platforms/platform.js';
import { RoomRateLimiter } from '../platforms/rate-limit.js';
import type { WritePriority } from '../platforms/rate-limit.js';

/** How many times one write is retried after the platform refused it for pace. */
const MAX_RATE_LIMIT_RETRIES = 10;

export class RoomWriter {
  private readonly limiters = new Map<string, RoomRateLimiter>();

  constructor(
    private readonly platforms: ReadonlyMap<string, Platform>,
    private readonly log: Logger,
  ) {}

  platform(id: string): Platform {
    const p = this.platforms.get(id);
    if (!p) throw new Error(`no platform "${id}" is configured in this process`);
    return p;
  }

  post(room: RoomRef, msg: RoomPost, priority: WritePriority = 'high'): Promise<PlatformMessageId> {
    const p = this.platform(room.platform);
    return this.paced(p, 'post', room, () => p.post(room, msg), priority);
  }

  /**
   * Posts what `compose` builds once the room's slot is granted: `waited` is
   * true when the room's write budget was spent and the post had to wait, so
   * the caller may gather what piled up meanwhile into this one post (bursts
   * into a room become fewer posts instead of a queue of minutes).
   */
  postGathered(room: RoomRef, compose: (waited: boolean) => Promise<RoomPost>, priority: WritePriority = 'high'): Promise<PlatformMessageId> {
    const p = this.platform(room.platform);
    let waitedOnce = false;
    return this.paced(p, 'post', room, async (waited) => {
      waitedOnce ||= waited;
      return p.post(room, await compose(waitedOnce));
    }, priority);
  }

  /** Reacts where the platform supports reactions; false where it does not. */
  async react(room: RoomRef, target: PlatformMessageId, emoji: string, priority: WritePriority = 'high'): Promise<boolean> {
    const p = this.platform(room.platform);
    if (!p.capabilities.reactions || !p.react) return false;
    await this.paced(p, 'react', room, () => p.react!(room, target, emoji), priority);
    return true;
  }

  /** Edits where the platform supports edits; false where it does not. */
  async edit(room: RoomRef, target: PlatformMessageId, msg: RoomPost, priority: WritePriority = 'high'): Promise<boolean> {
    const p = this.platform(room.platform);
    if (!p.capabilities.edits || !p.edit) return false;
    await this.paced(p, 'edit', room, () => p.edit!(room, target, msg), priority);
    return true;
  }

  /** The pacing of one budget of a platform (its posts', or a kind's own: PlatformCapabilities.ownLimits). */
  private limiter(p: Platform, kind: WriteKind): RoomRateLimiter {
    const { limit, bucket } = limitFor(p.capabilities, kind);
    const id = `${p.id}|${bucket}`;
    let limiter = this.limiters.get(id);
    if (!limiter) {
      limiter = new RoomRateLimiter(limit);
      this.limiters.set(id, limiter);
    }
    return limiter;
  }

  private async paced<T>(p: Platform, kind: WriteKind, room: RoomRef, write: (waited: boolean) => Promise<T>, priority: WritePriority): Promise<T> {
    const limiter = this.limiter(p, kind);
    const key = roomKey(room);
    for (let attempt = 0; ; attempt++) {
      try {
        return await limiter.schedule(key, write, priority);
      } catch (err) {
        if (!(err instanceof RateLimitedError) || attempt >= MAX_RATE_LIMIT_RETRIES) throw err;
        this.log.debug({ room: key, retryAfterMs: err.retryAfterMs }, 'platform asked us to slow down');
        limiter.defer(key, err.retryAfterMs);
      }
    }
  }
}
