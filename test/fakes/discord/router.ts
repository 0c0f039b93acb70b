/**
 * Route table vocabulary shared by the route files. Routes are written
 * relative to the API version (`/channels/{channelId}/messages`) and answer
 * under every `/api/vN` prefix, so the bot (v10) and people (v9) share them.
 * Parameters are matched on raw segments and percent-decoded afterwards (an
 * emoji in a reaction route arrives encoded).
 */
import type { Gateway } from './gateway.js';
import type { Interactions } from './interactions.js';
import type { MessageService } from './messages.js';
import type { JsonObject } from './types.js';
import { DiscordApiError, isJsonObject } from './types.js';
import type { UserRecord, World } from './world.js';

export interface ResolvedOptions {
  readonly rateLimit: { readonly posts: number; readonly perMs: number } | false;
  readonly updateAfterCreate: boolean;
  readonly interactionWithoutChannel: boolean;
  readonly heartbeatIntervalMs: number;
}

/** The services a handler works with (one instance per fake server). */
export interface Core {
  readonly world: World;
  readonly gateway: Gateway;
  readonly messages: MessageService;
  readonly interactions: Interactions;
  readonly options: ResolvedOptions;
  /** `http://127.0.0.1:PORT`. */
  baseUrl(): string;
  /** Uploaded files by `${channelId}/${attachmentId}/${filename}`. */
  readonly files: Map<string, { bytes: Buffer; contentType: string }>;
}

/** A file part of a multipart body. */
export interface Upload {
  /** The form field, e.g. `files[0]`. */
  readonly field: string;
  readonly filename: string;
  readonly contentType: string;
  readonly bytes: Buffer;
}

export interface RequestContext {
  readonly core: Core;
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** JSON body, or `payload_json` of a multipart body; undefined when there is none. */
  readonly body: unknown;
  readonly files: readonly Upload[];
  /** The caller from the Authorization header (`Bot <t>` or a raw user token). */
  readonly caller: UserRecord | undefined;
  /** The body as an object (400 50035 otherwise; an absent body is `{}`). */
  json(): JsonObject;
  /** The caller, 401 when none. */
  me(): UserRecord;
}

export type Reply =
  | { readonly status: number; readonly json?: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly status: number; readonly bytes: Buffer; readonly headers: Readonly<Record<string, string>> };

export interface Route {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly path: string;
  /** `token`: needs an Authorization header; `none`: the path carries the credential (webhooks, interactions) or nothing is needed. */
  readonly auth: 'token' | 'none';
  readonly handle: (ctx: RequestContext) => Reply | Promise<Reply>;
}

/** A JSON answer; `json` is any JSON-serialisable value (wire interfaces included). */
export const ok = (json: unknown, status = 200): Reply => ({ status, json });
export const noContent = (): Reply => ({ status: 204 });

export type RouteMatch =
  | { readonly kind: 'match'; readonly route: Route; readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method' }
  | { readonly kind: 'none' };

/** Finds the route for `method` + a path already stripped of `/api/vN`. */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  let known = false;
  for (const route of routes) {
    const params = matchSegments(route.path, path);
    if (!params) continue;
    if (route.method !== method) {
      known = true;
      continue;
    }
    return { kind: 'match', route, params };
  }
  return known ? { kind: 'wrong-method' } : { kind: 'none' };
}

function matchSegments(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.replace(/\/$/, '').split('/');
  if (want.length !== got.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    const param = /^\{(\w+)\}$/.exec(w);
    if (!param) {
      if (w !== g) return undefined;
      continue;
    }
    if (g === '') return undefined;
    try {
      params[param[1] ?? ''] = decodeURIComponent(g);
    } catch {
      return undefined;
    }
  }
  return params;
}

/** `ctx.json()` helper for handlers: the body must be a JSON object. */
export function bodyObject(body: unknown): JsonObject {
  if (body === undefined || body === null) return {};
  if (!isJsonObject(body)) throw new DiscordApiError(400, 50109, 'The request body contains invalid JSON.');
  return body;
}
