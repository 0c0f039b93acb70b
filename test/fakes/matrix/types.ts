/**
 * Shared vocabulary of the fake homeserver: JSON values, the public event
 * shape, the error type every handler throws, and the few body validators the
 * handlers rely on. Nothing here knows about HTTP.
 */

export type Json = null | boolean | number | string | Json[] | JsonObject;
export type JsonObject = { [key: string]: Json };

/**
 * A room event as the assertion helper `timeline()` hands it out: the full
 * client format with `room_id`, content as it is now (emptied by a redaction).
 */
export interface MatrixEvent {
  readonly event_id: string;
  readonly room_id: string;
  readonly sender: string;
  readonly type: string;
  readonly content: JsonObject;
  readonly origin_server_ts: number;
  readonly state_key?: string;
  readonly redacts?: string;
}

/** Who made an authenticated request: one access token is one device. */
export interface Requester {
  readonly userId: string;
  readonly deviceId: string;
  readonly token: string;
}

/**
 * A Matrix error response. Handlers throw it; the HTTP layer turns it into
 * `{errcode, error, ...extra}` with `status`. Messages copy Synapse's where
 * known, but clients should only rely on status and errcode.
 */
export class MatrixApiError extends Error {
  constructor(
    readonly status: number,
    readonly errcode: string,
    message: string,
    readonly extra: JsonObject = {},
  ) {
    super(message);
  }

  body(): JsonObject {
    return { errcode: this.errcode, error: this.message, ...this.extra };
  }
}

export const forbidden = (msg: string, errcode = 'M_FORBIDDEN'): MatrixApiError => new MatrixApiError(403, errcode, msg);
export const notFound = (msg: string): MatrixApiError => new MatrixApiError(404, 'M_NOT_FOUND', msg);
export const badJson = (msg: string): MatrixApiError => new MatrixApiError(400, 'M_BAD_JSON', msg);
export const missingParam = (msg: string): MatrixApiError => new MatrixApiError(400, 'M_MISSING_PARAM', msg);
export const invalidParam = (msg: string): MatrixApiError => new MatrixApiError(400, 'M_INVALID_PARAM', msg);

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `body[key]` as a string, or a 400 if it is missing or not a string. */
export function requireString(body: JsonObject, key: string): string {
  const v = body[key];
  if (v === undefined || v === null) throw missingParam(`Missing parameter: ${key}`);
  if (typeof v !== 'string') throw badJson(`Parameter '${key}' must be a string`);
  return v;
}

/** `body[key]` as a string, undefined when absent (or null), 400 when another type. */
export function optionalString(body: JsonObject, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw badJson(`Parameter '${key}' must be a string`);
  return v;
}

/** `body[key]` as an object, undefined when absent, 400 when another type. */
export function optionalObject(body: JsonObject, key: string): JsonObject | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!isJsonObject(v)) throw badJson(`Parameter '${key}' must be an object`);
  return v;
}

/** Deterministic JSON (sorted keys), used to compare contents the way Synapse does. */
export function canonicalJson(v: Json): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (isJsonObject(v)) {
    const keys = Object.keys(v).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k] ?? null)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** A deep copy, so stored contents never alias what a handler was given or hands out. */
export function cloneJson<T extends Json>(v: T): T {
  return structuredClone(v);
}

/** Matrix user IDs: `@localpart:server`. */
export function isUserId(s: string): boolean {
  return /^@[^:\s]+:[^\s]+$/.test(s);
}
