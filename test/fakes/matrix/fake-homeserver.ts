/**
 * A wire-level fake Matrix homeserver: plain `node:http` speaking enough of
 * the client-server API (JSON over HTTP) for the unmodified matrix-bot-sdk
 * `MatrixClient` to run a bot against it, and for tests to act as people via
 * MatrixClient or fetch. Behaviour mirrors Synapse 1.67 where a client could
 * notice (see sync.ts, membership.ts, create-room.ts), because the same
 * end-to-end tests also run against a real Synapse.
 *
 * It listens on 127.0.0.1 and a free port. Every request is logged by route
 * template (`requests()`), and `close()` answers pending /sync long-polls at
 * once before shutting the server down.
 */
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HomeserverState } from './homeserver-state.js';
import { Room } from './rooms.js';
import type { Reply, RequestContext, Route } from './router.js';
import { matchRoute } from './router.js';
import { accountRoutes } from './routes-account.js';
import { MAX_UPLOAD_BYTES, mediaRoutes } from './routes-media.js';
import { roomRoutes } from './routes-rooms.js';
import { syncRoutes } from './sync.js';
import type { JsonObject, MatrixEvent, Requester } from './types.js';
import { MatrixApiError, isJsonObject } from './types.js';
import { readBody } from '../../support/read-body.js';

export interface RequestRecord {
  readonly method: string;
  /** The route template with the prefix used, e.g. `/_matrix/client/v3/rooms/{roomId}/send/{eventType}/{txnId}`; the raw path for unknown routes. */
  readonly path: string;
  /** The authenticated user, if a valid access token came with the request. */
  readonly user?: string;
  readonly status: number;
}

export interface FakeHomeserver {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly serverName: string;
  /** Assertion helper: every event of the room in order, state events included (throws for unknown rooms). */
  timeline(roomId: string): MatrixEvent[];
  /** Assertion helper: every answered HTTP request, in order of the answers. */
  requests(): ReadonlyArray<RequestRecord>;
  /** Answers pending long-polls, then closes all connections and the server. */
  close(): Promise<void>;
}

export interface FakeHomeserverOptions {
  /** The server name in user IDs, room IDs and mxc URIs (default `fake.local`). */
  readonly serverName?: string;
}

const ROUTES: readonly Route[] = [...accountRoutes, ...roomRoutes, ...syncRoutes, ...mediaRoutes];
/** How long close() lets in-flight requests finish before cutting connections. */
const DRAIN_TIMEOUT_MS = 1000;
/** Bodies beyond this are refused before they are buffered. */
const MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 1;

function accessToken(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const m = /^Bearer (.+)$/.exec(header);
    if (m) return m[1];
  }
  return query.get('access_token') ?? undefined;
}

function writeReply(res: ServerResponse, reply: Reply, extraHeaders: Record<string, string> = {}): void {
  if (res.destroyed) return;
  if ('json' in reply) {
    const body = Buffer.from(JSON.stringify(reply.json));
    res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...extraHeaders });
    res.end(body);
  } else {
    res.writeHead(reply.status, { ...reply.headers, 'Content-Length': reply.bytes.length, ...extraHeaders });
    res.end(reply.bytes);
  }
}

function makeContext(hs: HomeserverState, req: IncomingMessage, res: ServerResponse, fields: {
  params: Record<string, string>;
  query: URLSearchParams;
  rawBody: Buffer;
  requester: Requester | undefined;
}): RequestContext {
  const aborted = new Promise<void>((resolve) => res.once('close', () => resolve()));
  return {
    hs,
    method: req.method ?? 'GET',
    headers: req.headers,
    ...fields,
    aborted,
    json(opts = {}) {
      if (fields.rawBody.length === 0 && opts.allowEmpty === true) return {};
      let parsed: unknown;
      try {
        parsed = JSON.parse(fields.rawBody.toString('utf8'));
      } catch {
        throw new MatrixApiError(400, 'M_NOT_JSON', 'Content not JSON.');
      }
      if (!isJsonObject(parsed)) throw new MatrixApiError(400, 'M_BAD_JSON', 'Content must be a JSON object.');
      return parsed;
    },
    me() {
      if (!fields.requester) throw new MatrixApiError(401, 'M_MISSING_TOKEN', 'Missing access token.');
      return fields.requester;
    },
  };
}

