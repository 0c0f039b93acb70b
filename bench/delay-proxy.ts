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

/**
 * Copies `from` to `to`, each chunk `delayMs` later; ends `to` after the last
 * chunk once `from` ends, and destroys it (as late) once `from` is gone.
 */
function delayed(from: Socket, to: Socket): void {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('close', () => setTimeout(() => to.destroy(), delayMs));
}

const server = createServer((client) => {
  client.setNoDelay(true);
  const upstream = new Socket();
  // A closed side is passed on by delayed(), after what it sent; an error drops both at once.
  const drop = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on('error', drop);
  upstream.on('error', drop);
  client.once('close', () => {
    if (upstream.connecting) upstream.destroy(); // gone before there was anything to pass on
  });
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
