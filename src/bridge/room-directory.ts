/**
 * Rooms ↔ identities. A room's identity is created the first time the room is
 * seen, sealed into the store, and from then on the same for every process of
 * the deployment. Keyed by platform + room id, so two platforms never collide.
 */
import { generateIdentity } from '../identity/keys.js';
import type { Identity } from '../identity/keys.js';
import type { RoomRecord, RoomStore } from '../store/rooms.js';
import { sealIdentity, sealingKey, unsealIdentity } from './room-keys.js';

export interface BridgedRoom {
  readonly platform: string;
  readonly roomId: string;
  readonly identity: Identity;
}

export class RoomDirectory {
  private readonly key: Uint8Array;
  private readonly byKey = new Map<string, BridgedRoom>();
  private readonly byOwner = new Map<string, BridgedRoom>();

  constructor(
    private readonly rooms: RoomStore,
    service: Identity,
  ) {
    this.key = sealingKey(service);
  }

  /** The room's identity, created (and persisted) on first use. */
  async room(platform: string, roomId: string): Promise<BridgedRoom> {
    const cached = this.byKey.get(`${platform}\u0000${roomId}`);
    if (cached) return cached;
    let record = await this.rooms.getRoom(platform, roomId);
    if (!record) {
      const fresh = generateIdentity();
      record = await this.rooms.createRoom({ platform, roomId, owner: fresh.xOnly, sealedKey: sealIdentity(fresh, this.key) });
    }
    return this.remember(record);
  }

  /** Every room still bridged, i.e. not left (for the listener, which must listen as each of them). */
  async all(): Promise<BridgedRoom[]> {
    const bridged = (await this.rooms.listRooms()).filter((r) => r.leftAt === undefined);
    return Promise.all(bridged.map((r) => this.byOwner.get(r.owner) ?? this.remember(r)));
  }

  /** The room whose identity has x-only key `owner`, if it is bridged here. */
  async ownedBy(owner: string): Promise<BridgedRoom | undefined> {
    const cached = this.byOwner.get(owner);
    if (cached) return cached;
    const record = await this.rooms.getRoomByOwner(owner);
    return record ? this.remember(record) : undefined;
  }

  private remember(record: RoomRecord): BridgedRoom {
    const room = { platform: record.platform, roomId: record.roomId, identity: unsealIdentity(record.sealedKey, this.key, record.owner) };
    this.byKey.set(`${record.platform}\u0000${record.roomId}`, room);
    this.byOwner.set(record.owner, room);
    return room;
  }
}
