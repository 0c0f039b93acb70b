/**
 * What the operators' status page reads: recent sends with their latency,
 * each identity's last message, and the latest room messages. Read-only,
 * bounded queries (a limit on every one), so a busy store costs the page
 * nothing it cannot afford.
 */
import { bool, num, str } from './db.js';
import type { Db } from './db.js';

export interface RecentSend {
  readonly owner: string;
  readonly uuid: string;
  readonly protocol: string;
  readonly ok: boolean;
  readonly latencyMs: number;
  readonly at: number;
}

export interface RecentRoomMessage {
  readonly platform: string;
  readonly roomId: string;
  readonly uuid: string;
  readonly senderName: string;
  readonly text: string;
  readonly createdAt: number;
  readonly state: string;
}

export interface ActivityQueries {
  /** Per-endpoint send results since `sinceMs`, newest first, at most `limit`. */
  recentSends(sinceMs: number, limit: number): Promise<RecentSend[]>;
  /** The time of each identity's newest message, in or out (ms). */
  lastActivity(): Promise<Map<string, number>>;
  /** The latest room messages across rooms, newest first. */
  recentRoomMessages(limit: number): Promise<RecentRoomMessage[]>;
}

export function activityQueries(db: Db): ActivityQueries {
  return {
    async recentSends(sinceMs, limit) {
      const rs = await db.read({
        sql: 'SELECT owner, uuid, protocol, ok, latency_ms, at FROM send_results WHERE at >= ? ORDER BY at DESC LIMIT ?',
        args: [sinceMs, limit],
      });
      return rs.rows.map((r) => ({ owner: str(r, 'owner'), uuid: str(r, 'uuid'), protocol: str(r, 'protocol'), ok: bool(r, 'ok'), latencyMs: num(r, 'latency_ms'), at: num(r, 'at') }));
    },
    async lastActivity() {
      const rs = await db.read('SELECT owner, max(timestamp) AS at FROM messages GROUP BY owner');
      return new Map(rs.rows.map((r) => [str(r, 'owner'), num(r, 'at')]));
    },
    async recentRoomMessages(limit) {
      const rs = await db.read({
        sql: 'SELECT platform, room_id, uuid, sender_name, text, created_at, state FROM room_outbox ORDER BY created_at DESC, seq DESC LIMIT ?',
        args: [limit],
      });
      return rs.rows.map((r) => ({
        platform: str(r, 'platform'),
        roomId: str(r, 'room_id'),
        uuid: str(r, 'uuid'),
        senderName: str(r, 'sender_name'),
        text: str(r, 'text'),
        createdAt: num(r, 'created_at'),
        state: str(r, 'state'),
      }));
    },
  };
}
