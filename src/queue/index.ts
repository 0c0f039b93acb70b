/** The job queue layer: backends (Redis or embedded), job payloads, producers, workers, in-order processing. */
export { EmbeddedQueueInUseError, openQueueBackend } from './backend.js';
export type { BackendKind, JobCounts, JobQueue, JobQueueEvents, JobWorker, OpenQueueBackendOptions, QueueBackend, QueueEventsSettings, QueueSettings, WorkerSettings } from './backend.js';
export { QueueConfigSchema } from './config.js';
export type { QueueConfig, QueueConfigInput } from './config.js';
export {
  InboundJobSchema,
  JOB_QUEUE_NAMES,
  JOB_SCHEMAS,
  OutboundJobSchema,
  jobDefaults,
  jobIdOf,
  jobProducer,
  startJobWorker,
  validated,
  workerDefaults,
} from './jobs.js';
export type { InboundJob, JobHandler, JobPayload, JobProducer, JobQueueName, JobQueueOptions, JobWorkerOptions, OutboundJob } from './jobs.js';
export { KeyedSequencer } from './sequencer.js';
export { promote } from './promote.js';
/** Thrown by a job handler when no retry can help: the job fails at once, whatever attempts remain. */
export { UnrecoverableError } from 'bullmq';
export type { KeyedSequencerOptions } from './sequencer.js';
