/**
 * Keeps credentials out of errors. A libsql server's error body is copied
 * into the client's error message verbatim (hrana `errorFromResponse`), and a
 * server or proxy that echoes the Authorization header would put the auth
 * token into our logs. Every error leaving the store goes through
 * `redactError`, which removes each secret from the message, stack and cause
 * chain (in place, so the error keeps its class and libsql `code`).
 */

export const REDACTED = '[redacted]';

/** The secrets of one store configuration: the auth token, wherever it was given. */
export function secretsOf(url: string, authToken: string | undefined): string[] {
  const secrets = new Set<string>();
  if (authToken) secrets.add(authToken);
  // libsql also accepts the token as `?authToken=` in the URL, and a URL may carry a password.
  const query = /[?&]authToken=([^&#]+)/.exec(url)?.[1];
  if (query) {
    secrets.add(query);
    try {
      secrets.add(decodeURIComponent(query));
    } catch {
      // not percent-encoded: the raw form is already in the set
    }
  }
  const password = /^[a-z]+:\/\/[^/@]*:([^/@]+)@/i.exec(url)?.[1];
  if (password) secrets.add(password);
  // Never "redact" something so short that it would shred ordinary text.
  return [...secrets].filter((s) => s.length >= 4);
}

/** Replaces every secret in `text`. */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(REDACTED);
  return out;
}

/**
 * Removes `secrets` from an error's message and stack, from its `cause` chain
 * and from AggregateError members. Returns the same error (or, for a thrown
 * non-Error, a new Error with its redacted text).
 */
export function redactError(err: unknown, secrets: readonly string[]): unknown {
  if (secrets.length === 0) return err;
  if (!(err instanceof Error)) return new Error(redactText(String(err), secrets));
  redactInPlace(err, secrets, new Set());
  return err;
}

function redactInPlace(err: Error, secrets: readonly string[], seen: Set<Error>): void {
  if (seen.has(err) || seen.size > 16) return;
  seen.add(err);
  try {
    err.message = redactText(err.message, secrets);
    if (typeof err.stack === 'string') err.stack = redactText(err.stack, secrets);
  } catch {
    // a frozen or exotic error: replace what can be replaced
  }
  const cause: unknown = err.cause;
  if (cause instanceof Error) redactInPlace(cause, secrets, seen);
  else if (typeof cause === 'string') {
    try {
      err.cause = redactText(cause, secrets);
    } catch {
      // read-only cause
    }
  }
  if (err instanceof AggregateError) {
    for (const inner of err.errors) if (inner instanceof Error) redactInPlace(inner, secrets, seen);
  }
}
