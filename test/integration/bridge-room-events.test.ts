/**
 * What the bridge does with room events beyond plain messages (memory
 * platform, real queues and networks, a roomcast peer): edits go once as
 * corrections, replies quote one line, attachments go as links, reactions
 * and redactions stay in the room, and a room the bot was removed from stops
 * being bridged until it is back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MessageEvent } from '../../src/broadcaster/events.js';
import { decodeMagnet, encodeMagnet } from '../../src/identity/magnet.js';
import { startTestBridge } from '../support/bridge.js';
import type { TestBridge } from '../support/bridge.js';
import { openTestNode, startNetwork } from '../support/network.js';
import type { TestNetwork, TestNode } from '../support/network.js';
import { sleep, waitFor } from '../support/wait.js';
import { waitForPost } from '../support/room-waits.js';

const MOD = { id: '@mod:memory', displayName: 'Mod', level: 'moderator' as const };
const BOB = { id: '@bob:memory', displayName: 'Bob' };

let net: TestNetwork;
let b: TestBridge;
let peer: TestNode;
const got: MessageEvent[] = [];
const contents = () => got.map((e) => e.message.content);
let room: ReturnType<TestBridge['platform']['room']>;
let roomMagnet: string;

beforeAll(async () => {
  net = await startNetwork(1, 1);
  b = await startTestBridge({ net });
  peer = await openTestNode(net);
  peer.broadcaster.on('message', (e) => got.push(e));
  await peer.broadcaster.start();
  room = b.platform.room('!events');
  await b.platform.say(room, MOD, '!roomcast whoami');
  roomMagnet = /magnet:\?\S+/.exec((await waitForPost(b.platform, room, /magnet:\?xt=/)).text)![0];
  await b.platform.say(room, MOD, `!roomcast contact add alice ${encodeMagnet(peer.identity)}`);
  await waitForPost(b.platform, room, (e) => e.text.startsWith('Added contact alice'));
}, 30_000);

afterAll(async () => {
  await b?.stop();
  await peer?.close();
  await net?.stop();
});

describe('room events beyond messages', () => {
  it('sends an edit once, as a correction with the whole new text; an edited command is neither run nor relayed', async () => {
    const id = await b.platform.say(room, BOB, 'meet at 5');
    await waitFor(() => contents().includes('Bob: meet at 5'), 'the original', 20_000);
    await b.platform.editBy(room, BOB, id, 'meet at 6');
    await waitFor(() => contents().includes('Bob: ✎ meet at 6'), 'the correction', 20_000);

    const cmd = await b.platform.say(room, MOD, '!roomcast contacts');
    const answers = () => b.platform.botPosts(room).filter((p) => p.text.includes('Contacts of this room') || p.text.includes('alice')).length;
    await b.platform.idle();
    const before = answers();
    await b.platform.editBy(room, MOD, cmd, '!roomcast contacts');
    await sleep(500);
    expect(answers()).toBe(before);
    expect(contents().filter((c) => c.includes('meet at') || c.includes('!roomcast'))).toEqual(['Bob: meet at 5', 'Bob: ✎ meet at 6']);
  });

  it('quotes what a reply answers in one short line: from the store, else what the platform quotes', async () => {
    const asked = await b.platform.say(room, BOB, `what about ${'a very long question '.repeat(5)}?`);
    await waitFor(() => contents().some((c) => c.startsWith('Bob: what about')), 'the question', 20_000);
    await b.platform.say(room, MOD, 'yes', { replyTo: asked });
    await waitFor(() => contents().some((c) => c.endsWith('\nyes')), 'the reply', 20_000);
    const reply = contents().find((c) => c.endsWith('\nyes'))!;
    expect(reply).toMatch(/^Mod: ↪ Bob: what about a very long question a very long question .{0,30}…\nyes$/);

    // A message the bridge never relayed (the bot's own post): the platform's excerpt is quoted.
    const botPost = await b.platform.post(room, { text: 'a notice the bot wrote', notice: true });
    await b.platform.say(room, BOB, 'noted', { replyTo: botPost });
    await waitFor(() => contents().includes('Bob: ↪ a notice the bot wrote\nnoted'), 'the reply to the notice', 20_000);
  });

  it('sends an attachment as its link with name and size', async () => {
    await b.platform.say(room, BOB, 'the plan', { attachments: [{ name: 'plan.pdf', size: 1_572_864, mimeType: 'application/pdf', url: 'https://files.example/plan.pdf' }] });
    await waitFor(() => contents().some((c) => c.includes('plan.pdf')), 'the attachment', 20_000);
    expect(contents().find((c) => c.includes('plan.pdf'))).toBe('Bob: the plan\n📎 plan.pdf (1.5 MB, application/pdf) https://files.example/plan.pdf');
  });

  it('relays neither reactions nor redactions', async () => {
    const id = await b.platform.say(room, BOB, 'react to me');
    await waitFor(() => contents().includes('Bob: react to me'), 'the message', 20_000);
    const before = got.length;
    await b.platform.reactBy(room, MOD, id, '👍');
    await b.platform.reactBy(room, MOD, id, '👍', false);
    await b.platform.redactBy(room, BOB, id);
    await sleep(500);
    expect(got.length).toBe(before);
  });

  it('stops bridging a room the bot was removed from, keeping its contacts, and bridges it again when it is back', async () => {
    const owner = decodeMagnet(roomMagnet).xOnly;
    await b.platform.membership(room, false, 'kicked', MOD.id);
    expect((await b.store.rooms.getRoom('memory', '!events'))?.leftAt).toBeGreaterThan(0);
    expect(await b.rt.directory.all()).toEqual([]);
    expect((await b.store.listContacts(owner)).map((c) => c.name)).toEqual(['alice']);

    // Sent while the room is not bridged: nobody listens as the room, so it waits on the networks.
    await peer.broadcaster.send(decodeMagnet(roomMagnet), 'are you there?');
    await sleep(700);
    expect(b.platform.botPosts(room).some((p) => p.text.includes('are you there?'))).toBe(false);

    await b.platform.membership(room, true, 'invited', MOD.id);
    expect((await b.store.rooms.getRoom('memory', '!events'))?.leftAt).toBeUndefined();
    await waitForPost(b.platform, room, (p) => p.text === 'alice: are you there?', 20_000);
  });

  it('ignores membership of a room it never bridged', async () => {
    const other = b.platform.room('!never');
    await b.platform.membership(other, false, 'banned', MOD.id);
    expect(await b.store.rooms.getRoom('memory', '!never')).toBeUndefined();
  });
});
