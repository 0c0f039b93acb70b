/**
 * The bridge router: room events in, commands answered, messages queued;
 * what the networks bring back (messages, acks) turned into inbox jobs and
 * receipt updates. It knows platforms only through the Platform seam and
 * networks only through the broadcaster.
 */
import type { Broadcaster } from '../broadcaster/broadcaster.js';
import { npubOf } from '../identity/keys.js';
import { encodeMagnet } from '../identity/magnet.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import { OncePerWindow } from '../observability/rejections.js';
import type { Platform, RoomCommandEvent, RoomEditEvent, RoomEvent, RoomMembershipEvent, RoomMessageEvent } from '../platforms/platform.js';
import type { Store } from '../store/store.js';
import { COMMAND_SPECS, handleCommand, parseCommand, specOf } from './commands/index.js';
import { nameBasedUuid } from './copies.js';
import type { BridgeStatus } from './commands/index.js';
import { receiveForRoom } from './inbound.js';
import type { UnknownSenderPolicy } from './inbound.js';
import type { RoomReceipts } from './receipts.js';
import type { RoomBroadcasters } from './room-broadcasters.js';
import type { BridgedRoom, RoomDirectory } from './room-directory.js';
import type { RoomWriter } from './room-writer.js';
import { correctionText, relayedText } from './room-text.js';
import type { Quoted } from './room-text.js';

/** Where the bridge puts work for the queue workers (job id = the uuid, so re-adding is a no-op). */
export interface BridgeQueues {
  outbound(job: { uuid: string; platform: string; roomId: string; seq: number }): Promise<void>;
  inbound(job: { uuid: string; platform: string; roomId: string; owner: string }): Promise<void>;
}

export interface BridgeOptions {
  readonly store: Store;
  readonly directory: RoomDirectory;
  readonly writer: RoomWriter;
  readonly receipts: RoomReceipts;
  readonly queues: BridgeQueues;
  readonly commandPrefix: string;
  readonly unknownSenders: UnknownSenderPolicy;
  /** At most this many messages from non-contacts wait in a room's inbox (bridge.maxQueuedFromStrangers). */
  readonly maxQueuedFromStrangers: number;
  readonly metrics: Metrics;
  /** Transport endpoints (as this room's broadcaster sees them) and queue depths. */
  readonly status: (room: BridgedRoom) => Promise<BridgeStatus>;
  readonly log: Logger;
}

/** The room message's uuid: derived from the platform's event id, so a redelivered event is the same message. */
export function roomMessageUuid(e: Pick<RoomMessageEvent | RoomEditEvent, 'room' | 'id'>): string {
  return nameBasedUuid('roomcast-room', e.room.platform, e.room.roomId, e.id);
}

export class Bridge {
  /** Listening broadcasters, one per room; set by `attach`. */
  private broadcasters: RoomBroadcasters | undefined;
  /** Refusals by the inbox cap for non-contacts: logged once per room per minute. */
  private readonly strangerRefusals = new OncePerWindow();
  /** Per room, the last hand-off to the queue: a room's jobs are added in the order its rows were written. */
  private readonly handOffs = new Map<string, Promise<void>>();
  /** True after a hand-off failed and until one succeeds: the outage is logged once. */
  private handOffFailing = false;

  constructor(private readonly o: BridgeOptions) {}

  /**
   * Hooks a room's (listening) broadcaster: its new messages go to the room's
   * inbox before they are acknowledged, its acks update the room's receipts.
   * Pass as RoomBroadcasters' `onCreated`.
   */
  readonly attachRoom = (room: BridgedRoom, b: Broadcaster): void => {
    // The inbox row is written before the message is acknowledged: a copy whose row could not be
    // written is not acked, not confirmed to its network, and handled as new when it comes again.
    b.beforeAck(async (e) => {
      const strangers = { max: this.o.maxQueuedFromStrangers, metrics: this.o.metrics, once: this.strangerRefusals };
      const entry = await receiveForRoom(room, e, { store: this.o.store, unknownSenders: this.o.unknownSenders, log: this.o.log, strangers });
      if (entry) this.handOff(`in|${entry.platform}|${entry.roomId}`, () => this.o.queues.inbound({ uuid: entry.uuid, platform: entry.platform, roomId: entry.roomId, owner: entry.owner }));
    });
    b.on('ack', (e) => {
      if (e.firstOnProtocol) void this.track(() => this.o.receipts.onAck(room.identity.xOnly, e.originalUuid), 'update a receipt');
    });
  };

