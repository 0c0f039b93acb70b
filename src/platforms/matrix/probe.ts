/** `roomcast doctor`'s check of the Matrix account: who the access token signs in as. */
import { redactUrl } from '../../common/redact-url.js';
import type { PlatformProbe } from '../registry.js';
import type { MatrixPlatformConfig } from './config.js';

export async function probeMatrix(c: MatrixPlatformConfig, timeoutMs: number): Promise<PlatformProbe> {
  const where = redactUrl(c.homeserverUrl ?? '');
  let res: Response;
  try {
    res = await fetch(`${(c.homeserverUrl ?? '').replace(/\/$/, '')}/_matrix/client/v3/account/whoami`, {
      headers: { authorization: `Bearer ${c.accessToken ?? ''}` },
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { ok: false, detail: `${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const body = (await res.json().catch(() => ({}))) as { user_id?: string; errcode?: string };
  return res.ok && body.user_id
    ? { ok: true, detail: `${where}: signed in as ${body.user_id}` }
    : { ok: false, detail: `${where}: the access token was refused (${body.errcode ?? `HTTP ${res.status}`})` };
}
