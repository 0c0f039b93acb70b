/**
 * Who may see the operator pages: the holder of the access token, sent as
 * `Authorization: Bearer <token>` or as the login cookie. The cookie holds an
 * HMAC of the token, never the token, so a leaked cookie jar reveals no
 * secret that works elsewhere (the bearer header, another deployment).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const SESSION_COOKIE = 'roomcast_session';

/** The token file in the data dir, 0600. */
export const TOKEN_FILE = 'http-token';

export interface AccessToken {
  readonly token: string;
  /** Set when this start generated the token (print it once), with the file it is kept in. */
  readonly created?: string;
}

/**
 * The configured token, else the one kept in `<dataDir>/http-token`, else a
 * new one written there (0600). Reading never widens the file's mode.
 */
export async function accessToken(configured: string | undefined, dataDir: string): Promise<AccessToken> {
  if (configured) return { token: configured };
  const file = join(dataDir, TOKEN_FILE);
  try {
    const kept = (await readFile(file, 'utf8')).trim();
    if (kept.length >= 16) return { token: kept };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(24).toString('base64url');
  await writeFile(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  await chmod(file, 0o600);
  return { token, created: file };
}

/** The login cookie's value for `token`. */
export function sessionValue(token: string): string {
  return createHmac('sha256', token).update('roomcast dashboard session v1').digest('base64url');
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether a request carries the token (bearer) or the session cookie. */
export function authorized(token: string, headers: { authorization?: string | undefined; cookie?: string | undefined }): boolean {
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  if (bearer !== undefined && same(bearer, token)) return true;
  const cookie = cookieValue(headers.cookie, SESSION_COOKIE);
  return cookie !== undefined && same(cookie, sessionValue(token));
}

export function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return undefined;
}

/** Whether a login form's token is the token. */
export function tokenMatches(token: string, given: unknown): boolean {
  return typeof given === 'string' && same(given, token);
}
