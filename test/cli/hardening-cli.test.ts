/**
 * The CLI's exit statuses and error lines, as a person (or a script) meets
 * them: usage errors exit 2, known operational failures print one line that
 * says what to do (exit 1), `start` says that it bridges no rooms, and the
 * README's exit-status table and CLI reference are what the CLI does.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sealIdentity, sealingKey } from '../../src/bridge/room-keys.js';
import { EXIT_STATUS_TABLE } from '../../src/cli/exit-codes.js';
import { buildProgram } from '../../src/cli/main.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { acquireLock } from '../../src/queue/lock-file.js';
import { openStore } from '../../src/store/index.js';
import { freePort } from '../support/nostr-relay.js';
import { roomcast, start, stopAll } from './cli-process.js';

const README = new URL('../../README.md', import.meta.url).pathname;

let cwd: string;
/** An MQTT URL nothing listens on: commands start (and retry in the background) without a broker. */
let deadBroker: string;
beforeAll(async () => {
  cwd = await mkdtemp(join(tmpdir(), 'rc-cli-h-'));
  deadBroker = `mqtt://127.0.0.1:${await freePort()}`;
  expect((await roomcast(['identity', 'new', '--out', 'me.json'], cwd)).code).toBe(0);
});
afterEach(async () => {
  await stopAll();
});

/** One line on stderr, "roomcast: …". */
function oneLine(stderr: string): string {
  const lines = stderr.trimEnd().split('\n');
  expect(lines, stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^roomcast: /);
  return lines[0]!;
}

describe('usage errors exit 2', () => {
  it('no command: the help on stderr, exit 2', async () => {
    const r = await roomcast([], cwd);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: roomcast /);
  });

  const cases: Array<[string, string[], RegExp]> = [
    ['an unknown command', ['sned'], /^roomcast: unknown command 'sned'/],
    ['an unknown flag', ['identity', 'show', 'me.json', '--bogus'], /^roomcast: unknown option '--bogus'/],
    ['a missing argument', ['identity', 'show'], /^roomcast: missing required argument 'file'/],
    ['a missing required option', ['listen'], /^roomcast: required option '--identity <file>' not specified/],
    ['a bad option value', ['listen', '--identity', 'me.json', '--count', '0'], /^roomcast: --count must be a positive whole number/],
    ['a subcommand group alone', ['identity'], /Usage: roomcast identity/],
  ];
  for (const [what, args, pattern] of cases) {
    it(`${what}`, async () => {
      const r = await roomcast(args, cwd);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/unexpected error|at .*\.ts:\d+/);
    });
  }

  it('help and version exit 0', async () => {
    for (const args of [['--help'], ['help'], ['send', '--help'], ['--version']]) expect((await roomcast(args, cwd)).code, args.join(' ')).toBe(0);
  });

  it('a bad setting exits 2 naming where it came from', async () => {
    const r = await roomcast(['listen', '--identity', 'me.json', '--data-dir', 'd'], cwd, { ROOMCAST_NOSTR_RELAYS: '' });
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/ROOMCAST_NOSTR_RELAYS is set but names no relay/);
  });
});

describe('known operational errors: one line that says what to do', () => {
  let busy: Server | undefined;
  afterAll(() => busy?.close());

  it('a port in use suggests --port (exit 1)', async () => {
    busy = createServer();
    const port = await new Promise<number>((resolve) => busy!.listen(0, '127.0.0.1', () => resolve((busy!.address() as { port: number }).port)));
    const r = await roomcast(['relay', '--port', String(port)], cwd);
    expect(r.code).toBe(1);
    expect(oneLine(r.stderr)).toBe(`roomcast: port ${port} on 127.0.0.1 is already in use (another relay?): choose a free one with --port`);
  });

  it('a bad store URL is a configuration error (exit 2) naming the variable; a store that cannot open exits 1', async () => {
    const bad = await roomcast(['listen', '--identity', 'me.json', '--data-dir', 'd', '--mqtt', deadBroker], cwd, { ROOMCAST_STORE_URL: 'postgres://u:pw@h/db' });
    expect(bad.code).toBe(2);
    expect(oneLine(bad.stderr)).toMatch(/store\.url \(environment variable ROOMCAST_STORE_URL\): has scheme "postgres:"/);
    expect(bad.stderr).not.toContain('pw@');
    const missing = await roomcast(['listen', '--identity', 'me.json', '--data-dir', 'd', '--mqtt', deadBroker], cwd, { ROOMCAST_STORE_URL: `file:${join(cwd, 'no', 'such', 'dir', 'x.db')}` });
    expect(missing.code).toBe(1);
    expect(oneLine(missing.stderr)).toMatch(/^roomcast: cannot open the store at file:.*x\.db: .*\(check store\.url \/ ROOMCAST_STORE_URL/);
  });

  it('an embedded queue held by another process: stop it or set REDIS_URL (exit 1)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-lock-'));
    const lock = acquireLock(join(dataDir, 'queue.lock'), 'the embedded job queue (test)');
    try {
      const r = await roomcast(['start', '--data-dir', dataDir, '--mqtt', deadBroker], cwd);
      expect(r.code).toBe(1);
      const line = oneLine(r.stderr.split('\n').filter((l) => !l.startsWith('{')).join('\n'));
      expect(line).toMatch(new RegExp(`^roomcast: the embedded job queue in .* is already open in process ${process.pid} .*stop that process, or set REDIS_URL`));
    } finally {
      lock.release();
    }
  });

  it('a key file open to other users is warned about', async () => {
    expect((await roomcast(['identity', 'new', '--out', 'open.json'], cwd)).code).toBe(0);
    await chmod(join(cwd, 'open.json'), 0o644);
    const r = await roomcast(['identity', 'show', 'open.json', '--magnet'], cwd);
    expect(r.code).toBe(0);
    expect(oneLine(r.stderr)).toMatch(/^roomcast: warning: identity file open\.json is open to all users \(mode 0644\).*chmod 600 open\.json$/);
  });
});

