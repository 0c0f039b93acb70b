/**
 * Identity: the fixed vectors in docs/identity-vectors.json, checked against
 * our code AND against an independent derivation path (Node's OpenSSL for the
 * curves, js-sha3 for keccak-256), so a bug shared by vectors and code would
 * still be caught.
 */
import { createECDH, createPrivateKey, createPublicKey } from 'node:crypto';
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hexToBytes } from '@noble/hashes/utils.js';
import jsSha3 from 'js-sha3';
import { nip19 } from 'nostr-tools';
import { describe, expect, it } from 'vitest';
import {
  decodeMagnet,
  encodeMagnet,
  generateIdentity,
  identityFromPrivateKeys,
  KeyFileError,
  loadIdentity,
  loadOrCreateIdentity,
  MagnetLinkError,
  npubOf,
  saveIdentity,
  toChecksumAddress,
} from '../../src/identity/index.js';

interface Vector {
  secp256k1PrivateKey: string;
  ed25519PrivateKey: string;
  secp256k1PublicKey: string;
  ed25519PublicKey: string;
  ethAddress: string;
  nostrPublicKey: string;
  npub: string;
  magnetLinkSeed: string;
  magnetLink: string;
}

const vectors: Vector[] = JSON.parse(await readFile(new URL('../../docs/identity-vectors.json', import.meta.url), 'utf8'));

/** secp256k1 public key via OpenSSL. */
function opensslSecpPublic(privHex: string): string {
  const ecdh = createECDH('secp256k1');
  ecdh.setPrivateKey(Buffer.from(privHex, 'hex'));
  return ecdh.getPublicKey('hex', 'uncompressed');
}

/** ed25519 public key via OpenSSL (PKCS#8 wrapping of the raw 32-byte seed). */
function opensslEd25519Public(seedHex: string): string {
  const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.from(seedHex, 'hex')]);
  const pub = createPublicKey(createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }));
  return Buffer.from(pub.export({ format: 'der', type: 'spki' })).subarray(-32).toString('hex');
}

/** EIP-55 address via js-sha3, written independently of src/identity. */
function jsSha3Address(uncompressedHex: string): string {
  const addr = jsSha3.keccak256(Buffer.from(uncompressedHex.slice(2), 'hex')).slice(-40);
  const h = jsSha3.keccak256(addr);
  return `0x${[...addr].map((c, i) => (parseInt(h[i]!, 16) >= 8 ? c.toUpperCase() : c)).join('')}`;
}

describe('identity vectors', () => {
  it('has the well-known values for private key 1 and the RFC 8032 seed', () => {
    expect(vectors[0]!.ethAddress).toBe('0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf');
    expect(vectors[0]!.secp256k1PublicKey.slice(2, 66)).toBe('79be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798');
    expect(vectors[0]!.ed25519PublicKey).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
  });

  for (const [i, v] of vectors.entries()) {
    it(`vector ${i}: our derivation matches the file`, () => {
      const id = identityFromPrivateKeys(hexToBytes(v.secp256k1PrivateKey), hexToBytes(v.ed25519PrivateKey));
      expect(id.secp256k1PublicKey).toBe(v.secp256k1PublicKey);
      expect(id.ed25519PublicKey).toBe(v.ed25519PublicKey);
      expect(id.ethAddress).toBe(v.ethAddress);
      expect(id.xOnly).toBe(v.nostrPublicKey);
      expect(npubOf(id)).toBe(v.npub);
      expect(encodeMagnet(id)).toBe(v.magnetLink);
      expect(encodeMagnet({ ...id, capabilities: [] })).toBe(v.magnetLinkSeed);
    });

    it(`vector ${i}: an independent derivation path agrees`, () => {
      expect(opensslSecpPublic(v.secp256k1PrivateKey)).toBe(v.secp256k1PublicKey);
      expect(opensslEd25519Public(v.ed25519PrivateKey)).toBe(v.ed25519PublicKey);
      expect(jsSha3Address(v.secp256k1PublicKey)).toBe(v.ethAddress);
      expect(nip19.decode(v.npub)).toEqual({ type: 'npub', data: v.secp256k1PublicKey.slice(2, 66) });
      const seedParams = new URLSearchParams(v.magnetLinkSeed.slice('magnet:?'.length));
      expect([...seedParams.keys()]).toEqual(['xt', 'secp256k1pub', 'ed25519pub', 'eth']);
      expect(v.magnetLinkSeed.startsWith('magnet:?xt=urn%3Aidentity%3Av1&secp256k1pub=04')).toBe(true);
    });
  }

  it('random identities agree with the independent path too', () => {
    for (let i = 0; i < 20; i++) {
      const id = generateIdentity();
      const priv = Buffer.from(id.secp256k1PrivateKey).toString('hex');
      expect(id.secp256k1PublicKey).toBe(opensslSecpPublic(priv));
      expect(id.ed25519PublicKey).toBe(opensslEd25519Public(Buffer.from(id.ed25519PrivateKey).toString('hex')));
      expect(id.ethAddress).toBe(jsSha3Address(id.secp256k1PublicKey));
    }
  });

  it('EIP-55 checksums match the EIP examples', () => {
    for (const a of ['0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed', '0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359', '0xdbF03B407c01E7cD3CBea99509d93f8DDDC8C6FB']) {
      expect(toChecksumAddress(a.toLowerCase())).toBe(a);
    }
  });
});

