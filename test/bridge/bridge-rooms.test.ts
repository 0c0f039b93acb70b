import { describe, expect, it } from 'vitest';
import { RoomDirectory } from '../../src/bridge/room-directory.js';
import { SealError, sealIdentity, sealingKey, unsealIdentity } from '../../src/bridge/room-keys.js';
import { generateIdentity } from '../../src/identity/keys.js';
import { openStore } from '../../src/store/index.js';

describe('room keys', () => {
  it('seal and unseal a room identity with the service key', () => {
    const service = generateIdentity();
    const room = generateIdentity();
    const sealed = sealIdentity(room, sealingKey(service));
    expect(sealed).not.toContain(Buffer.from(room.secp256k1PrivateKey).toString('hex'));
    const back = unsealIdentity(sealed, sealingKey(service), room.xOnly);
    expect(back.secp256k1PublicKey).toBe(room.secp256k1PublicKey);
    expect(back.ed25519PublicKey).toBe(room.ed25519PublicKey);
  });

  it('refuses another service key, another room row, and altered blobs', () => {
    const service = generateIdentity();
    const room = generateIdentity();
    const sealed = sealIdentity(room, sealingKey(service));
    expect(() => unsealIdentity(sealed, sealingKey(generateIdentity()), room.xOnly)).toThrow(SealError);
    expect(() => unsealIdentity(sealed, sealingKey(service), generateIdentity().xOnly)).toThrow(SealError);
    const flipped = sealed.slice(0, -1) + (sealed.endsWith('0') ? '1' : '0');
    expect(() => unsealIdentity(flipped, sealingKey(service), room.xOnly)).toThrow(SealError);
    expect(() => unsealIdentity('v2:abc', sealingKey(service), room.xOnly)).toThrow(/unknown format/);
  });
});

describe('room directory', () => {
  it('creates one identity per platform + room, the same for every process of the deployment', async () => {
    const store = await openStore({ url: ':memory:' });
    const service = generateIdentity();
    const a = new RoomDirectory(store.rooms, service);
    const b = new RoomDirectory(store.rooms, service);
    const [r1, r2] = await Promise.all([a.room('matrix', '!x'), b.room('matrix', '!x')]);
    expect(r1.identity.xOnly).toBe(r2.identity.xOnly);
    const other = await a.room('discord', '!x');
    expect(other.identity.xOnly).not.toBe(r1.identity.xOnly);
    expect((await store.rooms.getRoomByOwner(other.identity.xOnly))?.platform).toBe('discord');
    expect((await new RoomDirectory(store.rooms, service).all()).map((r) => r.roomId)).toEqual(['!x', '!x']);
    await expect(new RoomDirectory(store.rooms, generateIdentity()).room('matrix', '!x')).rejects.toThrow(SealError);
    await store.close();
  });
});