describe('roomcast start', () => {
  it('says that no rooms are bridged and why, logs JSON when stderr is not a terminal, and stops on SIGTERM', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-start-'));
    const s = start(['start', '--data-dir', dataDir, '--mqtt', deadBroker], cwd);
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    expect(s.stdout()).toMatch(/^roomcast started\. Service identity: magnet:\?xt=urn%3Aidentity%3Av1&/);
    expect(s.stdout()).toContain('No rooms are bridged: no chat platform is configured (the `platforms` section of the config).');
    expect(s.stdout()).toContain('To bridge Matrix rooms, set ROOMCAST_MATRIX_HOMESERVER_URL and ROOMCAST_MATRIX_ACCESS_TOKEN');
    expect(s.stdout()).not.toMatch(/is running/);
    expect(await s.stop(), s.stderr()).toBe(0);
    const logs = s.stderr().trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(logs.some((l) => l.level === 40 && l.msg === 'no chat platform configured: no rooms are bridged')).toBe(true);
  });

  it('builds the platforms the config enables (src/platforms/registry.ts) and says so', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-platform-'));
    const configFile = join(dataDir, 'roomcast.yaml');
    await writeFile(configFile, 'platforms:\n  memory:\n    enabled: true\n    id: lab\n');
    const s = start(['start', '--data-dir', dataDir, '--mqtt', deadBroker], cwd, { ROOMCAST_CONFIG: configFile });
    await s.until((o) => o.includes('Press Ctrl-C to stop.'), 'the start message', 60_000);
    expect(s.stdout()).toContain('Rooms bridged on: lab');
    expect(s.stdout()).not.toContain('No rooms are bridged');
    expect(await s.stop(), s.stderr()).toBe(0);
    const logs = s.stderr().trim().split('\n').map((l) => JSON.parse(l) as { msg: string; platforms?: number });
    expect(logs.find((l) => l.msg === 'roomcast started')?.platforms).toBe(1);
  });

  it('pretty logs on request', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-pretty-'));
    const s = start(['listen', '--identity', 'me.json', '--data-dir', dataDir, '--mqtt', deadBroker, '--log-format', 'pretty'], cwd);
    await s.until((o) => o.includes('Listening as'), 'the listener');
    expect(await s.stop()).toBe(0);
    expect(s.stderr()).toMatch(/^\d{2}:\d{2}:\d{2}\.\d{3} WARN  mqtt broker unreachable; retrying in the background endpoint=mqtt:\/\/127\.0\.0\.1:\d+/m);
  });

  it('refuses to create a service identity over rooms sealed with another (exit 2), writing nothing', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'rc-cli-rooms-'));
    const store = await openStore({ url: `file:${join(dataDir, 'roomcast.db')}` });
    const room = generateIdentity();
    await store.rooms.createRoom({ platform: 'memory', roomId: 'r', owner: room.xOnly, sealedKey: sealIdentity(room, sealingKey(generateIdentity())) });
    await store.close();
    const r = await roomcast(['start', '--data-dir', dataDir, '--mqtt', deadBroker], cwd);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/identity\.json: does not exist, but the store .* holds 1 bridged room .* none is created/);
    expect(existsSync(join(dataDir, 'identity.json'))).toBe(false);
  });
});

describe('the README says what the CLI does', () => {
  it('its exit-status table is the one in exit-codes.ts', async () => {
    const readme = await readFile(README, 'utf8');
    const table = readme.split('<!-- exit-status:start -->')[1]?.split('<!-- exit-status:end -->')[0];
    expect(table, 'README exit-status markers').toBeDefined();
    const rows = table!
      .trim()
      .split('\n')
      .slice(2)
      .map((l) => l.split('|').slice(1, -1).map((c) => c.trim()));
    expect(rows).toEqual(EXIT_STATUS_TABLE.map(([code, meaning]) => [String(code), meaning]));
  });

  it('its CLI reference names every command and every option', async () => {
    const readme = await readFile(README, 'utf8');
    const reference = readme.split('## CLI reference')[1]?.split('\n## ')[0] ?? '';
    const walk = (cmd: ReturnType<typeof buildProgram>, path: string[]): void => {
      for (const sub of cmd.commands) {
        const name = [...path, sub.name()];
        expect(reference, name.join(' ')).toContain(`roomcast ${name.join(' ')}`);
        for (const opt of sub.options) if (opt.long && opt.long !== '--help') expect(reference, `${name.join(' ')} ${opt.long}`).toContain(opt.long);
        walk(sub, name);
      }
    };
    walk(buildProgram(), []);
  });
});