  /** Starts listening as every room known so far, then takes events from every platform. */
  async start(broadcasters: RoomBroadcasters, platforms: readonly Platform[]): Promise<void> {
    this.broadcasters = broadcasters;
    await Promise.all((await this.o.directory.all()).map((r) => broadcasters.get(r)));
    const commands = COMMAND_SPECS.map(({ usage, description }) => ({ usage, description }));
    await Promise.all(platforms.map((p) => p.start((e) => this.onEvent(e), { commands })));
  }

  /**
   * One room event. Awaited by the platform, so a room's messages are
   * recorded in their order (the queue's adds may finish in any order).
   * Messages and edits from people are relayed; the bot's own events and
   * notices never are (no loops); reactions and redactions are not relayed.
   */
  async onEvent(e: RoomEvent): Promise<void> {
    switch (e.kind) {
      case 'message':
        if (e.fromSelf || e.notice) return;
        return this.onMessage(e);
      case 'edit':
        if (e.fromSelf || e.notice) return;
        return this.onEdit(e);
      case 'membership':
        return this.onMembership(e);
      case 'command':
        if (e.fromSelf) return;
        return this.onNativeCommand(e);
      case 'reaction':
      case 'redaction':
        return;
    }
  }

  private async onMessage(e: RoomMessageEvent): Promise<void> {
    const command = e.attachments?.length ? undefined : parseCommand(e.text, this.o.commandPrefix);
    if (command) {
      await this.o.writer.post(e.room, { text: await this.answer(e, command), notice: true });
      return;
    }
    await this.relay(e, relayedText(e, e.replyTo ? await this.quoted(e) : undefined));
  }

  /**
   * An edit goes out once, as a correction with the whole new text. Edits
   * never run commands: an edited "!roomcast …" is neither answered again nor
   * relayed.
   */
  private async onEdit(e: RoomEditEvent): Promise<void> {
    if (parseCommand(e.text, this.o.commandPrefix)) return;
    await this.relay(e, correctionText(e.text));
  }

  /** Records a room message (or correction) in the room's outbox and hands it to the queue. */
  private async relay(e: RoomMessageEvent | RoomEditEvent, text: string): Promise<void> {
    if (text === '') return;
    const room = await this.o.directory.room(e.room.platform, e.room.roomId);
    await this.broadcasters?.get(room); // listen as the room from its first message on
    const entry = await this.o.store.rooms.enqueueOutbox({
      platform: e.room.platform,
      roomId: e.room.roomId,
      uuid: roomMessageUuid(e),
      senderId: e.sender.id,
      senderName: e.sender.displayName,
      text,
      platformMessageId: e.id,
      createdAt: e.at,
    });
    this.handOff(`out|${entry.platform}|${entry.roomId}`, () => this.o.queues.outbound({ uuid: entry.uuid, platform: entry.platform, roomId: entry.roomId, seq: entry.seq }));
  }

  /** What a reply answers: the bridged message when the store has it, else what the platform quotes. */
  private async quoted(e: RoomMessageEvent): Promise<Quoted | undefined> {
    if (!e.replyTo) return undefined;
    const known = await this.o.store.rooms.findOutboxByPost(e.room.platform, e.room.roomId, e.replyTo.id);
    if (known) return { who: known.senderName, text: known.text };
    return e.replyTo.excerpt ? { text: e.replyTo.excerpt } : undefined;
  }

