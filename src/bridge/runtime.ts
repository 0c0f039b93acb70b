/**
 * Wires the bridge for one process role:
 * - 'all' (`roomcast start`): listens as every room, takes platform events,
 *   and runs the queue workers, sharing one broadcaster per room;
 * - 'bridge': listens and takes platform events, leaving all queue work to
 *   worker processes;
 * - 'worker' (`roomcast worker`): only the queue workers, sending with
 *   send-only transports so the listening process keeps its sessions.
 * Several worker processes against one Redis share the work; the room order
 * is kept by the store (KeyedSequencer + outbox/inbox sequence numbers).
 */
import type { Identity } from '../identity/keys.js';
import type { Config } from '../config/schema.js';
import type { Metrics } from '../observability/metrics.js';
import type { Logger } from '../observability/logger.js';
import type { Platform } from '../platforms/platform.js';
import { jobIdOf, jobProducer, KeyedSequencer, promote, startJobWorker, UnrecoverableError } from '../queue/index.js';
import type { InboundJob, JobQueue, JobWorker, OutboundJob, QueueBackend, QueueConfig, WorkerSettings } from '../queue/index.js';
import type { Store } from '../store/store.js';
import { Bridge } from './bridge.js';
import type { BridgeConfig } from './config.js';
import { inboundTurn, processInbound } from './inbound.js';
import { finishOutbound, outboundTurn, processOutbound } from './outbound.js';
import type { OutboundOutcome } from './outbound.js';
import type { OutboundDeps } from './outbound.js';
import { RoomReceipts } from './receipts.js';
import { startSweeping } from './recovery.js';
import { decodeMagnet } from '../identity/magnet.js';
import { handOffSender, handOffWorker } from './hand-off-queue.js';
import { RoomBroadcasters } from './room-broadcasters.js';
import type { BroadcasterFactory } from './room-broadcasters.js';
import { RoomDirectory } from './room-directory.js';
import { RoomWriter } from './room-writer.js';

export type ProcessRole = 'all' | 'bridge' | 'worker';

/**
 * How long a worker waits for the listening process to send a handed-off
 * copy: beyond any transport's own send bound at its default (XMTP's 10 s,
 * plus a client still being created). A copy not answered by then counts as
 * timed out and is retried with the job.
 */
const HAND_OFF_WAIT_MS = 30_000;

export interface BridgeRuntimeOptions {
  readonly role: ProcessRole;
  readonly service: Identity;
  readonly deps: { readonly config: Config; readonly store: Store; readonly log: Logger; readonly metrics: Metrics };
  /** Builds each room's broadcaster (listening, or send-only for worker processes). */
  readonly makeBroadcaster: BroadcasterFactory;
  readonly bridgeConfig: BridgeConfig;
  /** Platforms to write to (receipts, inbound posts); the 'all' and 'bridge' roles also start them and take their events. */
  readonly platforms: readonly Platform[];
  readonly queue: QueueBackend;
  readonly queueConfig: QueueConfig;
  /** Tests: unique queue names and short lock/stall intervals. */
  readonly queueNames?: { readonly outbound: string; readonly inbound: string };
  readonly workerSettings?: WorkerSettings;
}

export interface BridgeRuntime {
  /** Present in the 'all' role. */
  readonly bridge?: Bridge;
  readonly directory: RoomDirectory;
  readonly workers: readonly JobWorker<unknown, void>[];
  stop(): Promise<void>;
}

