/**
 * An in-process aedes broker (MQTT 3.1.1 only: clients need protocolVersion 4)
 * on a free 127.0.0.1 port, with the same shape as the Mosquitto helper.
 * Sessions live in aedes' in-memory persistence, i.e. until kill/stop.
 */
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { Aedes } from 'aedes';
import { freePort } from './mosquitto.js';
import type { TestBroker } from './mosquitto.js';

export interface AedesTestBroker extends TestBroker {
  /** The running aedes instance (a new one after restart). */
  readonly broker: Aedes;
  /** Client ids of every client that completed CONNECT, in order, across restarts. */
  readonly clientIds: readonly string[];
}

export async function startAedes(opts: { port?: number } = {}): Promise<AedesTestBroker> {
  let port = opts.port ?? (await freePort());
  let broker: Aedes | undefined;
  let server: Server | undefined;
  const sockets = new Set<Socket>();
  const clientIds: string[] = [];
  let stopped = false;

  async function launch(): Promise<void> {
    const b = await Aedes.createBroker();
    b.on('client', (client) => clientIds.push(client.id));
    const srv = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      b.handle(socket);
    });
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(port, '127.0.0.1', () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const addr = srv.address();
    if (typeof addr === 'object' && addr) port = addr.port;
    broker = b;
    server = srv;
  }

  async function kill(): Promise<void> {
    const b = broker;
    const srv = server;
    broker = undefined;
    server = undefined;
    for (const s of sockets) s.destroy();
    sockets.clear();
    await Promise.all([
      srv ? new Promise<void>((resolve) => srv.close(() => resolve())) : undefined,
      b ? new Promise<void>((resolve) => b.close(() => resolve())) : undefined,
    ]);
  }

  async function launchRetrying(): Promise<void> {
    let last: unknown;
    for (let i = 0; i < 20; i++) {
      try {
        await launch();
        return;
      } catch (err) {
        last = err;
        if (opts.port === undefined && !broker) port = await freePort();
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw last;
  }

  await launchRetrying();

  return {
    get url() {
      return `mqtt://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    get broker() {
      if (!broker) throw new Error('aedes broker is not running');
      return broker;
    },
    clientIds,
    kill,
    async restart() {
      if (stopped) throw new Error('broker was stopped for good');
      await kill();
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill();
    },
  };
}
