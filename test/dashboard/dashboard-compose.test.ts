/**
 * The deployment files: Debian's docker-compose validates the committed
 * docker-compose.yml (CI installs it), and the resolved file has what the
 * README promises: Redis with the append-only file, Mosquitto, a relay,
 * roomcast and scalable workers sharing one data volume, health checks, the
 * dashboard on this machine only. The Dockerfile is multi-stage and runs
 * as a user, with its data in a volume. (No image is built here: CI has no
 * Docker daemon.)
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;

interface Service {
  command?: string[];
  healthcheck?: { test: string[] };
  volumes?: Array<{ source: string; target: string } | string>;
  ports?: Array<{ host_ip?: string; published?: string | number; target: number } | string>;
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
}

describe('deployment files', () => {
  it('docker-compose.yml is valid for docker-compose and has every service the README names', async () => {
    const { stdout } = await run('docker-compose', ['-f', 'docker-compose.yml', 'config'], { cwd: root, env: { ...process.env, ROOMCAST_HTTP_TOKEN: 'compose-check-token-123456' } });
    const config = parse(stdout) as { services: Record<string, Service>; volumes: Record<string, unknown> };
    expect(Object.keys(config.services).sort()).toEqual(['mosquitto', 'redis', 'relay', 'roomcast', 'worker']);
    const { redis, roomcast, worker, relay, mosquitto } = config.services as Record<string, Service>;
    expect(redis!.command).toEqual(['redis-server', '--appendonly', 'yes']);
    for (const s of [redis, mosquitto, relay]) expect(s!.healthcheck?.test.length).toBeGreaterThan(0);
    expect(roomcast!.command).toEqual(['start']);
    expect(worker!.command).toEqual(['worker']);
    expect(relay!.command).toEqual(['relay', '--host', '0.0.0.0', '--port', '7777']);
    const dataOf = (s: Service) => (s.volumes ?? []).map((v) => (typeof v === 'string' ? v : `${v.source}:${v.target}`));
    expect(dataOf(roomcast!)).toEqual([expect.stringMatching(/^roomcast-data:\/data(:rw)?$/)]);
    expect(dataOf(worker!)).toEqual([expect.stringMatching(/^roomcast-data:\/data(:rw)?$/)]);
    expect(roomcast!.environment).toMatchObject({ REDIS_URL: 'redis://redis:6379', ROOMCAST_HTTP_TOKEN: 'compose-check-token-123456' });
    expect(JSON.stringify(roomcast!.ports)).toContain('127.0.0.1');
    expect(roomcast!.depends_on?.redis?.condition).toBe('service_healthy');
    expect(Object.keys(config.volumes).sort()).toEqual(['redis-data', 'roomcast-data']);
    // The bundled broker runs our configuration, with Nagle's algorithm off.
    const brokerConf = dataOf(mosquitto!).find((v) => /config\/mosquitto\.conf:\/mosquitto\/config\/roomcast\.conf(:ro)?$/.test(v));
    expect(mosquitto!.command).toEqual(['mosquitto', '-c', '/mosquitto/config/roomcast.conf']);
    expect(brokerConf).toBeDefined();
    expect(await readFile(`${root}config/mosquitto.conf`, 'utf8')).toMatch(/^set_tcp_nodelay true$/m);
  });

  it('the Dockerfile builds in two stages and runs as the node user with /data as a volume', async () => {
    const text = await readFile(`${root}Dockerfile`, 'utf8');
    expect(text.match(/^FROM /gm)).toHaveLength(2);
    expect(text).toMatch(/^RUN npm ci --omit=dev/m);
    expect(text).toMatch(/^USER node$/m);
    expect(text).toMatch(/^VOLUME \["\/data"\]$/m);
    expect(text).toMatch(/^HEALTHCHECK /m);
  });
});
