/** The auth token of a libsql server must never appear in an error from the store. */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { inspect } from 'node:util';
import { openStore } from '../../src/store/index.js';
import { REDACTED, redactError, secretsOf } from '../../src/store/redact.js';

const TOKEN = 'SECRET-TOKEN';
const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const address = s.address();
  await new Promise((r) => s.close(r));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Everything an operator could see of an error: message, stack, cause chain, own properties. */
function everything(err: unknown): string {
  return inspect(err, { depth: 10, showHidden: true });
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('auth tokens in errors', () => {
  it('a closed port: openStore rejects (at the first query) without the token', async () => {
    const port = await closedPort();
    const err = await failure(openStore({ url: `http://127.0.0.1:${port}`, authToken: TOKEN }));
    expect((err as Error).message).toMatch(/^cannot open the store at http:\/\/127\.0\.0\.1:\d+: /);
    expect(everything(err)).not.toContain(TOKEN);
  });

  it('a server that echoes the Authorization header into its error body: redacted', async () => {
    const port = await listen(
      createServer((req, res) => {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end(`invalid credentials: ${req.headers.authorization ?? ''}`);
      }),
    );
    const err = await failure(openStore({ url: `http://127.0.0.1:${port}`, authToken: TOKEN }));
    const text = everything(err);
    expect(text).not.toContain(TOKEN);
    expect((err as Error).message).toMatch(new RegExp(`^cannot open the store at http://127.0.0.1:${port}: .*Bearer \\[redacted\\]`));
    // the libsql error survives as the cause, redacted in place, with its code
    expect((err as Error).cause).toMatchObject({ code: 'SERVER_ERROR', message: expect.stringContaining(`Bearer ${REDACTED}`) });
  });

  it('a token given as ?authToken= in the URL is redacted too', async () => {
    const port = await listen(
      createServer((req, res) => {
        res.writeHead(401, { 'content-type': 'text/plain' });
        res.end(`invalid credentials: ${req.headers.authorization ?? ''}`);
      }),
    );
    const err = await failure(openStore({ url: `http://127.0.0.1:${port}/?authToken=URL-SECRET-TOKEN` }));
    expect(everything(err)).not.toContain('URL-SECRET-TOKEN');
  });
});

describe('redaction helpers', () => {
  it('collects the token from options, URL query and URL password, ignoring trivially short ones', () => {
    expect(secretsOf('libsql://db.example.org', 'abcdef').sort()).toEqual(['abcdef']);
    expect(secretsOf('libsql://db.example.org?authToken=tok%2Fen1', undefined).sort()).toEqual(['tok%2Fen1', 'tok/en1']);
    expect(secretsOf('http://user:hunter22@host:8080', undefined)).toEqual(['hunter22']);
    expect(secretsOf('file:/tmp/x.db', 'ab')).toEqual([]);
  });

  it('redacts message, stack, cause chain and aggregate members in place', () => {
    const inner = new Error(`inner ${TOKEN}`);
    const agg = new AggregateError([new Error(`agg ${TOKEN}`)], `outer ${TOKEN}`, { cause: inner });
    const out = redactError(agg, [TOKEN]);
    expect(out).toBe(agg);
    expect(everything(out)).not.toContain(TOKEN);
    expect(agg.message).toBe(`outer ${REDACTED}`);
    expect(redactError('plain SECRET-TOKEN', [TOKEN])).toEqual(new Error(`plain ${REDACTED}`));
  });
});
