/**
 * `roomcast status`: the running service's overview in the terminal, read
 * from its HTTP API (/api/status) with the access token, so it shows exactly
 * what the status page shows.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TOKEN_FILE } from '../dashboard/auth.js';
import { overviewText } from '../dashboard/overview-text.js';
import type { StatusReport } from '../dashboard/status.js';
import { CliError } from './exit-codes.js';
import { cliConfig } from './node-options.js';
import type { NodeCliOptions } from './node-options.js';

export async function status(o: NodeCliOptions & { url?: string; json?: boolean }, out: (s: string) => void): Promise<void> {
  const loaded = cliConfig(o, { quiet: true });
  const http = loaded.config.http;
  const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
  const url = (o.url ?? `http://${host.includes(':') ? `[${host}]` : host}:${http.port}`).replace(/\/$/, '');
  const token = http.token ?? (await readFile(join(loaded.dataDir, TOKEN_FILE), 'utf8').then((t) => t.trim(), () => undefined));
  if (!token) throw new CliError(`no access token: set ROOMCAST_HTTP_TOKEN, or run where ${join(loaded.dataDir, TOKEN_FILE)} is readable`);
  let res: Response;
  try {
    res = await fetch(`${url}/api/status`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch {
    throw new CliError(`no roomcast service answers at ${url} (is \`roomcast start\` running? --url names another)`);
  }
  if (res.status === 401) throw new CliError(`the service at ${url} refused the access token`);
  if (!res.ok) throw new CliError(`the service at ${url} answered HTTP ${res.status}`);
  const report = (await res.json()) as StatusReport;
  out(o.json ? `${JSON.stringify(report)}\n` : overviewText(report, Date.now()));
}
