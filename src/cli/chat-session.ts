/**
 * What `roomcast chat` shows and does, apart from the terminal: the banner
 * first and then what arrived before it (the backlog), every message with its
 * time and its sender's name, where each message arrived first and where else
 * (gathered for a moment after the first copy), acknowledgments of messages
 * sent in THIS session only (named by their text; a relay replaying old acks
 * prints nothing), and commands that never reach the peer: /help, /quit, and
 * an unknown "/word" is refused rather than sent ("//text" sends "/text").
 */
import type { Delivery } from '../broadcaster/broadcaster.js';
import type { AckEvent, BroadcasterEventMap, CopyEvent, MessageEvent } from '../broadcaster/events.js';
import { npubOf } from '../identity/keys.js';
import type { PublicIdentity } from '../identity/keys.js';
import { sameIdentity } from '../identity/magnet.js';
import type { ProtocolId } from '../protocol/chat-message.js';
import type { ChatView } from './chat-screen.js';
import { clockTime, formatAck, formatArrival, formatDelivery, shortNpub } from './format.js';

/** The part of the broadcaster a chat uses (a fake in tests). */
export interface ChatBroadcaster {
  readonly magnetLink: string;
  on<K extends keyof BroadcasterEventMap>(event: K, listener: (e: BroadcasterEventMap[K]) => void): unknown;
  send(to: PublicIdentity, content: string): Promise<Delivery>;
}

export type ChatInput =
  | { readonly kind: 'empty' }
  | { readonly kind: 'quit' }
  | { readonly kind: 'help' }
  | { readonly kind: 'unknown'; readonly command: string }
  | { readonly kind: 'send'; readonly text: string };

/** Reads one typed line: a command (a first word starting with "/"), or text to send. */
export function parseChatInput(line: string): ChatInput {
  const text = line.trim();
  if (text === '') return { kind: 'empty' };
  if (text.startsWith('//')) return { kind: 'send', text: text.slice(1) };
  if (!text.startsWith('/')) return { kind: 'send', text };
  const command = (text.split(/\s+/)[0] ?? text).toLowerCase();
  if (command === '/quit' || command === '/exit') return { kind: 'quit' };
  if (command === '/help' || command === '/?') return { kind: 'help' };
  return { kind: 'unknown', command };
}

export const CHAT_HELP = [
  'Type a line and press Enter to send it to every network.',
  '  /help   this list',
  '  /quit   leave (also Ctrl-D or Ctrl-C)',
  '  //text  send a line that starts with "/"',
];

/** How long later copies of a message are gathered before its arrival line is printed. */
export const ARRIVAL_WINDOW_MS = 1500;
/** Messages of this session whose acks are still shown (the oldest are forgotten). */
const SENT_REMEMBERED = 1000;

interface Arrival {
  readonly first: ProtocolId;
  readonly copies: CopyEvent[];
  shown: boolean;
  due: boolean;
}

export interface ChatSessionOptions {
  readonly broadcaster: ChatBroadcaster;
  readonly peer: PublicIdentity;
  /** How the peer is shown ("Bob", or a short npub). */
  readonly peerName: string;
  readonly view: ChatView;
  readonly arrivalWindowMs?: number;
  readonly now?: () => number;
}

export class ChatSession {
  private readonly b: ChatBroadcaster;
  private readonly view: ChatView;
  private readonly now: () => number;
  private readonly windowMs: number;
  private ready = false;
  private readonly backlog: MessageEvent[] = [];
  private readonly arrivals = new Map<string, Arrival>();
  /** uuid → text of the messages sent in this session. */
  private readonly sent = new Map<string, string>();
  /** Acks that arrived while a send had not yet told its uuid. */
  private earlyAcks: AckEvent[] = [];
  private sending = 0;

  constructor(private readonly o: ChatSessionOptions) {
    this.b = o.broadcaster;
    this.view = o.view;
    this.now = o.now ?? Date.now;
    this.windowMs = o.arrivalWindowMs ?? ARRIVAL_WINDOW_MS;
    this.b.on('message', (e) => this.onMessage(e));
    this.b.on('copy', (e) => this.arrivals.get(e.uuid)?.copies.push(e));
    this.b.on('ack', (e) => this.onAck(e));
  }

