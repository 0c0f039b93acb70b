/**
 * Classifying XMTP failures into the transport's FailureReason. The SDK's
 * native errors are plain Errors with `code: 'GenericFailure'` whatever went
 * wrong, so the message text is what tells them apart (DEPENDENCIES.md: with
 * no network it ends in "tcp connect error" or "dns error").
 */
import type { FailureReason } from '../transport.js';

/** An operation that exceeded its configured time; classified 'timeout'. */
export class XmtpTimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} took longer than ${ms} ms`);
    this.name = 'XmtpTimeoutError';
  }
}

/**
 * XMTP's cut-over to its decentralised network: the old servers refuse
 * writes ("publishing to XMTP V3 is no longer available. Please upgrade your
 * client to XMTP D14N.") and end streams ("XMTP V3 streaming is no longer
 * available…"). The SDK passes the server's text through in its message.
 */
const UPGRADE_REQUIRED = /XMTP V3 is no longer available|XMTP V3 streaming is no longer available|upgrade your client to XMTP D14N/i;
/** The servers' own sentence, without the SDK's wrapping (endpoint, status, metadata). */
const CUT_OVER_SENTENCE = /(?:publishing to )?XMTP V3[^"\\]*/i;
const UNREACHABLE =
  /tcp connect error|dns error|connection refused|connection reset|service is currently unavailable|unavailable|transport error|broken pipe|timed out|error trying to connect|network is unreachable|ECONNREFUSED|ENOTFOUND|EAI_AGAIN/i;
const REJECTED =
  /permission denied|permissiondenied|unauthenticated|unauthorized|forbidden|invalid argument|invalidargument|rejected|too many installations|installation limit|rate limit|resource exhausted|signature|not registered|no inbox|cannot message|inbox id .* not found/i;

export interface ClassifiedFailure {
  readonly reason: FailureReason;
  /** Short, secret-free description (the SDK's message, truncated). */
  readonly message: string;
}

/** Maps an error from the SDK (or our timeouts) to a FailureReason. */
export function classifyXmtpError(err: unknown): ClassifiedFailure {
  const full = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ');
  const message = full.slice(0, 300);
  if (err instanceof XmtpTimeoutError) return { reason: 'timeout', message };
  if (UPGRADE_REQUIRED.test(full)) return { reason: 'upgrade-required', message: CUT_OVER_SENTENCE.exec(full)?.[0]?.trim() ?? message };
  if (UNREACHABLE.test(full)) return { reason: 'unreachable', message };
  if (REJECTED.test(full)) return { reason: 'rejected', message };
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  // A native failure we cannot read more into: treat it as the network's, so it is retried.
  if (code === 'GenericFailure') return { reason: 'unreachable', message };
  return { reason: 'error', message };
}

/**
 * Races `work` against a timer. When the timer wins, `onLate` receives the
 * result if it arrives after all (so a late client or stream is released, not
 * leaked).
 */
export function withTimeout<T>(work: Promise<T>, ms: number, what: string, onLate?: (late: T) => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      timedOut = true;
      reject(new XmtpTimeoutError(what, ms));
    }, ms);
  });
  work.then(
    (value) => {
      if (timedOut) onLate?.(value);
    },
    () => undefined,
  );
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
