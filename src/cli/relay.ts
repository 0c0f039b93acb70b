/**
 * `roomcast relay`: a local Nostr relay, in memory, for trying roomcast
 * without internet (README, "Try it in two terminals"). Not for production:
 * it keeps at most 100,000 events and forgets them when it stops.
 */
import { MemoryEventRepository, serveRelay } from '../relay/local-relay.js';
import { untilSignal } from './node-options.js';

type Out = (s: string) => void;

export async function relay(o: { port: number; host: string }, out: Out): Promise<void> {
  const server = await serveRelay({ host: o.host, port: o.port, repository: new MemoryEventRepository() });
  out(`Nostr relay listening on ws://${o.host}:${server.port} (in memory). Ctrl-C stops it.\n`);
  await untilSignal();
  await server.close(true);
}
