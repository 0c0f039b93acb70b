/** `roomcast doctor`'s check of the Discord bot: who the token signs in as (GET /users/@me). */
import { redactUrl } from '../../common/redact-url.js';
import type { PlatformProbe } from '../registry.js';
import type { DiscordPlatformConfig } from './config.js';

export async function probeDiscord(c: DiscordPlatformConfig, timeoutMs: number): Promise<PlatformProbe> {
  const where = redactUrl(c.apiUrl);
  let res: Response;
  try {
    res = await fetch(`${c.apiUrl.replace(/\/$/, '')}/v10/users/@me`, { headers: { authorization: `Bot ${c.token ?? ''}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    return { ok: false, detail: `${where}: ${err instanceof Error ? err.message : String(err)}` };
  }
  const body = (await res.json().catch(() => ({}))) as { id?: string; username?: string; bot?: boolean; message?: string };
  if (!res.ok || !body.id) return { ok: false, detail: `${where}: the bot token was refused (${body.message ?? `HTTP ${res.status}`})` };
  if (body.bot === false) return { ok: false, detail: `${where}: the token is a user's, not a bot's (${body.username ?? body.id})` };
  return { ok: true, detail: `${where}: signed in as ${body.username ?? '?'} (${body.id})` };
}
