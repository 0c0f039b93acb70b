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

export interface LoadIdentityOptions {
  /**
   * Told (one line, no key material) when the key file is open to other
   * users; loading goes on. Callers that run for people pass their logger or
   * stderr here; without it nothing is said.
   */
  readonly onWarning?: (message: string) => void;
}

/**
 * Reads and validates a key file written by saveIdentity. A file that group
 * or others may read or write is still loaded (refusing would stop a running
 * deployment over a chmod), but `onWarning` hears about it.
 */
export async function loadIdentity(path: string, opts: LoadIdentityOptions = {}): Promise<Identity> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new KeyFileError(path, code === 'ENOENT' ? 'does not exist' : `cannot be read (${code ?? 'error'})`);
  }
  if (opts.onWarning) {
    const warning = await keyFilePermissionWarning(path);
    if (warning) opts.onWarning(warning);
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

/**
 * A one-line warning when group or others have any access to the key file
 * (mode & 0o077), else undefined. POSIX modes only: on Windows, which has no
 * such bits, never warns.
 */
export async function keyFilePermissionWarning(path: string): Promise<string | undefined> {
  if (process.platform === 'win32') return undefined;
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  const who = mode & 0o007 ? 'all users' : 'its group';
  return `identity file ${path} is open to ${who} (mode ${mode.toString(8).padStart(4, '0')}); anyone who reads it can act as this identity: run chmod 600 ${path}`;
}

/** Loads `path`, creating a fresh identity there first if it does not exist. */
export async function loadOrCreateIdentity(
  path: string,
  create: () => Identity,
  opts: LoadIdentityOptions = {},
): Promise<{ identity: Identity; created: boolean }> {
  if (await exists(path)) return { identity: await loadIdentity(path, opts), created: false };
  const identity = create();
  await saveIdentity(path, identity);
  return { identity, created: true };
}

/** True when something exists at `path` (for callers that must decide before creating one). */
export async function keyFileExists(path: string): Promise<boolean> {
  return exists(path);
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
