/**
 * This process's open TCP connections, by remote port (Linux /proc): how
 * tests and the bench see how many sockets roomcast holds to its brokers and
 * relays, whatever else the process has open (Redis, pipes, in-process
 * servers' own ends).
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Socket inodes of this process's open file descriptors. */
function ownSocketInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/self/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/** Established TCP connections of this process whose remote port is one of `ports`. */
export function connectionsTo(ports: readonly number[]): number {
  const own = ownSocketInodes();
  const wanted = new Set(ports);
  let count = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10) continue;
      const remotePort = Number.parseInt(cols[2]!.split(':')[1]!, 16);
      const established = cols[3] === '01';
      if (established && wanted.has(remotePort) && own.has(cols[9]!)) count++;
    }
  }
  return count;
}
