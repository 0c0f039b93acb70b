/**
 * `roomcast start`: the long-running service role. It listens on every
 * configured transport with the service identity (created on first start),
 * acknowledges and records what arrives, and logs it. Later roles (the room
 * bridge, queue workers, the dashboard) attach to the same node.
 */
import { encodeMagnet } from '../identity/magnet.js';
import { openNode } from '../node.js';
import { cliConfig, untilSignal } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

type Out = (s: string) => void;

export async function startService(o: NodeCliOptions, out: Out): Promise<void> {
  const loaded = cliConfig(o, false);
  const node = await openNode(loaded, { createIdentity: true });
  const { broadcaster, log } = node;
  broadcaster.on('message', (e) =>
    log.info({ uuid: e.message.uuid, from: e.sender.ethAddress, via: e.via, verified: e.verified, chars: e.message.content.length }, 'message received'),
  );
  broadcaster.on('ack', (e) => {
    if (e.firstAck) log.info({ uuid: e.originalUuid, via: e.via, latencyMs: e.latencyMs }, 'message acknowledged');
  });
  await broadcaster.start();
  const endpoints = broadcaster.transports.map((t) => `${t.id}: ${t.capabilities.endpoints.length}`).join(', ') || 'none';
  log.info({ config: loaded.source ?? '(built-in defaults)', dataDir: loaded.dataDir, endpoints }, 'roomcast started');
  out(`roomcast is running. Identity: ${encodeMagnet(node.identity)}\nPress Ctrl-C to stop.\n`);
  await untilSignal();
  log.info('stopping');
  await node.close();
}