/** Routes one request; every failure becomes a Matrix error reply, never a crash. */
async function dispatch(hs: HomeserverState, req: IncomingMessage, res: ServerResponse, record: { path: string; user?: string }): Promise<Reply> {
  const method = req.method ?? 'GET';
  const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
  const query = new URLSearchParams(rawQuery);
  const match = matchRoute(ROUTES, method, rawPath);
  if (match.kind !== 'match') {
    req.resume();
    throw new MatrixApiError(match.kind === 'none' ? 404 : 405, 'M_UNRECOGNIZED', 'Unrecognized request');
  }
  record.path = match.template;
  const rawBody = await readBody(req, MAX_BODY_BYTES, () => new MatrixApiError(413, 'M_TOO_LARGE', 'Request body too large'));
  const token = accessToken(req, query);
  const requester = token === undefined ? undefined : hs.accounts.session(token);
  if (requester) record.user = requester.userId;
  if (match.route.auth && !requester) {
    if (token === undefined) throw new MatrixApiError(401, 'M_MISSING_TOKEN', 'Missing access token.');
    throw new MatrixApiError(401, 'M_UNKNOWN_TOKEN', 'Invalid access token passed.', { soft_logout: false });
  }
  return match.route.handle(makeContext(hs, req, res, { params: match.params, query, rawBody, requester }));
}

export async function startFakeHomeserver(opts: FakeHomeserverOptions = {}): Promise<FakeHomeserver> {
  const serverName = opts.serverName ?? 'fake.local';
  const hs = new HomeserverState(serverName);
  const log: RequestRecord[] = [];
  let inFlight = 0;
  let drained: (() => void) | undefined;

  const server = http.createServer((req, res) => {
    const method = req.method ?? 'GET';
    if (hs.isClosed) {
      req.resume();
      writeReply(res, { status: 503, json: { errcode: 'M_UNKNOWN', error: 'Server is shutting down' } }, { Connection: 'close' });
      return;
    }
    if (method === 'OPTIONS') {
      // Synapse answers any OPTIONS (CORS preflight) with 200 {}.
      req.resume();
      log.push({ method, path: (req.url ?? '/').split('?')[0] ?? '/', status: 200 });
      writeReply(res, { status: 200, json: {} }, {
        'Access-Control-Allow-Origin': '*',
        'Access-Control-Allow-Methods': 'GET, HEAD, POST, PUT, DELETE, OPTIONS',
        'Access-Control-Allow-Headers': 'X-Requested-With, Content-Type, Authorization, Date',
      });
      return;
    }
    inFlight++;
    const record: { path: string; user?: string } = { path: (req.url ?? '/').split('?')[0] ?? '/' };
    dispatch(hs, req, res, record)
      .catch((e: unknown): Reply => {
        if (e instanceof MatrixApiError) return { status: e.status, json: e.body() };
        console.error('fake homeserver: internal error on', method, record.path, e);
        return { status: 500, json: { errcode: 'M_UNKNOWN', error: 'Internal server error' } satisfies JsonObject };
      })
      .then((reply) => {
        log.push({ method, path: record.path, ...(record.user !== undefined ? { user: record.user } : {}), status: reply.status });
        writeReply(res, reply);
      })
      .finally(() => {
        inFlight--;
        if (inFlight === 0) drained?.();
      });
  });
  server.on('clientError', (_err, socket) => socket.destroy());

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    serverName,
    timeline(roomId) {
      const room = hs.rooms.get(roomId);
      if (!room) throw new Error(`fake homeserver: no room ${roomId}`);
      return room.events.map((e) => Room.toMatrixEvent(e));
    },
    requests: () => [...log],
    close() {
      closing ??= (async () => {
        hs.close(); // wakes every long-poll; they answer with what they have
        if (inFlight > 0) {
          // Woken long-polls answer at once; only a stalled request body could keep us here, so bound the wait.
          await new Promise<void>((resolve) => {
            drained = resolve;
            setTimeout(resolve, DRAIN_TIMEOUT_MS).unref();
          });
        }
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
      })();
      return closing;
    },
  };
}
