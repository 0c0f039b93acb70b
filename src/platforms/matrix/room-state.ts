/**
 * What the platform remembers of each room's state: power levels (who is a
 * moderator), members' display names, and whether the room is encrypted.
 * Read from the server once per room and process, then kept current from the
 * timeline; a lookup that fails falls back (a member, the user id as name)
 * rather than holding up the sync.
 */
import type { MatrixClient } from 'matrix-bot-sdk';
import { parseMember, parsePowerLevels, powerOf } from './events.js';
import type { PowerLevels } from './events.js';

/** Rooms whose state this process keeps at most; past it, the oldest are read again when needed. */
const MAX_ROOMS = 5000;

interface RoomState {
  levels?: PowerLevels | undefined;
  levelsRead?: boolean;
  names: Map<string, string>;
  encrypted?: boolean;
}

export class RoomStateCache {
  private readonly rooms = new Map<string, RoomState>();

  constructor(private readonly client: MatrixClient) {}

  async powerLevel(roomId: string, userId: string): Promise<number> {
    const s = this.room(roomId);
    if (!s.levelsRead) {
      const read = await this.stateEvent(roomId, 'm.room.power_levels', '');
      if (!read.ok) return 0; // unreadable now: a member this time, read again next time
      s.levels = parsePowerLevels(read.content);
      s.levelsRead = true;
    }
    return powerOf(s.levels, userId);
  }

  async displayName(roomId: string, userId: string): Promise<string> {
    const s = this.room(roomId);
    let name = s.names.get(userId);
    if (name === undefined) {
      const read = await this.stateEvent(roomId, 'm.room.member', userId);
      name = (read.ok ? parseMember(read.content)?.displayname : undefined) ?? localpart(userId);
      if (read.ok) s.names.set(userId, name);
    }
    return name;
  }

  /**
   * Whether the room has `m.room.encryption`; read once, then kept current by
   * `markEncrypted`. While it cannot be read, the room counts as encrypted
   * (nothing is bridged rather than something wrongly) and is read again next time.
   */
  async encrypted(roomId: string): Promise<boolean> {
    const s = this.room(roomId);
    if (s.encrypted !== undefined) return s.encrypted;
    const read = await this.stateEvent(roomId, 'm.room.encryption', '');
    if (!read.ok) return true;
    s.encrypted = read.content !== undefined;
    return s.encrypted;
  }

  markEncrypted(roomId: string): void {
    this.room(roomId).encrypted = true;
  }

  /** Keeps the cache current from a state event seen in the timeline. */
  observe(roomId: string, type: string, stateKey: string, content: unknown): void {
    const s = this.rooms.get(roomId);
    if (!s) return; // read fresh when first needed
    if (type === 'm.room.power_levels') {
      s.levels = parsePowerLevels(content);
      s.levelsRead = true;
    } else if (type === 'm.room.member') {
      const m = parseMember(content);
      if (m?.displayname) s.names.set(stateKey, m.displayname);
      else s.names.delete(stateKey);
    }
  }

  forget(roomId: string): void {
    this.rooms.delete(roomId);
  }

  private room(roomId: string): RoomState {
    let s = this.rooms.get(roomId);
    if (!s) {
      if (this.rooms.size >= MAX_ROOMS) this.rooms.delete(this.rooms.keys().next().value as string);
      s = { names: new Map() };
      this.rooms.set(roomId, s);
    }
    return s;
  }

  /** A state event's content (undefined when the room has none: 404); not ok when it cannot be read now. */
  private async stateEvent(roomId: string, type: string, stateKey: string): Promise<{ ok: true; content?: unknown } | { ok: false }> {
    try {
      return { ok: true, content: (await this.client.getRoomStateEvent(roomId, type, stateKey)) as unknown };
    } catch (err) {
      return (err as { errcode?: unknown }).errcode === 'M_NOT_FOUND' ? { ok: true } : { ok: false };
    }
  }
}

/** "@alice:example.org" → "alice". */
export function localpart(userId: string): string {
  const m = /^@([^:]+):/.exec(userId);
  return m ? m[1]! : userId;
}
