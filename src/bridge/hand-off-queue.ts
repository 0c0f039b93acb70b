/**
 * Hand-offs between processes of one deployment, through the job queue: a
 * send-only worker gives a send on a listener-only network (XMTP) to the
 * process that holds that network's client for the room, and waits for its
 * report (transports/hand-off.ts).
 *
 * Each hand-off carries a deadline, the moment the worker stops waiting. A
 * listener that takes it later does not send it: the worker has already
 * counted it as timed out, and its retry hands it off again, so a late
 * execution would send the copy twice.
 */
import { z } from 'zod';
import type { Broadcaster } from '../broadcaster/broadcaster.js';
import { decodeMagnet, encodeMagnet } from '../identity/magnet.js';
import type { Logger } from '../observability/logger.js';
import type { JobQueue, JobQueueEvents, JobWorker, QueueBackend } from '../queue/index.js';
import type { HandOff, HandOffRequest } from '../transports/hand-off.js';
import type { FailureReason, SendReport, TransportId } from '../transports/transport.js';
import { summarize } from '../transports/transport.js';

const HEX64 = /^[0-9a-f]{64}$/;

const HandOffJobSchema = z
  .object({
    network: z.string().min(1).max(32),
    from: z.string().regex(HEX64),
    to: z.string().min(1).max(2048),
    uuid: z.string().min(1).max(64),
    json: z.string().min(1).max(1 << 20),
    deadline: z.number().int().positive(),
  })
  .strict();
type HandOffJob = z.infer<typeof HandOffJobSchema>;

const REASONS = ['unreachable', 'timeout', 'rejected', 'error', 'upgrade-required'] as const satisfies readonly FailureReason[];
const SendReportSchema = z.object({
  transport: z.string(),
  ok: z.boolean(),
  endpoints: z
    .array(
      z.object({
        endpoint: z.string().max(512),
        ok: z.boolean(),
        latencyMs: z.number().nonnegative(),
        reason: z.enum(REASONS).optional(),
        error: z.string().max(1000).optional(),
      }),
    )
    .max(64),
  latencyMs: z.number().nonnegative(),
  reason: z.enum(REASONS).optional(),
  error: z.string().max(1000).optional(),
});

function failed(network: TransportId, endpoints: readonly string[], reason: FailureReason, error: string): SendReport {
  return summarize(network, (endpoints.length ? endpoints : [network]).map((endpoint) => ({ endpoint, ok: false, latencyMs: 0, reason, error })));
}

export interface HandOffSender {
  readonly handOff: HandOff;
  close(): Promise<void>;
}

/**
 * The worker side: hands sends to the listener and waits up to `waitMs` for
 * its report. Never rejects: a listener that is down or late is a 'timeout'.
 */
export function handOffSender(backend: QueueBackend, queueName: string, waitMs: number, log: Logger): HandOffSender {
  const queue: JobQueue<HandOffJob, unknown> = backend.queue<HandOffJob, unknown>(queueName, {
    defaultJobOptions: { attempts: 1, removeOnComplete: { age: 600 }, removeOnFail: { age: 600 } },
  });
  const events: JobQueueEvents = backend.events(queueName);
  const ready = events.waitUntilReady();
  const handOff = async (r: HandOffRequest): Promise<SendReport> => {
    const t0 = Date.now();
    try {
      await ready;
      const data: HandOffJob = { network: r.network, from: r.from, to: encodeMagnet(r.to.identity), uuid: r.payload.uuid, json: r.payload.json, deadline: t0 + waitMs };
      const job = await queue.add('send', data);
      const parsed = SendReportSchema.safeParse(await job.waitUntilFinished(events, waitMs));
      if (!parsed.success || parsed.data.transport !== r.network) return failed(r.network, [], 'error', 'the listening process answered a hand-off with something that is not a report');
      return parsed.data as SendReport;
    } catch (err) {
      const late = Date.now() - t0 >= waitMs;
      log.debug({ network: r.network, uuid: r.payload.uuid, error: err instanceof Error ? err.message : String(err) }, 'hand-off not answered');
      return failed(r.network, [], late ? 'timeout' : 'error', late ? `the listening process did not send it within ${waitMs} ms (is roomcast start or bridge running?)` : 'hand-off failed');
    }
  };
  return {
    handOff,
    close: async () => {
      await events.close();
      await queue.close();
    },
  };
}

/**
 * The listener side: sends each hand-off with the room's own (listening)
 * transport. `broadcasterOf` finds the broadcaster of a room identity this
 * process listens as.
 */
export function handOffWorker(
  backend: QueueBackend,
  queueName: string,
  broadcasterOf: (owner: string) => Promise<Broadcaster | undefined>,
  log: Logger,
): JobWorker<unknown, SendReport> {
  return backend.worker<unknown, SendReport>(
    queueName,
    async (job) => {
      const parsed = HandOffJobSchema.safeParse(job.data);
      if (!parsed.success) {
        log.warn({ job: job.id }, 'a malformed hand-off was refused');
        // Answered under the network it names, if it names one: shared code names no network itself.
        const named = (job.data as { network?: unknown } | undefined)?.network;
        return failed((typeof named === 'string' ? named.slice(0, 32) : 'unknown') as TransportId, [], 'rejected', 'malformed hand-off');
      }
      const h = parsed.data;
      const network = h.network as TransportId;
      if (Date.now() > h.deadline) return failed(network, [], 'timeout', 'taken after the sender stopped waiting; not sent');
      const b = await broadcasterOf(h.from);
      const transport = b?.transports.find((t) => t.id === network);
      if (!transport) return failed(network, [], 'unreachable', `no ${network} client for that room in the listening process`);
      let to;
      try {
        to = decodeMagnet(h.to);
      } catch {
        return failed(network, transport.capabilities.endpoints, 'rejected', 'hand-off names an invalid recipient');
      }
      return transport.send({ identity: to }, { uuid: h.uuid, json: h.json });
    },
    { concurrency: 8 },
  );
}
