import type { Identity } from '../../src/identity/keys.js';
import type { Rejection } from '../../src/protocol/chat-message.js';
import { silentLogger } from '../../src/observability/logger.js';
import type { CursorStore, TransportContext, TransportId } from '../../src/transports/transport.js';

export interface RecordedRejection {
  transport: TransportId;
  endpoint: string;
  rejection: Rejection;
}

/** A TransportContext for tests that records rejections and keeps cursors in memory. */
export function testContext(identity: Identity, maxMessageBytes = 64 * 1024): TransportContext & { rejections: RecordedRejection[]; cursorMap: Map<string, number> } {
  const rejections: RecordedRejection[] = [];
  const cursorMap = new Map<string, number>();
  const cursors: CursorStore = {
    getCursor: async (key) => cursorMap.get(key),
    setCursor: async (key, value) => {
      cursorMap.set(key, value);
    },
  };
  return {
    identity,
    log: silentLogger(),
    reject: (source, rejection) => rejections.push({ ...source, rejection }),
    cursors,
    maxMessageBytes,
    rejections,
    cursorMap,
  };
}
