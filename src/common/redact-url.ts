/** Credentials never reach a log line or a report: URLs are shown through redactUrl. */

/** A URL without user, password or query (which may hold tokens), for logs and reports. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    u.search = '';
    u.hash = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(invalid url)';
  }
}
