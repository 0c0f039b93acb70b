/**
 * Snowflake ids shaped like Discord's: `(ms since 2015-01-01) << 22 | counter`,
 * as decimal strings. They are strictly increasing within one process, so
 * comparing two ids (as BigInt) orders objects by creation, which the message
 * history routes (`before`/`after`) rely on.
 */
const DISCORD_EPOCH = 1420070400000n;
let lastMs = 0n;
let counter = 0n;

export function snowflake(now = Date.now()): string {
  let ms = BigInt(now) - DISCORD_EPOCH;
  if (ms <= lastMs) ms = lastMs; // clock steps back or same millisecond: keep order with the counter
  if (ms === lastMs) {
    counter++;
    if (counter >= 1n << 22n) {
      ms++;
      counter = 0n;
    }
  } else {
    counter = 0n;
  }
  lastMs = ms;
  return ((ms << 22n) | counter).toString();
}

/** The creation time encoded in a snowflake, as an ISO string. */
export function snowflakeTime(id: string): string {
  return new Date(Number((BigInt(id) >> 22n) + DISCORD_EPOCH)).toISOString();
}

/** Orders two snowflakes: negative when `a` is older than `b`. */
export function compareSnowflakes(a: string, b: string): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