describe('magnet links', () => {
  const v = vectors[1]!;

  it('round-trips and keeps capabilities', () => {
    const id = decodeMagnet(v.magnetLink);
    expect(id.capabilities).toEqual(['mqtt-sig', 'mqtt-nip44', 'nip17']);
    expect(encodeMagnet(id)).toBe(v.magnetLink);
    expect(decodeMagnet(v.magnetLinkSeed).capabilities).toEqual([]);
  });

  it('accepts xt raw or percent-encoded, upper-case hex, lower-case eth and unknown parameters', () => {
    const raw = v.magnetLinkSeed.replace('urn%3Aidentity%3Av1', 'urn:identity:v1');
    expect(decodeMagnet(raw).secp256k1PublicKey).toBe(v.secp256k1PublicKey);
    const upper = v.magnetLinkSeed.replace(v.secp256k1PublicKey, v.secp256k1PublicKey.toUpperCase());
    expect(decodeMagnet(upper).secp256k1PublicKey).toBe(v.secp256k1PublicKey);
    expect(decodeMagnet(v.magnetLinkSeed.replace(v.ethAddress, v.ethAddress.toLowerCase())).ethAddress).toBe(v.ethAddress);
    expect(decodeMagnet(`${v.magnetLinkSeed}&dn=alice&caps=nip17,future-thing`).capabilities).toEqual(['nip17']);
  });

  const bad: Array<[string, string, string]> = [
    ['not a magnet', 'http://example.com/?xt=urn:identity:v1', 'link'],
    ['missing xt', v.magnetLinkSeed.replace('xt=urn%3Aidentity%3Av1&', ''), 'xt'],
    ['wrong xt', v.magnetLinkSeed.replace('urn%3Aidentity%3Av1', 'urn%3Abtih%3Aabc'), 'xt'],
    ['missing secp256k1pub', v.magnetLinkSeed.replace(/secp256k1pub=[0-9a-f]+&/, ''), 'secp256k1pub'],
    ['short secp256k1pub', v.magnetLinkSeed.replace(v.secp256k1PublicKey, v.secp256k1PublicKey.slice(0, 66)), 'secp256k1pub'],
    ['off-curve secp256k1pub', v.magnetLinkSeed.replace(v.secp256k1PublicKey, `04${'1'.repeat(128)}`), 'secp256k1pub'],
    ['missing ed25519pub', v.magnetLinkSeed.replace(/&ed25519pub=[0-9a-f]+/, ''), 'ed25519pub'],
    ['bad ed25519pub', v.magnetLinkSeed.replace(v.ed25519PublicKey, 'zz'), 'ed25519pub'],
    ['missing eth', v.magnetLinkSeed.replace(/&eth=0x[0-9a-fA-F]+/, ''), 'eth'],
    ['foreign eth', v.magnetLinkSeed.replace(v.ethAddress, vectors[0]!.ethAddress), 'eth'],
    ['bad checksum', v.magnetLinkSeed.replace(v.ethAddress, v.ethAddress.replace('E306', 'e306')), 'eth'],
    ['duplicate parameter', `${v.magnetLinkSeed}&eth=${v.ethAddress}`, 'eth'],
    ['too long', `${v.magnetLinkSeed}&x=${'a'.repeat(3000)}`, 'link'],
  ];
  for (const [what, link, param] of bad) {
    it(`rejects ${what}, naming ${param}`, () => {
      let caught: unknown;
      try {
        decodeMagnet(link);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(MagnetLinkError);
      expect((caught as MagnetLinkError).param).toBe(param);
      expect((caught as Error).message).toContain(param);
    });
  }
});

describe('key files', () => {
  it('saves with mode 0600, loads the same identity, and refuses to overwrite', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-id-'));
    const path = join(dir, 'sub', 'me.json');
    const id = generateIdentity();
    await saveIdentity(path, id);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    const loaded = await loadIdentity(path);
    expect(loaded.secp256k1PublicKey).toBe(id.secp256k1PublicKey);
    expect(Buffer.from(loaded.ed25519PrivateKey)).toEqual(Buffer.from(id.ed25519PrivateKey));
    await expect(saveIdentity(path, generateIdentity())).rejects.toThrow(/already exists/);
    const again = await loadOrCreateIdentity(path, generateIdentity);
    expect(again.created).toBe(false);
    expect(again.identity.ethAddress).toBe(id.ethAddress);
  });

  it('gives a clear error for bad files without echoing key material', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'rc-id-'));
    await expect(loadIdentity(join(dir, 'none.json'))).rejects.toThrow(/does not exist/);
    await writeFile(join(dir, 'garbage.json'), '{not json');
    await expect(loadIdentity(join(dir, 'garbage.json'))).rejects.toThrow(KeyFileError);
    const secret = 'ab'.repeat(31) + 'zz';
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ version: 1, secp256k1PrivateKey: secret, ed25519PrivateKey: '00'.repeat(32) }));
    const err = await loadIdentity(join(dir, 'bad.json')).catch((e: Error) => e);
    expect(String(err)).toMatch(/secp256k1PrivateKey/);
    expect(String(err)).not.toContain(secret);
    await writeFile(join(dir, 'zero.json'), JSON.stringify({ version: 1, secp256k1PrivateKey: '00'.repeat(32), ed25519PrivateKey: '00'.repeat(32) }));
    await expect(loadIdentity(join(dir, 'zero.json'))).rejects.toThrow(/out of range/);
  });
});
