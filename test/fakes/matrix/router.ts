/**
 * A small route table. Routes are written once, relative to their API family
 * (`/rooms/{roomId}/send/{eventType}/{txnId}`), and answer under every prefix
 * of that family (`/_matrix/client/v3` and `/_matrix/client/r0`, ...). Path
 * parameters are matched on the raw (still percent-encoded) segments and
 * decoded afterwards, so an encoded `/` inside a parameter stays inside it.
 * A final `{name?}` parameter may be absent: `/state/m.room.name` then
 * matches with it set to `''`, like `/state/m.room.name/`.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { HomeserverState } from './homeserver-state.js';
import type { Json, JsonObject, Requester } from './types.js';

export type Method = 'GET' | 'POST' | 'PUT' | 'DELETE';
export type Family = 'client' | 'media' | 'bare';

export const PREFIXES: Readonly<Record<Family, readonly string[]>> = {
  client: ['/_matrix/client/v3', '/_matrix/client/r0'],
  media: ['/_matrix/media/v3', '/_matrix/media/r0'],
  bare: [''],
};

export interface RequestContext {
  readonly hs: HomeserverState;
  readonly method: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly rawBody: Buffer;
  /** The authenticated caller; only routes with `auth: false` see undefined. */
  readonly requester: Requester | undefined;
  /** The body as a JSON object (400 M_NOT_JSON otherwise); `allowEmpty` reads an empty body as {}. */
  json(opts?: { allowEmpty?: boolean }): JsonObject;
  /** The authenticated caller (for routes with `auth: true`). */
  me(): Requester;
  /** Resolves when the client has gone away (for long-polls). */
  readonly aborted: Promise<void>;
}

export type Reply =
  | { readonly status: number; readonly json: Json }
  | { readonly status: number; readonly bytes: Buffer; readonly headers: Readonly<Record<string, string>> };

export interface Route {
  readonly method: Method;
  readonly family: Family;
  readonly path: string;
  /** Whether an access token is required (Synapse's `get_user_by_req`). */
  readonly auth: boolean;
  readonly handle: (ctx: RequestContext) => Reply | Promise<Reply>;
}

export const ok = (json: Json, status = 200): Reply => ({ status, json });

export type RouteMatch =
  | { readonly kind: 'match'; readonly route: Route; readonly template: string; readonly params: Record<string, string> }
  | { readonly kind: 'wrong-method' }
  | { readonly kind: 'none' };

/** Finds the route for `method` + raw `path` (no query string). */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  let pathKnown = false;
  for (const route of routes) {
    for (const prefix of PREFIXES[route.family]) {
      if (!path.startsWith(`${prefix}/`)) continue;
      const params = matchSegments(route.path, path.slice(prefix.length));
      if (!params) continue;
      if (route.method !== method) {
        pathKnown = true;
        continue;
      }
      return { kind: 'match', route, template: prefix + route.path, params };
    }
  }
  return pathKnown ? { kind: 'wrong-method' } : { kind: 'none' };
}

function matchSegments(template: string, path: string): Record<string, string> | undefined {
  const want = template.split('/');
  const got = path.split('/');
  const last = want.at(-1) ?? '';
  if (got.length === want.length - 1 && /^\{\w+\?\}$/.test(last)) got.push('');
  if (got.length !== want.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i] ?? '';
    const g = got[i] ?? '';
    const param = /^\{(\w+)\??\}$/.exec(w);
    if (!param) {
      if (w !== g) return undefined;
      continue;
    }
    const optional = w.endsWith('?}');
    if (g === '' && !optional) return undefined;
    try {
      params[param[1] ?? ''] = decodeURIComponent(g);
    } catch {
      return undefined; // malformed percent-encoding: no route matches
    }
  }
  return params;
}
