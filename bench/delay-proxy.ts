/**
 * A TCP proxy that holds every chunk for a fixed time in each direction, so
 * a local broker or relay answers like a distant one (round trip + 2 × the
 * delay). Run in its own process (`node --import tsx bench/delay-proxy.ts
 * <listen port> <target port> <one-way delay ms>`), so its work is not
 * counted as the bridge's. Prints "ready" once it listens. Order is kept:
 * timers of equal delay fire in the order they were set.
 */
import { createServer, Socket } from 'node:net';

const [listenPort, targetPort, delayMs] = process.argv.slice(2).map(Number);
if (!listenPort || !targetPort || delayMs === undefined || !(delayMs >= 0)) {
  process.stderr.write('usage: delay-proxy <listen port> <target port> <one-way delay ms>\n');
  process.exit(2);
}

/** Copies `from` to `to`, each chunk `delayMs` later; closes `to` after the last chunk once `from` ends. */
function delayed(from: Socket, to: Socket): void {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = new Socket();
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop).on('close', drop);
  upstream.on('error', drop).on('close', drop);
  client.pause();
  upstream.connect(targetPort, '127.0.0.1', () => {
    upstream.setNoDelay(true);
    delayed(client, upstream);
    delayed(upstream, client);
    client.resume();
  });
});
server.listen(listenPort, '127.0.0.1', () => process.stdout.write('ready\n'));
process.on('SIGTERM', () => process.exit(0));
