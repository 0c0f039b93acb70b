/**
 * Identity safety: a key file open to other users is warned about (and still
 * loaded); the service never creates a new identity over a store whose rooms
 * were sealed with another one, and refuses a key file that cannot unseal
 * them.
 */
import { chmod, mkdtemp } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sealIdentity, sealingKey } from '../../src/bridge/room-keys.js';
import { loadConfig } from '../../src/config/load.js';
import { generateIdentity } from '../../src/identity/keys.js';
import type { Identity } from '../../src/identity/keys.js';
import { KeyFileError, keyFilePermissionWarning, loadIdentity, saveIdentity } from '../../src/identity/key-file.js';
import { openNode } from '../../src/node.js';
import { silentLogger } from '../../src/observability/logger.js';
import { openStore } from '../../src/store/index.js';

async function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'rc-id-h-'));
}

describe('key file permissions', () => {
  it('warns (once, without key material) when group or others can read the file, and still loads it', async () => {
    const dir = await tmp();
    const path = join(dir, 'me.json');
    const id = generateIdentity();
    await saveIdentity(path, id);
    const warnings: string[] = [];
    await loadIdentity(path, { onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([]);

    await chmod(path, 0o644);
    const loaded = await loadIdentity(path, { onWarning: (m) => warnings.push(m) });
    expect(loaded.ethAddress).toBe(id.ethAddress);
    expect(warnings).toEqual([`identity file ${path} is open to all users (mode 0644); anyone who reads it can act as this identity: run chmod 600 ${path}`]);
    expect(warnings[0]).not.toContain(Buffer.from(id.secp256k1PrivateKey).toString('hex'));

    await chmod(path, 0o640);
    expect(await keyFilePermissionWarning(path)).toMatch(/open to its group \(mode 0640\)/);
  });
});

/** A data dir whose store holds one room sealed with `sealer`'s key. */
async function storeWithRoom(sealer: Identity): Promise<string> {
  const dir = await tmp();
  const store = await openStore({ url: `file:${join(dir, 'roomcast.db')}` });
  try {
    const room = generateIdentity();
    await store.rooms.createRoom({ platform: 'memory', roomId: 'room-1', owner: room.xOnly, sealedKey: sealIdentity(room, sealingKey(sealer)) });
  } finally {
    await store.close();
  }
  return dir;
}

function serviceConfig(dir: string) {
  return loadConfig({}, { dataDir: dir, mqttBrokers: ['mqtt://127.0.0.1:1'] }, dir);
}

describe('service identity', () => {
  it('is created on first start when the store holds no rooms', async () => {
    const dir = await tmp();
    const node = await openNode(serviceConfig(dir), { createIdentity: true, log: silentLogger() });
    await node.close();
    expect(existsSync(join(dir, 'identity.json'))).toBe(true);
  });

  it('is not created over rooms sealed with another identity: refused, explained, nothing written', async () => {
    const dir = await storeWithRoom(generateIdentity());
    const err = await openNode(serviceConfig(dir), { createIdentity: true, log: silentLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyFileError);
    expect((err as Error).message).toMatch(/identity\.json: does not exist, but the store \(file:.*roomcast\.db\) holds 1 bridged room whose keys were sealed/);
    expect((err as Error).message).toMatch(/none is created.*Restore the key file/);
    expect(existsSync(join(dir, 'identity.json'))).toBe(false);
  });

  it('an existing key file that cannot unseal the rooms is refused; the right one opens', async () => {
    const service = generateIdentity();
    const dir = await storeWithRoom(service);
    await saveIdentity(join(dir, 'identity.json'), generateIdentity());
    const err = await openNode(serviceConfig(dir), { createIdentity: true, log: silentLogger() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KeyFileError);
    expect((err as Error).message).toMatch(/is not the service identity the store .* holds 1 bridged room were sealed with/);

    await saveIdentity(join(dir, 'identity.json'), service, true);
    const node = await openNode(serviceConfig(dir), { createIdentity: true, log: silentLogger() });
    expect(node.identity.xOnly).toBe(service.xOnly);
    await node.close();
  });
});