  /** Prints the banner, then what arrived before it, in order; later messages print as they come. */
  start(banner: readonly string[]): void {
    for (const line of banner) this.view.print(line);
    this.ready = true;
    if (this.backlog.length > 0) this.view.print(`— ${this.backlog.length} earlier message${this.backlog.length === 1 ? '' : 's'}:`);
    for (const e of this.backlog.splice(0)) this.show(e);
  }

  /** Handles one typed line; resolves to false when the user leaves. */
  async input(line: string): Promise<boolean> {
    const cmd = parseChatInput(line);
    switch (cmd.kind) {
      case 'empty':
        return true;
      case 'quit':
        return false;
      case 'help':
        for (const l of CHAT_HELP) this.view.print(l);
        return true;
      case 'unknown':
        this.view.print(`Unknown command ${cmd.command} (not sent). /help lists the commands; start a line with // to send one beginning with /.`);
        return true;
      case 'send':
        await this.send(cmd.text);
        return true;
    }
  }

  private async send(text: string): Promise<void> {
    this.view.print(`[${clockTime(this.now(), this.now())}] You: ${text}`);
    this.sending++;
    let delivery: Delivery;
    try {
      delivery = await this.b.send(this.o.peer, text);
    } catch (err) {
      this.view.print(`  ✗ not sent: ${(err as Error).message}`);
      return;
    } finally {
      this.sending--;
    }
    this.remember(delivery.uuid, text);
    this.view.print(`  ${formatDelivery(delivery.reports)}`);
    const early = this.earlyAcks;
    this.earlyAcks = [];
    for (const e of early) {
      if (e.originalUuid === delivery.uuid) this.onAck(e);
      else if (this.sending > 0) this.earlyAcks.push(e); // may belong to a send still in flight
    }
  }

  private remember(uuid: string, text: string): void {
    if (this.sent.size >= SENT_REMEMBERED) {
      const oldest = this.sent.keys().next().value;
      if (oldest !== undefined) this.sent.delete(oldest);
    }
    this.sent.set(uuid, text);
  }

  private onAck(e: AckEvent): void {
    if (!e.firstOnProtocol) return;
    const text = this.sent.get(e.originalUuid);
    if (text !== undefined) this.view.print(`  ${formatAck(e, text)}`);
    else if (this.sending > 0) this.earlyAcks.push(e);
    // else: an ack of a message from before this session (a relay replaying it): not ours to show.
  }

  private onMessage(e: MessageEvent): void {
    const arrival: Arrival = { first: e.via, copies: [], shown: false, due: false };
    this.arrivals.set(e.message.uuid, arrival);
    setTimeout(() => {
      arrival.due = true;
      if (arrival.shown) this.finishArrival(e.message.uuid);
    }, this.windowMs).unref();
    if (this.ready) this.show(e);
    else this.backlog.push(e);
  }

  private show(e: MessageEvent): void {
    const fromPeer = sameIdentity(e.sender, this.o.peer);
    const who = fromPeer ? this.o.peerName : `${shortNpub(npubOf(e.sender))} (not ${this.o.peerName})`;
    this.view.print(`[${clockTime(e.message.timestamp, this.now())}] ${who}${e.verified ? '' : ' (unverified)'}: ${e.message.content}`);
    const arrival = this.arrivals.get(e.message.uuid);
    if (!arrival) return;
    arrival.shown = true;
    if (arrival.due) this.finishArrival(e.message.uuid);
  }

  private finishArrival(uuid: string): void {
    const a = this.arrivals.get(uuid);
    if (!a) return;
    this.arrivals.delete(uuid);
    this.view.print(`  ${formatArrival(a.first, a.copies)}`);
  }
}

/**
 * How to show the peer: `--name`, else the magnet link's `dn=` (display
 * name) parameter, else a short npub. Control characters are dropped and the
 * name is kept short, so a link cannot paint the terminal.
 */
export function peerDisplayName(peer: PublicIdentity, magnetLink: string, name?: string): string {
  const clean = (s: string) => s.replace(/[\p{Cc}\p{Cf}]/gu, '').trim().slice(0, 32);
  if (name !== undefined && clean(name) !== '') return clean(name);
  const query = magnetLink.indexOf('?');
  const dn = query >= 0 ? new URLSearchParams(magnetLink.slice(query + 1)).get('dn') : null;
  if (dn !== null && clean(dn) !== '') return clean(dn);
  return shortNpub(npubOf(peer));
}
