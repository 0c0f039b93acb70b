/**
 * A peer node that is a contact of a bridged room: the set-up most bridge
 * tests share. The peer listens on the test network (and acks by itself); a
 * moderator adds it to the room with the bot command.
 */
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import type { RoomRef } from '../../src/platforms/platform.js';
import type { TestBridge } from './bridge.js';
import { openTestNode } from './network.js';
import type { Endpoints, TestNode } from './network.js';
import { waitForPost } from './room-waits.js';

export const MODERATOR = { id: '@mod', displayName: 'Mod', level: 'moderator' as const };

export interface PeerContact {
  readonly peer: TestNode;
  readonly room: RoomRef;
  /** What the peer received, in order. */
  readonly got: MessageEvent[];
  /** The texts the peer received, without the "sender: " the bridge puts before them. */
  texts(): string[];
}

/** Opens a listening peer on `net` and adds it to room `roomId` as contact `name`. The caller closes `peer`. */
export async function peerContact(b: TestBridge, net: Endpoints, roomId: string, name = 'alice'): Promise<PeerContact> {
  const peer = await openTestNode(net);
  try {
    const got: MessageEvent[] = [];
    peer.broadcaster.on('message', (e) => got.push(e));
    await peer.broadcaster.start();
    const room = b.platform.room(roomId);
    await b.platform.say(room, MODERATOR, `!roomcast contact add ${name} ${encodeMagnet(peer.identity)}`);
    await waitForPost(b.platform, room, (e) => e.text.includes(name));
    return { peer, room, got, texts: () => got.map((e) => e.message.content.slice(e.message.content.indexOf(': ') + 2)) };
  } catch (err) {
    await peer.close();
    throw err;
  }
}
