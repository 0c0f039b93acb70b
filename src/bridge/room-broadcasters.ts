/**
 * One broadcaster per bridged room, started once and reused. The bridge
 * process listens as every room; a worker-only process sends for rooms with
 * send-only transports (see TransportContext.listen).
 */
import type { Broadcaster } from '../broadcaster/broadcaster.js';
import type { Identity } from '../identity/keys.js';
import type { PublicIdentity } from '../identity/keys.js';
import type { HandOff } from '../transports/hand-off.js';
import type { BridgedRoom } from './room-directory.js';

/** What a room's broadcaster gets besides its identity (TransportContext.handOff and .peers). */
export interface BroadcasterExtras {
  readonly handOff?: HandOff;
  readonly peers?: () => Promise<readonly PublicIdentity[]>;
}

/** Builds a room identity's broadcaster: listening, or send-only (the wiring's, e.g. node.ts buildBroadcaster). */
export type BroadcasterFactory = (identity: Identity, listen: boolean, extras?: BroadcasterExtras) => Broadcaster;

export class RoomBroadcasters {
  private readonly started = new Map<string, Promise<Broadcaster>>();

  /**
   * @param onCreated called once per room before its broadcaster starts, so
   *   listeners (messages, acks) are attached before the first copy arrives.
   */
  constructor(
    private readonly make: (identity: Identity, listen: boolean) => Broadcaster,
    private readonly listen: boolean,
    private readonly onCreated: (room: BridgedRoom, b: Broadcaster) => void = () => undefined,
  ) {}

  /** The room's broadcaster, started. */
  get(room: BridgedRoom): Promise<Broadcaster> {
    const key = room.identity.xOnly;
    let p = this.started.get(key);
    if (!p) {
      const b = this.make(room.identity, this.listen);
      this.onCreated(room, b);
      p = b.start().then(() => b);
      this.started.set(key, p);
      p.catch(() => this.started.delete(key));
    }
    return p;
  }

  /**
   * Stops listening as the room for good (it is no longer bridged): networks
   * stop keeping its messages. A later `get` starts afresh.
   */
  async drop(room: BridgedRoom): Promise<void> {
    const p = this.started.get(room.identity.xOnly);
    this.started.delete(room.identity.xOnly);
    await (await p?.catch(() => undefined))?.stop({ forget: true });
  }

  async stopAll(): Promise<void> {
    const all = [...this.started.values()];
    this.started.clear();
    await Promise.all(all.map(async (p) => (await p.catch(() => undefined))?.stop()));
  }
}
