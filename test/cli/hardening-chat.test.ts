/**
 * `roomcast chat` tells the truth: the banner before the backlog, times on
 * every message, the peer by name, commands never sent to the peer, acks only
 * of this session's messages (named), and a line being typed redrawn when a
 * message arrives. The session runs against a fake broadcaster; the screen
 * against a fake terminal.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/broadcaster/broadcaster.js';
import type { AckEvent, BroadcasterEventMap, MessageEvent } from '../../src/broadcaster/events.js';
import { ChatScreen } from '../../src/cli/chat-screen.js';
import { ChatSession, parseChatInput, peerDisplayName } from '../../src/cli/chat-session.js';
import type { ChatBroadcaster } from '../../src/cli/chat-session.js';
import { shortNpub } from '../../src/cli/format.js';
import { generateIdentity, npubOf, publicPart } from '../../src/identity/keys.js';
import type { PublicIdentity } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { waitFor } from '../support/wait.js';

const me = generateIdentity();
const bob = publicPart(generateIdentity());
const stranger = publicPart(generateIdentity());
const TIME = /^\[\d{2}:\d{2}:\d{2}\] /;

class FakeBroadcaster implements ChatBroadcaster {
  readonly magnetLink = encodeMagnet(me);
  readonly sent: string[] = [];
  private readonly events = new EventEmitter();
  /** Runs while a send is in flight (before it resolves), with the send's uuid. */
  duringSend: (uuid: string) => void = () => undefined;

  on<K extends keyof BroadcasterEventMap>(event: K, listener: (e: BroadcasterEventMap[K]) => void): this {
    this.events.on(event, listener);
    return this;
  }

  emit<K extends keyof BroadcasterEventMap>(event: K, e: BroadcasterEventMap[K]): void {
    this.events.emit(event, e);
  }

  async send(_to: PublicIdentity, content: string): Promise<Delivery> {
    this.sent.push(content);
    const uuid = randomUUID();
    this.duringSend(uuid);
    return { uuid, ok: true, reports: [{ transport: 'mqtt', ok: true, endpoints: [{ endpoint: 'mqtt://b', ok: true, latencyMs: 3 }], latencyMs: 3 }] };
  }
}

function message(from: PublicIdentity, content: string, timestamp = Date.now()): MessageEvent {
  return {
    message: { type: 'message', uuid: randomUUID(), content, timestamp, fromMagnetLink: encodeMagnet(from) } as MessageEvent['message'],
    sender: from,
    via: 'mqtt',
    endpoint: 'mqtt://b',
    receivedAt: Date.now(),
    verified: true,
  };
}

function ack(originalUuid: string): AckEvent {
  return { originalUuid, sender: bob, via: 'mqtt', endpoint: 'mqtt://b', receivedAt: Date.now(), latencyMs: 41, firstAck: true, firstOnProtocol: true };
}

function session(): { b: FakeBroadcaster; lines: string[]; s: ChatSession } {
  const b = new FakeBroadcaster();
  const lines: string[] = [];
  const s = new ChatSession({ broadcaster: b, peer: bob, peerName: 'Bob', view: { print: (t) => void lines.push(t) }, arrivalWindowMs: 10 });
  return { b, lines, s };
}

