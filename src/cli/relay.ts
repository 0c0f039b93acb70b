/**
 * `roomcast relay`: a local Nostr relay, in memory, for trying roomcast
 * without internet (README, "Try it in two terminals"). Not for production:
 * it keeps at most 100,000 events and forgets them when it stops.
 */
import { MemoryEventRepository, serveRelay } from '../relay/local-relay.js';
import { CliError } from './exit-codes.js';
import { untilSignal } from './node-options.js';

type Out = (s: string) => void;

export async function relay(o: { port: number; host: string }, out: Out): Promise<void> {
  let server;
  try {
    server = await serveRelay({ host: o.host, port: o.port, repository: new MemoryEventRepository() });
  } catch (err) {
    throw listenError(err, o.host, o.port);
  }
  const signalled = untilSignal(); // before the ready line (see service.ts)
  out(`Nostr relay listening on ws://${o.host}:${server.port} (in memory). Ctrl-C stops it.\n`);
  await signalled;
  await server.close(true);
}

/** The one line for a failed listen, saying what to change; other errors pass through. */
export function listenError(err: unknown, host: string, port: number): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EADDRINUSE') return new CliError(`port ${port} on ${host} is already in use (another relay?): choose a free one with --port`);
  if (code === 'EACCES') return new CliError(`not allowed to listen on port ${port} on ${host}: choose a port above 1023 with --port`);
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') return new CliError(`cannot listen on ${host}: no such local address; choose another with --host`);
  return err;
}
