/**
 * A transparent HTTP proxy in front of a server (a Matrix homeserver or a
 * Discord API, fake or real) that can answer chosen requests itself instead, e.g. with the 429
 * a busy homeserver sends. Everything else is forwarded byte for byte,
 * long-polls included. Listens on a free port.
 */
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Fault {
  /** Which requests to answer (method and path, query included). */
  readonly match: (method: string, path: string) => boolean;
  /** How many matching requests to answer; later ones pass. */
  times: number;
  readonly status: number;
  readonly body: unknown;
  /** Extra response headers (Discord's Retry-After, for one). */
  readonly headers?: Readonly<Record<string, string>>;
}

export interface FaultProxy {
  readonly url: string;
  /** Answers the next `times` matching requests with `status` and `body` (JSON). */
  fail(fault: Omit<Fault, 'times'> & { times?: number }): void;
  /** Requests answered by a fault, in order. */
  readonly injected: Array<{ method: string; path: string; status: number }>;
  /** Requests forwarded, in order. */
  readonly forwarded: Array<{ method: string; path: string }>;
  /** Forwarded requests whose client has not gone away yet (a long-poll in flight counts). */
  openRequests(): number;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const to = new URL(target);
  const faults: Fault[] = [];
  const injected: FaultProxy['injected'] = [];
  const forwarded: FaultProxy['forwarded'] = [];
  const open = new Set<ServerResponse>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const fault = faults.find((f) => f.times > 0 && f.match(method, path));
    if (fault) {
      fault.times--;
      injected.push({ method, path, status: fault.status });
      req.resume();
      res.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers }).end(JSON.stringify(fault.body));
      return;
    }
    forwarded.push({ method, path });
    open.add(res);
    res.on('close', () => open.delete(res));
    const upstream = request(
      { protocol: to.protocol, hostname: to.hostname, port: to.port, method, path, headers: { ...req.headers, host: to.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ errcode: 'M_UNKNOWN', error: 'proxy: upstream failed' }));
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    fail: (f) => void faults.push({ ...f, times: f.times ?? 1 }),
    injected,
    forwarded,
    openRequests: () => open.size,
    close: async () => {
      for (const res of open) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
