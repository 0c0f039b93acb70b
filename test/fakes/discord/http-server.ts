/**
 * The HTTP side of the fake: turns `node:http` requests into route calls.
 * `/api/vN/...` (any N; discord.js uses v10, people v9) goes to the route
 * table, `/attachments/...` serves uploaded files. Bodies are JSON or
 * multipart/form-data (`payload_json` + `files[n]`, parsed with the platform's
 * `Request.formData()`). Injected faults are answered before routing, every
 * request is recorded (without tokens), and every failure becomes Discord's
 * `{message, code}` error body rather than a crash.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RateLimitedError } from './messages.js';
import type { Core, Reply, RequestContext, Route, Upload } from './router.js';
import { bodyObject, matchRoute } from './router.js';
import type { RecordedRequest } from './types.js';
import { DiscordApiError, unauthorized } from './types.js';
import { readBody } from '../../support/read-body.js';

const MAX_BODY_BYTES = 26 * 1024 * 1024;

/** A fault armed by `failNext`. */
export interface Fault {
  readonly method: string;
  readonly path: RegExp;
  readonly status: number;
  readonly retryAfterSec: number | undefined;
  remaining: number;
}

interface ParsedBody {
  readonly body: unknown;
  readonly files: Upload[];
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DiscordApiError(400, 50109, 'The request body contains invalid JSON.');
  }
}

async function parseBody(contentType: string, raw: Buffer): Promise<ParsedBody> {
  if (raw.length === 0) return { body: undefined, files: [] };
  if (!contentType.startsWith('multipart/form-data')) return { body: parseJson(raw.toString('utf8')), files: [] };
  const form = await new Request('http://fake.invalid/', { method: 'POST', headers: { 'content-type': contentType }, body: new Uint8Array(raw) }).formData();
  let body: unknown;
  const files: Upload[] = [];
  for (const [field, value] of form.entries()) {
    if (typeof value === 'string') {
      if (field === 'payload_json') body = parseJson(value);
      continue;
    }
    files.push({ field, filename: value.name, contentType: value.type || 'application/octet-stream', bytes: Buffer.from(await value.arrayBuffer()) });
  }
  return { body, files };
}

function send(res: ServerResponse, reply: Reply): void {
  if (res.destroyed) return;
  if ('bytes' in reply) {
    res.writeHead(reply.status, { ...reply.headers, 'Content-Length': reply.bytes.length });
    res.end(reply.bytes);
    return;
  }
  if (reply.json === undefined) {
    res.writeHead(reply.status, { ...reply.headers });
    res.end();
    return;
  }
  const body = Buffer.from(JSON.stringify(reply.json));
  res.writeHead(reply.status, { 'Content-Type': 'application/json', 'Content-Length': body.length, ...reply.headers });
  res.end(body);
}

function errorReply(e: unknown, where: string): Reply {
  if (e instanceof RateLimitedError) {
    return { status: 429, json: e.body(), headers: { 'retry-after': String(Math.round(e.retryAfterSec * 1000) / 1000), 'x-ratelimit-scope': 'user' } };
  }
  if (e instanceof DiscordApiError) return { status: e.status, json: e.body() };
  console.error('fake discord: internal error on', where, e);
  return { status: 500, json: { message: '500: Internal Server Error', code: 0 } };
}

function authKind(path: string, header: string | undefined): RecordedRequest['auth'] {
  if (/^\/(webhooks|interactions)\/\d+\/[^/]+/.test(path)) return 'webhook';
  if (header === undefined || header === '') return 'none';
  return /^Bot\s/i.test(header) ? 'bot' : 'user';
}

/** Webhook and interaction tokens travel in the path; the log shows `{token}` instead. */
function redactToken(path: string): string {
  return path.replace(/^\/(webhooks|interactions)\/(\d+)\/[^/]+/, '/$1/$2/{token}');
}

/** The `(req, res)` listener of the fake's HTTP server. */
export function httpHandler(core: Core, routes: readonly Route[], log: RecordedRequest[], faults: Fault[]): (req: IncomingMessage, res: ServerResponse) => void {
  async function handle(req: IncomingMessage, method: string, rawPath: string, query: URLSearchParams, record: { entry?: RecordedRequest }): Promise<Reply> {
    const attachment = /^\/attachments\/(\d+)\/(\d+)\/([^/]+)$/.exec(rawPath);
    if (method === 'GET' && attachment) {
      req.resume();
      const file = core.files.get(`${attachment[1]}/${attachment[2]}/${decodeURIComponent(attachment[3] ?? '')}`);
      if (!file) return { status: 404, json: { message: '404: Not Found', code: 0 } };
      return { status: 200, bytes: file.bytes, headers: { 'Content-Type': file.contentType } };
    }
    const api = /^\/api(?:\/v\d+)?(\/.*)$/.exec(rawPath);
    if (!api) {
      req.resume();
      return { status: 404, json: { message: '404: Not Found', code: 0 } };
    }
    const path = api[1] ?? '/';
    const header = req.headers.authorization;
    const parsed = await parseBody(req.headers['content-type'] ?? '', await readBody(req, MAX_BODY_BYTES, () => new DiscordApiError(413, 40005, 'Request entity too large')));
    const entry: RecordedRequest = { method, path: redactToken(path), query: Object.fromEntries(query), body: parsed.body, auth: authKind(path, header), status: 0, at: Date.now() };
    record.entry = entry;

    const fault = faults.find((f) => f.remaining > 0 && (f.method === '*' || f.method.toUpperCase() === method) && f.path.test(path));
    if (fault) {
      fault.remaining--;
      if (fault.status === 429) throw new RateLimitedError(fault.retryAfterSec ?? 1);
      throw new DiscordApiError(fault.status, 0, `Injected failure (${fault.status})`);
    }

    const match = matchRoute(routes, method, path);
    if (match.kind === 'none') throw new DiscordApiError(404, 0, '404: Not Found');
    if (match.kind === 'wrong-method') throw new DiscordApiError(405, 0, '405: Method Not Allowed');
    const token = header?.replace(/^Bot\s+/i, '');
    const caller = token === undefined || token === '' ? undefined : core.world.userByToken(token);
    if (match.route.auth === 'token' && !caller) throw unauthorized();
    const ctx: RequestContext = {
      core,
      method,
      params: match.params,
      query,
      body: parsed.body,
      files: parsed.files,
      caller,
      json: () => bodyObject(parsed.body),
      me: () => {
        if (!caller) throw unauthorized();
        return caller;
      },
    };
    return match.route.handle(ctx);
  }

  return (req, res) => {
    const method = req.method ?? 'GET';
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split('?', 2);
    const query = new URLSearchParams(rawQuery);
    const record: { entry?: RecordedRequest } = {};
    handle(req, method, rawPath, query, record)
      .catch((e: unknown) => errorReply(e, `${method} ${rawPath}`))
      .then((reply) => {
        if (record.entry) log.push({ ...record.entry, status: reply.status });
        send(res, reply);
      })
      .catch((e: unknown) => console.error('fake discord: cannot answer', e));
  };
}
