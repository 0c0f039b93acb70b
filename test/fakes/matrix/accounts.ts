/**
 * Users, their devices (one access token each), profiles, passwords, sync
 * filters and account data. Registration's user-interactive auth sessions
 * live here too. Account data entries carry the global stream position of
 * their last change so /sync can send only what changed.
 */
import { newAccessToken, newDeviceId, randomLetters } from './ids.js';
import type { JsonObject, Requester } from './types.js';
import { MatrixApiError, cloneJson, forbidden } from './types.js';

export interface AccountDataEntry {
  readonly type: string;
  readonly content: JsonObject;
  readonly pos: number;
}

export interface User {
  readonly userId: string;
  password: string;
  displayname: string | null;
  avatarUrl: string | null;
  /** Global account data by type. */
  readonly accountData: Map<string, AccountDataEntry>;
  /** Per-room account data: roomId → type → entry. */
  readonly roomAccountData: Map<string, Map<string, AccountDataEntry>>;
  /** Sync filters; the filter ID is the index, as a string (Synapse counts from "0"). */
  readonly filters: JsonObject[];
  /** Set by PUT /presence; never pushed through /sync (the fake sends no presence events). */
  presence: { presence: string; statusMsg?: string };
}

export class Accounts {
  private readonly users = new Map<string, User>();
  private readonly sessions = new Map<string, Requester>();
  /** Open registration UIA sessions (ID → completed?). */
  private readonly uia = new Map<string, boolean>();
  private nextNumericId = 1;

  constructor(private readonly serverName: string) {}

  userIdFor(localpart: string): string {
    return `@${localpart}:${this.serverName}`;
  }

  user(userId: string): User | undefined {
    return this.users.get(userId);
  }

  /** Synapse's username checks (`check_username`), in its order. */
  checkLocalpart(localpart: string): void {
    if (!/^[a-z0-9=_\-./]+$/.test(localpart)) {
      throw new MatrixApiError(400, 'M_INVALID_USERNAME', "User ID can only contain characters a-z, 0-9, or '=_-./'");
    }
    if (localpart.startsWith('_')) throw new MatrixApiError(400, 'M_INVALID_USERNAME', 'User ID may not begin with _');
    if (/^\d+$/.test(localpart)) {
      throw new MatrixApiError(400, 'M_INVALID_USERNAME', 'Numeric user IDs are reserved for guest users.');
    }
    if (this.users.has(this.userIdFor(localpart))) throw new MatrixApiError(400, 'M_USER_IN_USE', 'User ID already taken.');
  }

  /** A localpart for registrations without `username` (Synapse picks numbers). */
  generateLocalpart(): string {
    while (this.users.has(this.userIdFor(String(this.nextNumericId)))) this.nextNumericId++;
    return String(this.nextNumericId++);
  }

  /** Creates the user; the display name starts as the localpart, as in Synapse. */
  createUser(localpart: string, password: string): User {
    const userId = this.userIdFor(localpart);
    const user: User = {
      userId,
      password,
      displayname: localpart,
      avatarUrl: null,
      accountData: new Map(),
      roomAccountData: new Map(),
      filters: [],
      presence: { presence: 'offline' },
    };
    this.users.set(userId, user);
    return user;
  }

  /** Logs a device in: a new access token (and device ID unless one is given). */
  newSession(userId: string, deviceId?: string): Requester {
    const localpart = userId.slice(1, userId.indexOf(':'));
    const session: Requester = { userId, deviceId: deviceId ?? newDeviceId(), token: newAccessToken(localpart) };
    this.sessions.set(session.token, session);
    return session;
  }

  session(token: string): Requester | undefined {
    return this.sessions.get(token);
  }

  endSession(token: string): void {
    this.sessions.delete(token);
  }

  devices(userId: string): string[] {
    return [...new Set([...this.sessions.values()].filter((s) => s.userId === userId).map((s) => s.deviceId))];
  }

  /** Checks a password login; Synapse gives the same 403 for unknown users and wrong passwords. */
  checkPassword(userId: string, password: string): User {
    const user = this.users.get(userId);
    if (!user || user.password !== password) throw forbidden('Invalid username or password');
    return user;
  }

  newUiaSession(): string {
    const id = randomLetters(24);
    this.uia.set(id, false);
    return id;
  }

  hasUiaSession(id: string): boolean {
    return this.uia.has(id);
  }

  completeUiaSession(id: string): void {
    this.uia.set(id, true);
  }

  /** Like Synapse, an identical filter (same JSON) gets its existing id back. */
  addFilter(user: User, filter: JsonObject): string {
    const same = user.filters.findIndex((f) => JSON.stringify(f) === JSON.stringify(filter));
    if (same >= 0) return String(same);
    user.filters.push(cloneJson(filter));
    return String(user.filters.length - 1);
  }

  filter(user: User, filterId: string): JsonObject | undefined {
    if (!/^\d+$/.test(filterId)) return undefined;
    const f = user.filters[Number(filterId)];
    return f === undefined ? undefined : cloneJson(f);
  }

  setAccountData(user: User, roomId: string | null, type: string, content: JsonObject, pos: number): void {
    const entry: AccountDataEntry = { type, content: cloneJson(content), pos };
    if (roomId === null) {
      user.accountData.set(type, entry);
      return;
    }
    let perRoom = user.roomAccountData.get(roomId);
    if (!perRoom) user.roomAccountData.set(roomId, (perRoom = new Map()));
    perRoom.set(type, entry);
  }

  accountData(user: User, roomId: string | null, type: string): AccountDataEntry | undefined {
    return roomId === null ? user.accountData.get(type) : user.roomAccountData.get(roomId)?.get(type);
  }
}
