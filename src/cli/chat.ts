/**
 * `roomcast chat`: the prototype's terminal client. Each line typed is sent on
 * every transport; what arrives is shown once, with where it came from first
 * and where else it arrived (see chat-session.ts for what is shown, and
 * chat-screen.ts for how lines are printed above the one being typed).
 *
 * chat holds a transient MQTT session (a client id of its own, clean
 * session): it can run beside `roomcast listen` (or the service) as the same
 * identity without the two knocking each other off the broker. What was sent
 * while no chat ran comes from the relays (Nostr resumes from its stored
 * cursor) and XMTP; MQTT's queue for offline delivery belongs to the listener.
 */
import { decodeMagnet } from '../identity/magnet.js';
import { openNode } from '../node.js';
import { ChatScreen } from './chat-screen.js';
import { ChatSession, peerDisplayName } from './chat-session.js';
import { formatConnected } from './format.js';
import { cliConfig } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

export interface ChatOptions extends NodeCliOptions {
  identity: string;
  to: string;
  /** How to show the peer (default: the link's dn=, else a short npub). */
  name?: string;
}

export async function chat(o: ChatOptions): Promise<void> {
  const peer = decodeMagnet(o.to);
  const peerName = peerDisplayName(peer, o.to, o.name);
  const node = await openNode(cliConfig(o, { quiet: true, transientSession: true }), { identityFile: o.identity });
  const { broadcaster } = node;
  const terminal = process.stdin.isTTY === true && process.stdout.isTTY === true;
  const screen = new ChatScreen({ input: process.stdin, output: process.stdout, terminal });
  const session = new ChatSession({ broadcaster, peer, peerName, view: screen });
  try {
    await broadcaster.start();
    const networks = broadcaster.transports
      .map((t) => {
        const status = t.status();
        return formatConnected(t.id, status.filter((s) => s.connected).length, status.length);
      })
      .join(' · ');
    session.start([
      `Chatting as ${broadcaster.magnetLink}`,
      `with ${peerName} (${peer.ethAddress}). Connected: ${networks || 'no network'}.`,
      'Type a message and press Enter; /help for commands, /quit or Ctrl-D to leave.',
    ]);
    screen.prompt();
    for await (const line of screen.lines()) {
      screen.forgetEntered(line);
      if (!(await session.input(line))) break;
    }
  } finally {
    screen.close();
    await broadcaster.idle();
    await node.close();
  }
}