export async function startBridgeRuntime(o: BridgeRuntimeOptions): Promise<BridgeRuntime> {
  const { store, log } = o.deps;
  const directory = new RoomDirectory(store.rooms, o.service);
  const writer = new RoomWriter(new Map(o.platforms.map((p) => [p.id, p])), log);
  const receipts = new RoomReceipts(
    store,
    directory,
    writer,
    { mode: o.bridgeConfig.receipts, deliveredReaction: o.bridgeConfig.deliveredReaction, ackedReaction: o.bridgeConfig.ackedReaction },
    log,
  );
  const names = o.queueNames ?? { outbound: 'outbound', inbound: 'inbound' };
  const outboundQ = jobProducer(o.queue, 'outbound', o.queueConfig, { queueName: names.outbound });
  const inboundQ = jobProducer(o.queue, 'inbound', o.queueConfig, { queueName: names.inbound });

  /** A room's contacts, as its transports ask for them (a network may stay closed while none is on it). */
  const contactsOf = (id: Identity) => async () => (await store.listContacts(id.xOnly)).map((c) => decodeMagnet(c.magnetLink));
  // Hand-offs need other processes on the same queue; the embedded queue serves one process.
  const handOffs = o.queue.multiProcess ? `${names.outbound}-hand-off` : undefined;
  let closeHandOff = (): Promise<void> => Promise.resolve();
  let bridge: Bridge | undefined;
  let broadcasters: RoomBroadcasters;
  if (o.role !== 'worker') {
    bridge = new Bridge({
      store,
      directory,
      writer,
      receipts,
      queues: {
        outbound: async (job) => void (await outboundQ.enqueue(job)),
        inbound: async (job) => void (await inboundQ.enqueue(job)),
      },
      commandPrefix: o.bridgeConfig.commandPrefix,
      unknownSenders: o.bridgeConfig.unknownSenders,
      maxQueuedFromStrangers: o.bridgeConfig.maxQueuedFromStrangers,
      metrics: o.deps.metrics,
      status: async (room) => {
        const b = await broadcasters.get(room);
        const [outbound, inbound] = await Promise.all([o.queue.counts(names.outbound), o.queue.counts(names.inbound)]);
        const platform = writer.platform(room.platform);
        const platformStatus = platform.status?.();
        return {
          platform: { id: platform.id, ...(platformStatus ? { status: platformStatus } : {}) },
          transports: b.transports.map((t) => ({ id: t.id, endpoints: t.status() })),
          queues: { outbound: { ...outbound }, inbound: { ...inbound } },
        };
      },
      log,
    });
    broadcasters = new RoomBroadcasters((id, listen) => o.makeBroadcaster(id, listen, { peers: contactsOf(id) }), true, bridge.attachRoom);
  } else {
    const sender = handOffs ? handOffSender(o.queue, handOffs, HAND_OFF_WAIT_MS, log) : undefined;
    closeHandOff = () => sender?.close() ?? Promise.resolve();
    broadcasters = new RoomBroadcasters((id, listen) => o.makeBroadcaster(id, listen, { ...(sender ? { handOff: sender.handOff } : {}), peers: contactsOf(id) }), false);
  }
  // A listening process sends what send-only workers hand it (listener-only networks: XMTP).
  const handOffTaker =
    handOffs && o.role !== 'worker'
      ? handOffWorker(o.queue, handOffs, async (owner) => {
          const room = await directory.ownedBy(owner);
          return room ? broadcasters.get(room) : undefined;
        }, log)
      : undefined;

  const outDeps: OutboundDeps = {
    store,
    directory,
    broadcasters,
    log,
    limits: { ...o.deps.config.limits, maxParts: o.bridgeConfig.maxParts },
    showReceipt: (e, final) => receipts.show(e, final),
    refuse: (e, why) => receipts.refused(e, why),
  };
  /** A message's job failed for good: the room is told, and the room's next message may go. */
  const outboundFailed = async (uuid: string) => {
    await finishOutbound(uuid, outDeps);
    await promoteNextOutbound(outboundQ.queue, store, uuid);
  };
  const inboundFailed = async (owner: string, uuid: string) => {
    await store.rooms.setInboxState(owner, uuid, 'failed');
    await promoteNextInbound(inboundQ.queue, store, owner, uuid);
  };
  const workers =
    o.role === 'bridge'
      ? []
      : [
          outboundWorker(o, names.outbound, outboundQ.queue, outDeps, outboundFailed, log),
          inboundWorker(o, names.inbound, inboundQ.queue, { store, writer }, inboundFailed, log),
        ];
  // Every role sweeps: any process that reaches the queue can hand a stranded row back to it.
  const sweeper = startSweeping(
    { store, outbound: outboundQ, inbound: inboundQ, finishOutbound: outboundFailed, finishInbound: inboundFailed, log },
    o.queueConfig.sweepMs,
  );
  await sweeper.first;
  if (bridge) await bridge.start(broadcasters, o.platforms);

  return {
    ...(bridge ? { bridge } : {}),
    directory,
    workers,
    stop: async () => {
      await bridge?.stop();
      await sweeper.stop();
      await Promise.all(workers.map((w) => w.close()));
      // Receipts still being written get a moment; whatever is left is shown by the next render of those messages.
      await Promise.race([receipts.idle(), new Promise((r) => setTimeout(r, 5000).unref())]);
      if (bridge) await Promise.all(o.platforms.map((p) => p.stop()));
      await handOffTaker?.close();
      await closeHandOff();
      await broadcasters.stopAll();
    },
  };
}


async function promoteNextOutbound(queue: JobQueue<OutboundJob>, store: Store, uuid: string): Promise<void> {
  const entry = await store.rooms.getOutbox(uuid);
  if (entry && entry.state !== 'queued') await promote(queue, await store.rooms.nextQueuedOutbox(entry));
}

