/**
 * Identity key files: JSON holding both private keys, written with mode 0600
 * and replaced atomically (write to a temporary file, then rename) so a crash
 * never leaves half a key behind.
 */
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';
import { z } from 'zod';
import { identityFromPrivateKeys } from './keys.js';
import type { Identity } from './keys.js';
import { encodeMagnet } from './magnet.js';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lower-case hex characters');

const KeyFileSchema = z.object({
  version: z.literal(1),
  secp256k1PrivateKey: hex32,
  ed25519PrivateKey: hex32,
  /** Informational copies of the public parts; the private keys are the truth. */
  magnetLink: z.string().optional(),
  ethAddress: z.string().optional(),
  createdAt: z.string().optional(),
});

/** A key file that cannot be read; the message never contains key material. */
export class KeyFileError extends Error {
  constructor(path: string, problem: string) {
    super(`identity file ${path}: ${problem}`);
    this.name = 'KeyFileError';
  }
}

/** Writes `id` to `path` (mode 0600). Refuses to overwrite unless `overwrite`. */
export async function saveIdentity(path: string, id: Identity, overwrite = false): Promise<void> {
  if (!overwrite && (await exists(path))) throw new KeyFileError(path, 'already exists (refusing to overwrite a key)');
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const body = {
    version: 1,
    secp256k1PrivateKey: bytesToHex(id.secp256k1PrivateKey),
    ed25519PrivateKey: bytesToHex(id.ed25519PrivateKey),
    magnetLink: encodeMagnet(id),
    ethAddress: id.ethAddress,
    createdAt: new Date().toISOString(),
  };
  const tmp = `${path}.${process.pid}.tmp`;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await fh.writeFile(`${JSON.stringify(body, null, 2)}\n`);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
}

/** Reads and validates a key file written by saveIdentity. */
export async function loadIdentity(path: string): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(path, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new KeyFileError(path, 'is not JSON');
  }
  const parsed = KeyFileSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new KeyFileError(path, `field ${issue?.path.join('.') || '(root)'} ${issue?.message ?? 'is invalid'}`);
  }
  try {
    return identityFromPrivateKeys(hexToBytes(parsed.data.secp256k1PrivateKey), hexToBytes(parsed.data.ed25519PrivateKey));
  } catch (err) {
    throw new KeyFileError(path, (err as Error).message);
  }
}

/** Loads `path`, creating a fresh identity there first if it does not exist. */
export async function loadOrCreateIdentity(path: string, create: () => Identity): Promise<{ identity: Identity; created: boolean }> {
  if (await exists(path)) return { identity: await loadIdentity(path), created: false };
  const identity = create();
  await saveIdentity(path, identity);
  return { identity, created: true };
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
