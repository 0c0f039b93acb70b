/**
 * A real queue backend whose queues' `add` misbehaves on cue: the hand-off
 * from the store to the queue fails (the queue refuses once) or never
 * happens (the process is killed at that moment). Everything else is the
 * real backend.
 */
import type { JobQueue, QueueBackend } from '../../src/queue/index.js';

export type AddFault = 'throw' | 'sigkill';

/**
 * Wraps `backend` so that the next `times` calls of `add` on queue `name`
 * fail as `fault` says ('throw': rejects like an unreachable Redis;
 * 'sigkill': the process dies on the spot).
 */
export function faultyAdds(backend: QueueBackend, name: string, fault: AddFault, times = 1): QueueBackend & { readonly faults: () => number } {
  let left = times;
  let done = 0;
  const wrap = (q: JobQueue<unknown, unknown>): JobQueue<unknown, unknown> =>
    new Proxy(q, {
      get(target, prop, receiver) {
        if (prop !== 'add') return Reflect.get(target, prop, receiver) as unknown;
        const add = target.add.bind(target);
        return (...args: Parameters<typeof add>) => {
          if (left > 0) {
            left--;
            done++;
            if (fault === 'sigkill') process.kill(process.pid, 'SIGKILL');
            return Promise.reject(new Error('Connection is closed. (test: the queue refused the job)'));
          }
          return add(...args);
        };
      },
    });
  return new Proxy(backend, {
    get(target, prop, receiver) {
      if (prop === 'faults') return () => done;
      if (prop !== 'queue') return Reflect.get(target, prop, receiver) as unknown;
      return (n: string, settings?: Parameters<QueueBackend['queue']>[1]) => {
        const q = target.queue(n, settings);
        return n === name ? wrap(q) : q;
      };
    },
  }) as QueueBackend & { readonly faults: () => number };
}
