/**
 * Structured logging (pino). Secrets never reach a log line: keys, tokens and
 * passwords are redacted by path, and URLs are logged through redactUrl.
 *
 * Two formats on stderr (stdout belongs to CLI output): JSON lines for
 * machines, and a short human-readable line ("12:34:56.789 WARN  mqtt broker
 * unreachable; retrying in the background endpoint=mqtt://…") for people.
 * `auto` picks pretty when stderr is a terminal, JSON otherwise, so a service
 * under a supervisor or a pipe keeps machine-readable logs. The pretty format
 * is a small formatter over pino's own JSON output (no pino-pretty worker
 * thread): redaction and serializers apply to both formats alike.
 */
import { pino } from 'pino';
import type { DestinationStream, Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** The values of the `logFormat` setting. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

const REDACT = [
  '*.privateKey',
  '*.secp256k1PrivateKey',
  '*.ed25519PrivateKey',
  '*.password',
  '*.token',
  '*.authToken',
  '*.accessToken',
  'identity.secp256k1PrivateKey',
  'identity.ed25519PrivateKey',
];

export interface LoggerOptions {
  /** `auto` (default): pretty when `stream` is a terminal, JSON otherwise. */
  readonly format?: LogFormat;
  /** Where lines go; default stderr. Tests pass a collector. */
  readonly stream?: { write(line: string): unknown; readonly isTTY?: boolean };
}

/** The format `auto` resolves to for a stream. */
export function resolveLogFormat(format: LogFormat, isTTY: boolean | undefined): 'json' | 'pretty' {
  if (format === 'auto') return isTTY === true ? 'pretty' : 'json';
  return format;
}

/** A logger writing to stderr (stdout belongs to CLI output), as JSON lines or pretty lines. */
export function createLogger(level: LogLevel = 'info', name = 'roomcast', options: LoggerOptions = {}): Logger {
  const base = {
    name,
    level,
    redact: { paths: REDACT, censor: REDACTED },
    // Every field at every depth, and the message itself, pass through scrub(): no secret reaches a line.
    formatters: { log: (obj: Record<string, unknown>) => scrub(obj) as Record<string, unknown> },
    hooks: {
      logMethod(this: PinoLogger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((a) => (typeof a === 'string' ? scrubText(a) : a)));
      },
    },
  };
  const target = options.stream ?? process.stderr;
  const format = resolveLogFormat(options.format ?? 'auto', target.isTTY);
  if (format === 'json') return pino(base, options.stream ? (options.stream as DestinationStream) : pino.destination(2));
  const color = target.isTTY === true && !process.env.NO_COLOR;
  const pretty: DestinationStream = { write: (line: string) => void target.write(prettyLine(line, color)) };
  return pino(base, pretty);
}

const REDACTED = '[redacted]';
/** Field names whose values are secrets, wherever they appear. */
const SECRET_KEY = /(token|password|passwd|secret|privatekey|private_key|authorization|cookie|sealedkey|mnemonic)$/i;
const MAX_DEPTH = 8;

/**
 * A copy of a log field with secrets removed at every depth: values under a
 * secret-looking key, passwords in URLs, tokens in query strings and bearer
 * headers. Errors become their message (scrubbed) and name.
 */
export function scrub(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (typeof value !== 'object' || value === null) return value;
  if (depth >= MAX_DEPTH || seen.has(value)) return '[…]';
  seen.add(value);
  if (value instanceof Error) return { name: value.name, message: scrubText(value.message) };
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1, seen));
  if (value instanceof Uint8Array) return `[${value.length} bytes]`;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && v !== '' ? REDACTED : scrub(v, depth + 1, seen);
  return out;
}

/** Text with URL passwords, query-string tokens and bearer tokens removed. */
export function scrubText(text: string): string {
  return text
    .replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*):[^@\s/]+@/gi, `$1:${REDACTED}@`)
    .replace(/([?&](?:access_token|token|auth|password|key)=)[^&\s"']+/gi, `$1${REDACTED}`)
    .replace(/(Bearer\s+)[^\s"',]+/gi, `$1${REDACTED}`);
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVEL_NAMES: Readonly<Record<number, string>> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const LEVEL_COLORS: Readonly<Record<number, string>> = { 10: '90', 20: '36', 30: '32', 40: '33', 50: '31', 60: '35' };
/** Fields every line has, shown in the line's head rather than as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'name']);

/**
 * One pino JSON line as a human-readable line: local time, level, message,
 * then the other fields as key=value (strings quoted when they contain
 * spaces, objects as JSON; an error as its message). Input that is not a pino
 * JSON object is passed through unchanged.
 */
export function prettyLine(jsonLine: string, color = false): string {
  let rec: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(jsonLine);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return jsonLine;
    rec = parsed as Record<string, unknown>;
  } catch {
    return jsonLine;
  }
  const level = typeof rec.level === 'number' ? rec.level : 30;
  const time = typeof rec.time === 'number' ? new Date(rec.time) : new Date();
  const clock = `${pad(time.getHours())}:${pad(time.getMinutes())}:${pad(time.getSeconds())}.${String(time.getMilliseconds()).padStart(3, '0')}`;
  const label = (LEVEL_NAMES[level] ?? String(level)).padEnd(5);
  const shownLabel = color ? `\u001b[${LEVEL_COLORS[level] ?? '0'}m${label}\u001b[0m` : label;
  const fields = Object.entries(rec)
    .filter(([k]) => !HEAD_FIELDS.has(k))
    .map(([k, v]) => `${k}=${fieldText(v)}`);
  const msg = typeof rec.msg === 'string' ? rec.msg : '';
  return `${clock} ${shownLabel} ${msg}${fields.length ? ` ${fields.join(' ')}` : ''}\n`;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function fieldText(v: unknown): string {
  if (typeof v === 'string') return /[\s"=]/.test(v) || v === '' ? JSON.stringify(v) : v;
  if (typeof v === 'object' && v !== null && !Array.isArray(v) && typeof (v as { message?: unknown }).message === 'string') {
    return JSON.stringify((v as { message: string }).message);
  }
  return JSON.stringify(v) ?? String(v);
}
