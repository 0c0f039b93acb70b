/**
 * Structured logging (pino). Secrets never reach a log line: keys, tokens and
 * passwords are redacted by path, and URLs are logged through redactUrl.
 */
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

const REDACT = [
  '*.privateKey',
  '*.secp256k1PrivateKey',
  '*.ed25519PrivateKey',
  '*.password',
  '*.token',
  '*.authToken',
  'identity.secp256k1PrivateKey',
  'identity.ed25519PrivateKey',
];

/** A logger writing JSON lines to stderr (stdout belongs to CLI output). */
export function createLogger(level: LogLevel = 'info', name = 'roomcast'): Logger {
  return pino({ name, level, redact: { paths: REDACT, censor: '[redacted]' } }, pino.destination(2));
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