describe('chat session', () => {
  it('prints the banner first, then the backlog with times and names, then the arrival lines', async () => {
    const { b, lines, s } = session();
    b.emit('message', message(bob, 'sent while you were away', Date.now() - 60_000));
    b.emit('message', message(stranger, 'who is this'));
    expect(lines).toEqual([]);
    s.start(['BANNER']);
    expect(lines[0]).toBe('BANNER');
    expect(lines[1]).toBe('— 2 earlier messages:');
    expect(lines[2]).toMatch(TIME);
    expect(lines[2]).toMatch(/\] Bob: sent while you were away$/);
    expect(lines[3]).toMatch(new RegExp(`\\] ${shortNpub(npubOf(stranger))} \\(not Bob\\): who is this$`));
    await waitFor(() => lines.filter((l) => l.includes('First received via: MQTT')).length === 2, 'both arrival lines');
    b.emit('message', message(bob, 'live'));
    expect(lines.at(-1)).toMatch(/^\[\d{2}:\d{2}:\d{2}\] Bob: live$/);
  });

  it('never sends commands or typos to the peer', async () => {
    const { b, lines, s } = session();
    s.start([]);
    expect(await s.input('/help')).toBe(true);
    expect(lines.join('\n')).toContain('/quit');
    expect(await s.input('/quti')).toBe(true);
    expect(lines.at(-1)).toMatch(/^Unknown command \/quti \(not sent\)/);
    expect(await s.input('   ')).toBe(true);
    expect(b.sent).toEqual([]);
    expect(await s.input('//slash at the start')).toBe(true);
    expect(await s.input('hello')).toBe(true);
    expect(b.sent).toEqual(['/slash at the start', 'hello']);
    expect(await s.input('/quit')).toBe(false);
    expect(parseChatInput('/EXIT now')).toEqual({ kind: 'quit' });
  });

  it("prints acks of this session's messages only, named by their text, even when one overtakes the send", async () => {
    const { b, lines, s } = session();
    s.start([]);
    b.emit('ack', ack(randomUUID())); // an old message's ack, replayed by a relay
    expect(lines).toEqual([]);
    b.duringSend = (uuid) => b.emit('ack', ack(uuid)); // the ack arrives before send() resolves
    await s.input('Hi Bob!');
    expect(lines[0]).toMatch(/^\[\d{2}:\d{2}:\d{2}\] You: Hi Bob!$/);
    expect(lines[1]).toBe('  Delivery status: ✓ MQTT (1/1 brokers) 3ms');
    expect(lines[2]).toBe('  ✓ Acknowledged via MQTT (+41ms): “Hi Bob!”');
    b.emit('ack', ack(randomUUID()));
    expect(lines).toHaveLength(3);
  });

  it('names the peer by --name, the link\'s dn=, else a short npub, without control characters', () => {
    const link = encodeMagnet(bob);
    expect(peerDisplayName(bob, link, 'Bobby')).toBe('Bobby');
    expect(peerDisplayName(bob, `${link}&dn=Robert`)).toBe('Robert');
    expect(peerDisplayName(bob, `${link}&dn=${encodeURIComponent('Ev\u001b[2Jil')}`)).toBe('Ev[2Jil');
    expect(peerDisplayName(bob, link)).toBe(shortNpub(npubOf(bob)));
    expect(peerDisplayName(bob, link)).toMatch(/^npub1.{7}….{4}$/);
  });
});

/** A fake terminal: what the screen writes, as one string. */
function terminal(): { input: PassThrough; output: Writable & { columns: number }; written: () => string } {
  let written = '';
  const output = Object.assign(
    new Writable({
      write(chunk: Buffer, _enc, done) {
        written += chunk.toString();
        done();
      },
    }),
    { columns: 80 },
  );
  return { input: new PassThrough(), output, written: () => written };
}

describe('chat screen', () => {
  it('redraws the half-typed line below a message that arrives, keeping the text and the cursor', async () => {
    const t = terminal();
    const screen = new ChatScreen({ input: t.input, output: t.output, terminal: true });
    const lines = screen.lines();
    screen.prompt();
    t.input.write('helo');
    t.input.write('\u001b[D'); // cursor left: between "hel" and "o"
    await waitFor(() => t.written().endsWith('\u001b[1D'), 'the cursor to move left');
    const before = t.written().length;
    screen.print('[12:00:00] Bob: hi');
    const redraw = t.written().slice(before);
    const at = redraw.indexOf('[12:00:00] Bob: hi\n');
    expect(at).toBeGreaterThanOrEqual(0);
    expect(redraw.slice(at)).toContain('> helo'); // the prompt and the typed text, drawn again under the message
    t.input.write('l\r'); // typed where the cursor was
    expect((await lines.next()).value).toBe('hello');
    screen.close();
  });

  it('writes plain lines, without prompt or escape codes, when not on a terminal', async () => {
    const t = terminal();
    const screen = new ChatScreen({ input: t.input, output: t.output, terminal: false });
    const lines = screen.lines();
    screen.prompt();
    screen.print('Bob: hi');
    t.input.write('typed\n');
    expect((await lines.next()).value).toBe('typed');
    expect(t.written()).toBe('Bob: hi\n');
    screen.close();
  });
});
