/**
 * Runs the README's "Try it in two terminals" commands as written (the blocks
 * between the two-terminals markers), each block in its own shell, like a
 * person with three terminals. Only the two ports are changed, to free ones
 * (the README's 7777 and 1883 may be taken by anything on a shared machine):
 * the test asserts the README blocks hold exactly those addresses and that the
 * substituted text is the README's otherwise. `npx roomcast` is pointed at
 * this checkout's bin by a shim on PATH, so nothing is fetched.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startMosquitto } from '../support/mosquitto.js';
import type { TestBroker } from '../support/mosquitto.js';
import { freePort } from '../support/nostr-relay.js';
import { waitFor } from '../support/wait.js';
import { cleanEnv } from './cli-process.js';

const ROOT = new URL('../..', import.meta.url).pathname;
/** The addresses the README uses, and nothing else in the blocks may name those ports. */
const README_RELAY_PORT = '7777';
const README_BROKER = 'mqtt://127.0.0.1:1883';

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
let broker: TestBroker | undefined;
afterAll(async () => {
  for (const s of shells) if (s.child.exitCode === null && s.child.pid) process.kill(-s.child.pid, 'SIGTERM');
  await Promise.all(shells.map((s) => s.exited));
  await broker?.stop();
});

function shell(script: string, cwd: string, path: string): Shell {
  const child = spawn('bash', ['-e', '-c', script], { cwd, env: cleanEnv({ PATH: path }), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const s = { child, output: () => out, exited: new Promise<number | null>((r) => child.once('exit', (code) => r(code))) };
  shells.push(s);
  return s;
}

describe('README: try it in two terminals', () => {
  it('send in one terminal reaches listen in another, with delivery report and acks', async () => {
    const blocks = await readmeBlocks();
    expect(blocks).toHaveLength(3);
    // The README's own addresses, so the substitution below changes exactly them.
    expect(blocks[0]).toContain(`--port ${README_RELAY_PORT}`);
    for (const b of blocks.slice(1)) {
      expect(b).toContain(`ws://127.0.0.1:${README_RELAY_PORT}`);
      expect(b).toContain(README_BROKER);
    }
    broker = await startMosquitto();
    let relayPort = String(await freePort());
    while (relayPort === README_RELAY_PORT) relayPort = String(await freePort()); // so the substitution is visible
    const onFreePorts = (b: string) =>
      b
        .replaceAll(`--port ${README_RELAY_PORT}`, `--port ${relayPort}`)
        .replaceAll(`ws://127.0.0.1:${README_RELAY_PORT}`, `ws://127.0.0.1:${relayPort}`)
        .replaceAll(README_BROKER, broker!.url);
    const scripts = blocks.map(onFreePorts);
    for (const [i, s] of scripts.entries()) {
      expect(s).not.toMatch(/\b(7777|1883)\b/);
      // Nothing but the addresses changed.
      expect(s.replaceAll(relayPort, README_RELAY_PORT).replaceAll(broker.url, README_BROKER)).toBe(blocks[i]);
    }

    const cwd = await mkdtemp(join(tmpdir(), 'rc-readme-'));
    const shim = join(cwd, 'npx');
    await writeFile(shim, `#!/bin/sh\n[ "$1" = roomcast ] || { echo "unexpected npx $1" >&2; exit 99; }\nshift\nexec "${process.execPath}" "${join(ROOT, 'bin/roomcast.js')}" "$@"\n`);
    await chmod(shim, 0o755);
    const path = `${cwd}:${process.env.PATH}`;

    const relay = shell(scripts[0]!, cwd, path);
    await waitFor(() => portOpen(Number(relayPort)), `the local relay on :${relayPort}`, 30_000);
    expect(relay.child.exitCode, relay.output()).toBeNull();
    const bob = shell(scripts[1]!, cwd, path);
    await waitFor(() => bob.output().includes('Listening as'), 'Bob to listen', 30_000);
    const alice = shell(scripts[2]!, cwd, path);
    const code = await alice.exited;
    const aliceOut = alice.output();
    expect(code, aliceOut).toBe(0);
    expect(aliceOut).toMatch(/Delivery status: ✓ nostr \(1\/1 relays\) \d+ms · ✓ MQTT \(1\/1 brokers\) \d+ms/);
    expect(aliceOut).toMatch(/✓ Acknowledged via (MQTT|nostr) \(\+\d+ms\)/);
    await waitFor(() => bob.output().includes('First received via:'), 'Bob to show the message', 10_000);
    expect(bob.output().split('Hi Bob!').length - 1).toBe(1);
    // The demo's key files and data dirs go to the scratch folder (ignored by git), not beside the code.
    for (const f of ['demo/bob.json', 'demo/alice.json', 'demo/bob-data', 'demo/alice-data']) await expect(stat(join(cwd, f))).resolves.toBeTruthy();

    expect(relay.child.exitCode, relay.output()).toBeNull();
    for (const s of [bob, relay]) process.kill(-s.child.pid!, 'SIGTERM');
    await Promise.all([bob.exited, relay.exited]);
  });
});