  /**
   * The bot was removed from a room: the room stops being bridged (no more
   * listening as it; its identity, contacts and history stay). Invited back,
   * it is bridged again, and what contacts sent meanwhile comes in then.
   */
  private async onMembership(e: RoomMembershipEvent): Promise<void> {
    const known = await this.o.store.rooms.getRoom(e.room.platform, e.room.roomId);
    if (!known) return; // a room never bridged: its identity is made on its first message
    const room = await this.o.directory.room(e.room.platform, e.room.roomId);
    if (e.joined) {
      if (known.leftAt === undefined) return;
      await this.o.store.rooms.setRoomLeft(e.room.platform, e.room.roomId, undefined);
      await this.broadcasters?.get(room);
      this.o.log.info({ room: e.room.roomId, platform: e.room.platform }, 'the bot is back in the room: bridging it again');
      return;
    }
    await this.o.store.rooms.setRoomLeft(e.room.platform, e.room.roomId, e.at);
    await this.broadcasters?.drop(room);
    this.o.log.info({ room: e.room.roomId, platform: e.room.platform, reason: e.reason, by: e.by }, 'the bot is no longer in the room: it is not bridged any more (its contacts and history are kept)');
  }

  /** Waits (at most `ms`) for hand-offs in flight, so a clean stop leaves nothing half-done for the sweep. */
  async stop(ms = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.handOffs.values()), new Promise((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
  }

  /**
   * Queues the job of a row the store already holds, without holding up the
   * caller: with Redis away, an add can take a minute to give up, and a room
   * must not stall for it. A room's adds run one after another, in the order
   * its rows were written, so workers find its jobs in order (the order
   * itself is the store's: row sequence numbers). An add that fails leaves
   * the row queued, and the recovery sweep (recovery.ts) queues it again.
   */
  private handOff(key: string, add: () => Promise<void>): void {
    const p = (this.handOffs.get(key) ?? Promise.resolve()).then(add).then(
      () => {
        if (!this.handOffFailing) return;
        this.handOffFailing = false;
        this.o.log.info('the queue takes jobs again');
      },
      (err: unknown) => {
        if (this.handOffFailing) return;
        this.handOffFailing = true;
        this.o.log.warn({ err: (err as Error).message }, 'could not hand a message to the queue; it is kept in the store and queued again by the recovery sweep');
      },
    );
    this.handOffs.set(key, p);
    void p.finally(() => {
      if (this.handOffs.get(key) === p) this.handOffs.delete(key);
    });
  }

  /**
   * A command run through the platform's own interface (a slash command). An
   * answer that concerns only the caller is private: reads, usage errors and
   * refusals; a change a moderator made is said to the whole room.
   */
  private async onNativeCommand(e: RoomCommandEvent): Promise<void> {
    const parsed = parseCommand(`${this.o.commandPrefix} ${e.text}`, this.o.commandPrefix)!;
    const reply = await this.answer(e, parsed);
    const shared = parsed.ok && specOf(parsed.command.kind).moderatorOnly && e.sender.level === 'moderator';
    await e.respond(reply, { private: !shared });
  }

  private async answer(e: RoomMessageEvent | RoomCommandEvent, parsed: NonNullable<ReturnType<typeof parseCommand>>): Promise<string> {
    let reply: string;
    if (!parsed.ok) {
      reply = parsed.error;
    } else {
      const room = await this.o.directory.room(e.room.platform, e.room.roomId);
      await this.broadcasters?.get(room);
      reply = await handleCommand(parsed.command, {
        prefix: this.o.commandPrefix,
        room: e.room,
        sender: { level: e.sender.level, displayName: e.sender.displayName },
        owner: {
          xOnly: room.identity.xOnly,
          magnetLink: encodeMagnet(room.identity),
          ethAddress: room.identity.ethAddress,
          npub: npubOf(room.identity),
        },
        store: this.o.store,
        status: () => this.o.status(room),
        maxReplyChars: this.o.writer.platform(e.room.platform).capabilities.maxMessageChars,
      });
    }
    return reply;
  }

  private async track(task: () => Promise<void>, what: string): Promise<void> {
    try {
      await task();
    } catch (err) {
      this.o.log.error({ err: (err as Error).message }, `bridge could not ${what}`);
    }
  }
}
