/**
 * Identifiers and stream tokens. Shapes follow Synapse 1.67 closely enough to
 * look familiar in logs; clients must treat all of them as opaque.
 */
import { randomBytes, randomInt } from 'node:crypto';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

export function randomLetters(n: number, alphabet = LETTERS): string {
  let s = '';
  for (let i = 0; i < n; i++) s += alphabet[randomInt(alphabet.length)];
  return s;
}

/** Room versions >= 4 use a url-safe base64 reference hash (43 chars) with no server part. */
export function newEventId(): string {
  return `$${randomBytes(32).toString('base64url')}`;
}

export function newRoomId(serverName: string): string {
  return `!${randomLetters(18)}:${serverName}`;
}

export function newDeviceId(): string {
  return randomLetters(10, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ');
}

/** Synapse's `syt_<base64 localpart>_<random>_<check>` access token shape. */
export function newAccessToken(localpart: string): string {
  return `syt_${Buffer.from(localpart).toString('base64url')}_${randomLetters(20)}_${randomLetters(6)}`;
}

export function newMediaId(): string {
  return randomLetters(24);
}

/**
 * Stream tokens. `s<N>` means "everything up to and including global stream
 * position N has been seen". /sync's next_batch and prev_batch and /messages'
 * start/end all use this one format.
 */
export function streamToken(pos: number): string {
  return `s${pos}`;
}

/** The position inside a stream token, or undefined if it is not one of ours. */
export function parseStreamToken(token: string): number | undefined {
  const m = /^s(\d{1,15})$/.exec(token);
  return m ? Number(m[1]) : undefined;
}
