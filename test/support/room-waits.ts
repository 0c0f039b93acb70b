/**
 * Waiting on the in-memory platform's rooms, event-driven (MemoryPlatform.onChange):
 * tests wait for a post or a state without sleeping.
 */
import type { MemoryPlatform, TimelineEntry } from '../../src/platforms/memory/memory-platform.js';
import { roomKey } from '../../src/platforms/platform.js';
import type { RoomEvent, RoomMessageEvent, RoomRef } from '../../src/platforms/platform.js';

/**
 * Resolves with the first truthy value of `probe`, checked now and after
 * every change to any room of `platform`; rejects after `timeoutMs` naming `what`.
 */
export function waitForRoom<T>(platform: MemoryPlatform, probe: () => T | undefined | null | false, what: string, timeoutMs = 5000): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let stop = () => undefined as void;
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
    }, timeoutMs);
    const check = () => {
      const value = probe();
      if (!value) return;
      clearTimeout(timer);
      stop();
      resolve(value);
    };
    stop = platform.onChange(check);
    check();
  });
}

/** Waits for a bot post in `room` whose text contains `match` (or matches it / satisfies it). */
export function waitForPost(platform: MemoryPlatform, room: RoomRef, match: string | RegExp | ((e: TimelineEntry) => boolean), timeoutMs = 5000): Promise<TimelineEntry> {
  const test = typeof match === 'function' ? match : (e: TimelineEntry) => (typeof match === 'string' ? e.text.includes(match) : match.test(e.text));
  return waitForRoom(platform, () => platform.botPosts(room).find(test), `a bot post matching ${String(match)} in ${roomKey(room)}`, timeoutMs);
}

/** A platform handler that sees messages only (tests that speak of messages alone); other events are ignored. */
export function onlyMessages(handler: (e: RoomMessageEvent) => Promise<void>): (e: RoomEvent) => Promise<void> {
  return async (e) => {
    if (e.kind === 'message') await handler(e);
  };
}
