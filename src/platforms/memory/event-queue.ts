/**
 * How the memory platform hands events to the bridge: one at a time, in
 * order, each awaited, as Matrix's sync and Discord's gateway do; events
 * written while no handler is set wait and go on the next start.
 */
import type { RoomEvent } from '../platform.js';

interface Pending {
  readonly event: RoomEvent;
  readonly delivered?: { resolve: () => void; reject: (err: unknown) => void };
}

export class EventQueue {
  /** Errors thrown by the handler, in order. */
  readonly handlerErrors: unknown[] = [];
  readonly #queue: Pending[] = [];
  readonly #handled: () => void;
  #handler: ((e: RoomEvent) => Promise<void>) | undefined;
  #pumping: Promise<void> | undefined;

  /** @param handled called after each event is handled (or its handler threw). */
  constructor(handled: () => void) {
    this.#handled = handled;
  }

  get started(): boolean {
    return this.#handler !== undefined;
  }

  start(handler: (e: RoomEvent) => Promise<void>): void {
    this.#handler = handler;
    this.#kick();
  }

  /** Stops taking events (those waiting stay for the next start); resolves once the event in hand is handled. */
  async stop(): Promise<void> {
    this.#handler = undefined;
    await this.#pumping;
  }

  /** Queues an event nobody waits for (the bot's own posts coming back). */
  push(event: RoomEvent): void {
    this.#enqueue({ event });
  }

  /** Queues an event; while started, resolves once it was handled (rejects with the handler's error); while stopped, at once. */
  async deliver(event: RoomEvent): Promise<void> {
    if (!this.#handler) {
      this.#enqueue({ event });
      return;
    }
    await new Promise<void>((resolve, reject) => this.#enqueue({ event, delivered: { resolve, reject } }));
  }

  /** Resolves when every event queued so far has been handled (or the queue is stopped). */
  async idle(): Promise<void> {
    while (this.#pumping) await this.#pumping;
  }

  #enqueue(p: Pending): void {
    this.#queue.push(p);
    this.#kick();
  }

  /** Starts the delivery loop unless it runs; it stops when the queue is empty or the handler is gone. */
  #kick(): void {
    if (this.#pumping || !this.#handler || this.#queue.length === 0) return;
    // pump() starts on a later tick, so it always finds `pumping` set and is the one to clear it.
    this.#pumping = Promise.resolve().then(() => this.#pump());
  }

  async #pump(): Promise<void> {
    for (;;) {
      const handler = this.#handler;
      const next = handler ? this.#queue.shift() : undefined;
      // Checked and cleared in one synchronous step, so an enqueue can never find a loop that is about to end.
      if (!handler || !next) {
        this.#pumping = undefined;
        return;
      }
      try {
        await handler(next.event);
        next.delivered?.resolve();
      } catch (err) {
        this.handlerErrors.push(err);
        next.delivered?.reject(err);
      }
      this.#handled();
    }
  }
}