function outboundWorker(
  o: BridgeRuntimeOptions,
  queueName: string,
  queue: JobQueue<OutboundJob>,
  d: OutboundDeps,
  failed: (uuid: string) => Promise<void>,
  log: Logger,
): JobWorker<unknown, void> {
  /**
   * Messages this process has sent to every contact whose "done" is still
   * being written: their successors go on without waiting for the commit, so
   * a room's messages follow each other at the pace of the sends.
   */
  const passed = new Set<string>();
  const sequencer = new KeyedSequencer<OutboundJob>({ isTurn: (job) => outboundTurn(d.store, job.data.uuid, passed), holdMs: o.queueConfig.orderHoldMs, retryMs: o.queueConfig.orderRetryMs });
  const worker = startJobWorker(
    o.queue,
    'outbound',
    o.queueConfig,
    async (job) => {
      let outcome: OutboundOutcome;
      try {
        outcome = await processOutbound(job.uuid, d, () => {
          passed.add(job.uuid);
          sequencer.wake();
          // A successor waiting in the delayed set goes now, not once every endpoint has answered for this one.
          void d.store.rooms.nextQueuedOutbox(job).then((next) => promote(queue, next), () => undefined);
        });
      } finally {
        passed.delete(job.uuid);
      }
      // Its state is recorded: a successor held in this process goes on now, while the next one elsewhere is promoted.
      sequencer.wake();
      await promoteNextOutbound(queue, d.store, job.uuid);
      // Some contact × transport failed: a retry (with backoff) sends only that.
      if (outcome.kind === 'retry') throw new Error(`not delivered yet: ${outcome.failed}`);
      // No retry can help: fail at once (the 'failed' handler below tells the room).
      if (outcome.kind === 'failed') throw new UnrecoverableError(`cannot be delivered: ${outcome.failed}`);
    },
    { queueName, sequencer, ...(o.workerSettings ? { settings: o.workerSettings } : {}) },
  );
  worker.on('failed', (job, err) => {
    const final = err.name === 'UnrecoverableError' || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    if (job && !final) o.deps.metrics.retries.inc({ queue: 'outbound' });
    if (!job || !final) return;
    const data = job.data as Partial<OutboundJob>;
    log.warn({ uuid: data.uuid, attempts: job.attemptsMade, reason: err.message }, 'outbound message failed for good');
    const uuid = data.uuid;
    // Not recorded if this process dies here: the recovery sweep finishes it then.
    if (typeof uuid === 'string') void failed(uuid).then(() => sequencer.wake(), (e: Error) => log.error({ err: e.message }, 'could not finish a failed message'));
  });
  return worker;
}

/** Wakes the next queued inbound message of the room of inbox entry (owner, uuid), once that entry is no longer queued. */
async function promoteNextInbound(queue: JobQueue<InboundJob>, store: Store, owner: string, uuid: string): Promise<void> {
  const entry = await store.rooms.getInbox(owner, uuid);
  const next = entry && entry.state !== 'queued' ? await store.rooms.nextQueuedInbox(entry) : undefined;
  if (next) await promote(queue, jobIdOf('inbound', { ...next, platform: entry!.platform, roomId: entry!.roomId }));
}

function inboundWorker(
  o: BridgeRuntimeOptions,
  queueName: string,
  queue: JobQueue<InboundJob>,
  d: { store: Store; writer: RoomWriter },
  failed: (owner: string, uuid: string) => Promise<void>,
  log: Logger,
): JobWorker<unknown, void> {
  const sequencer = new KeyedSequencer<InboundJob>({ isTurn: (job) => inboundTurn(d.store, job.data.owner, job.data.uuid), holdMs: o.queueConfig.orderHoldMs, retryMs: o.queueConfig.orderRetryMs });
  const handle = async (job: InboundJob) => {
    await processInbound(job.owner, job.uuid, d);
    sequencer.wake();
    await promoteNextInbound(queue, d.store, job.owner, job.uuid);
  };
  const worker = startJobWorker(o.queue, 'inbound', o.queueConfig, handle, {
    queueName,
    sequencer,
    ...(o.workerSettings ? { settings: o.workerSettings } : {}),
  });
  worker.on('failed', (job, err) => {
    const final = err.name === 'UnrecoverableError' || (job !== undefined && job.attemptsMade >= (job.opts.attempts ?? 1));
    if (job && !final) o.deps.metrics.retries.inc({ queue: 'inbound' });
    if (!job || !final) return;
    const data = job.data as Partial<InboundJob>;
    log.error({ uuid: data.uuid, attempts: job.attemptsMade, reason: err.message }, 'could not post an inbound message into its room');
    // Its successors must not wait for it forever; the job stays failed for inspection (and the sweep finishes it if this process dies here).
    const { owner, uuid } = data;
    if (typeof owner === 'string' && typeof uuid === 'string') void failed(owner, uuid).then(() => sequencer.wake(), () => undefined);
  });
  return worker;
}
