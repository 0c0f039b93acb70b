/**
 * Whether an entry of an in-order stream (a room's outbox or inbox) may be
 * handled now: `now` when no earlier entry of its room is still queued;
 * `next` when one is (usually being handled at this moment: worth a short
 * wait); `later` when more are (worth stepping aside until woken). The store
 * answers it; the queue's sequencer acts on it.
 */
export type Turn = 'now' | 'next' | 'later';
