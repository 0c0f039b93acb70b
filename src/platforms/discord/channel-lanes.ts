/**
 * One delivery queue per channel: discord.js emits gateway events without
 * waiting for their handlers, and the Platform contract wants a room's
 * events one at a time, in order, awaited. Each lane also remembers the ids
 * it delivered lately, so a message fetched while catching up is not
 * delivered again when the gateway brings it too (or the reverse).
 */

/** Ids remembered per channel: far more than the gateway and a catch-up can overlap by. */
const REMEMBERED = 500;

export class ChannelLanes {
  private readonly tails = new Map<string, Promise<void>>();
  private readonly delivered = new Map<string, Set<string>>();

  /** Runs `work` after everything queued for the channel; `onError` gets what it throws (the lane goes on). */
  run(channelId: string, work: () => Promise<void>, onError: (err: unknown) => void): void {
    const tail = (this.tails.get(channelId) ?? Promise.resolve()).then(work).catch(onError);
    this.tails.set(channelId, tail);
    void tail.finally(() => {
      if (this.tails.get(channelId) === tail) this.tails.delete(channelId);
    });
  }

  /** Resolves when every lane is empty. */
  async idle(): Promise<void> {
    while (this.tails.size > 0) await Promise.all([...this.tails.values()]);
  }

  /** Whether `id` was delivered on the channel lately; if not, it is marked delivered now. */
  once(channelId: string, id: string): boolean {
    let ids = this.delivered.get(channelId);
    if (!ids) this.delivered.set(channelId, (ids = new Set()));
    if (ids.has(id)) return false;
    ids.add(id);
    if (ids.size > REMEMBERED) ids.delete(ids.values().next().value!);
    return true;
  }
}
