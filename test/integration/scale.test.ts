/**
 * Many rooms in one process (`npx vitest run scale`): 200 bridged rooms share
 * one connection per broker and relay, and each room's messages reach only
 * that room, both ways. Real Mosquitto, real relays, Redis, a roomcast peer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { publicPart } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import type { RoomRef } from '../../src/platforms/platform.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { waitForRoom } from '../support/room-waits.js';
import { connectionsTo } from '../support/sockets.js';
import { waitFor } from '../support/wait.js';

const ROOMS = 200;
const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const PERSON = { id: '@person:memory', displayName: 'Person' };

let net: TestNetwork;
let b: TestBridge;
let peer: TestNode;
const atPeer: MessageEvent[] = [];

beforeAll(async () => {
  net = await startNetwork(2, 2);
  peer = await openTestNode(net);
  peer.broadcaster.on('message', (e) => atPeer.push(e));
  await peer.broadcaster.start();
  b = await startTestBridge({ net });
}, 60_000);

afterAll(async () => {
  await b?.stop();
  await peer?.close();
  await net?.stop();
});

describe(`${ROOMS} rooms in one process`, () => {
  it('share one connection per broker and relay, and each room’s messages reach only that room', async () => {
    const rooms: RoomRef[] = Array.from({ length: ROOMS }, (_, i) => b.platform.room(`!scale-${i}`));
    const magnet = encodeMagnet(peer.identity);
    for (let i = 0; i < ROOMS; i += 25) {
      await Promise.all(rooms.slice(i, i + 25).map((room) => b.platform.say(room, MOD, `!roomcast contact add peer ${magnet}`)));
    }
    await waitForRoom(b.platform, () => rooms.every((room) => b.platform.botPosts(room).some((e) => e.text.includes('peer'))), 'every room to confirm its contact', 60_000);
    const identities: Identity[] = await Promise.all(rooms.map(async (room) => (await b.rt.directory.room('memory', room.roomId)).identity));
    expect(new Set(identities.map((id) => id.xOnly)).size).toBe(ROOMS);

    // The bridge holds one connection per endpoint, the in-process peer one more each.
    const ports = [...net.brokers.map((x) => x.port), ...net.relays.map((x) => x.port)];
    expect(connectionsTo(ports)).toBe(2 * ports.length);

    // Room → peer: each room's line arrives from that room's identity.
    for (let i = 0; i < ROOMS; i += 50) {
      await Promise.all(rooms.slice(i, i + 50).map((room, j) => b.platform.say(room, PERSON, `from room ${i + j}`)));
    }
    await waitFor(() => atPeer.length >= ROOMS, `${ROOMS} room messages at the peer`, 60_000);
    for (const e of atPeer) {
      const i = Number(/from room (\d+)$/.exec(e.message.content)?.[1]);
      expect(e.sender.xOnly).toBe(identities[i]!.xOnly);
    }
    expect(new Set(atPeer.map((e) => e.message.content)).size).toBe(ROOMS);

    // Peer → room: each line is posted in its room and in no other.
    for (let i = 0; i < ROOMS; i += 50) {
      await Promise.all(identities.slice(i, i + 50).map((id, j) => peer.broadcaster.send(publicPart(id), `for room ${i + j}`)));
    }
    const posted = (i: number) => b.platform.botPosts(rooms[i]!).filter((e) => /for room \d+$/.test(e.text));
    await waitForRoom(b.platform, () => rooms.every((_, i) => posted(i).length > 0), 'every room its message', 60_000);
    for (let i = 0; i < ROOMS; i++) {
      expect(posted(i).map((e) => /for room (\d+)$/.exec(e.text)?.[1])).toEqual([String(i)]);
    }
    expect(connectionsTo(ports)).toBe(2 * ports.length);
  }, 180_000);
});
