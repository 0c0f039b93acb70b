/**
 * Runs the README's "Try it in two terminals" commands exactly as written
 * (the blocks between the two-terminals markers), each block in its own
 * shell, like a person with three terminals. `npx roomcast` is pointed at this
 * checkout's bin by a shim on PATH, so nothing is fetched.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';

const ROOT = new URL('../..', import.meta.url).pathname;

async function readmeBlocks(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const section = readme.split('<!-- two-terminals:start -->')[1]?.split('<!-- two-terminals:end -->')[0];
  if (!section) throw new Error('README has no two-terminals section');
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

interface Shell {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

const shells: Shell[] = [];
afterAll(() => {
  for (const s of shells) if (s.child.exitCode === null && s.child.pid) process.kill(-s.child.pid, 'SIGTERM');
});

function shell(script: string, cwd: string, path: string): Shell {
  const child = spawn('bash', ['-e', '-c', script], { cwd, env: { ...process.env, PATH: path }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const s = { child, output: () => out, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
  shells.push(s);
  return s;
}

describe('README: try it in two terminals', () => {
  it('send in one terminal reaches listen in another, with delivery report and acks', async () => {
    expect(await portOpen(1883), 'the README uses the Mosquitto broker on 127.0.0.1:1883; start it (.ci/run does)').toBe(true);
    const blocks = await readmeBlocks();
    expect(blocks).toHaveLength(3);
    const cwd = await mkdtemp(join(tmpdir(), 'rc-readme-'));
    const shim = join(cwd, 'npx');
    await writeFile(shim, `#!/bin/sh\n[ "$1" = roomcast ] || { echo "unexpected npx $1" >&2; exit 99; }\nshift\nexec "${process.execPath}" "${join(ROOT, 'bin/roomcast.js')}" "$@"\n`);
    await chmod(shim, 0o755);
    const path = `${cwd}:${process.env.PATH}`;

    expect(await portOpen(7777), 'port 7777 (the README relay) must be free').toBe(false);
    const relay = shell(blocks[0]!, cwd, path);
    await waitFor(() => portOpen(7777), 'the local relay on :7777', 30_000);
    expect(relay.child.exitCode, relay.output()).toBeNull();
    const bob = shell(blocks[1]!, cwd, path);
    await waitFor(() => bob.output().includes('Listening as'), 'Bob to listen', 30_000);
    const alice = shell(blocks[2]!, cwd, path);
    const code = await alice.exited;
    const aliceOut = alice.output();
    expect(code, aliceOut).toBe(0);
    expect(aliceOut).toMatch(/Delivery status: ✓ nostr \(1\/1 relays\) \d+ms · ✓ MQTT \(1\/1 brokers\) \d+ms/);
    expect(aliceOut).toMatch(/✓ Acknowledged via (MQTT|nostr) \(\+\d+ms\)/);
    await waitFor(() => bob.output().includes('First received via:'), 'Bob to show the message', 10_000);
    expect(bob.output().split('Hi Bob!').length - 1).toBe(1);

    expect(relay.child.exitCode, relay.output()).toBeNull();
    for (const s of [bob, relay]) process.kill(-s.child.pid!, 'SIGTERM');
    await Promise.all([bob.exited, relay.exited]);
  });
});
