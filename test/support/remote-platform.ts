/**
 * The in-memory platform across processes: the test process serves its
 * MemoryPlatform over HTTP, and worker child processes write to it through
 * RemotePlatform, the way real workers write to Matrix or Discord from any
 * machine. Writes only: events stay with the process that owns the platform.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { platformId, platformMessageId, RateLimitedError } from '../../src/platforms/platform.js';
import type { Platform, PlatformCapabilities, PlatformId, PlatformMessageId, RoomPost, RoomRef } from '../../src/platforms/platform.js';
import type { MemoryPlatform } from '../../src/platforms/memory/memory-platform.js';

interface Call {
  op: 'post' | 'react' | 'edit';
  room: RoomRef;
  target?: string;
  emoji?: string;
  msg?: RoomPost;
}

export async function servePlatform(p: MemoryPlatform): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      void (async () => {
        try {
          if (req.url === '/capabilities') {
            res.end(JSON.stringify({ id: p.id, capabilities: p.capabilities }));
            return;
          }
          const c = JSON.parse(body) as Call;
          const room = { platform: platformId(c.room.platform), roomId: c.room.roomId };
          if (c.op === 'post') res.end(JSON.stringify({ id: await p.post(room, c.msg!) }));
          else if (c.op === 'react') res.end(JSON.stringify({ ok: await p.react!(room, platformMessageId(c.target!), c.emoji!) }));
          else res.end(JSON.stringify({ ok: await p.edit!(room, platformMessageId(c.target!), c.msg!) }));
        } catch (err) {
          res.statusCode = err instanceof RateLimitedError ? 429 : 400;
          res.end(JSON.stringify({ error: (err as Error).message, retryAfterMs: err instanceof RateLimitedError ? err.retryAfterMs : undefined }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export class RemotePlatform implements Platform {
  readonly react: (room: RoomRef, target: PlatformMessageId, emoji: string) => Promise<void>;
  readonly edit: (room: RoomRef, target: PlatformMessageId, msg: RoomPost) => Promise<void>;

  private constructor(
    private readonly url: string,
    readonly id: PlatformId,
    readonly capabilities: PlatformCapabilities,
  ) {
    this.react = async (room, target, emoji) => void (await this.call({ op: 'react', room, target, emoji }));
    this.edit = async (room, target, msg) => void (await this.call({ op: 'edit', room, target, msg }));
  }

  static async connect(url: string): Promise<RemotePlatform> {
    const r = (await (await fetch(`${url}/capabilities`)).json()) as { id: string; capabilities: PlatformCapabilities };
    return new RemotePlatform(url, platformId(r.id), r.capabilities);
  }

  async start(): Promise<void> {}

  async post(room: RoomRef, msg: RoomPost): Promise<PlatformMessageId> {
    const r = await this.call({ op: 'post', room, msg });
    return platformMessageId(r.id as string);
  }

  async stop(): Promise<void> {}

  private async call(c: Call): Promise<Record<string, unknown>> {
    const res = await fetch(`${this.url}/call`, { method: 'POST', body: JSON.stringify(c) });
    const body = (await res.json()) as Record<string, unknown>;
    if (res.status === 429) throw new RateLimitedError(Number(body.retryAfterMs ?? 100), c.room);
    if (res.status !== 200) throw new Error(`remote platform: ${String(body.error)}`);
    return body;
  }
}
