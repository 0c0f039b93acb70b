import { generateIdentity, npubOf } from '../identity/keys.js';
import type { PublicIdentity } from '../identity/keys.js';
import { loadIdentity, saveIdentity } from '../identity/key-file.js';
import { encodeMagnet } from '../identity/magnet.js';

type Out = (s: string) => void;

function describe(id: PublicIdentity): Record<string, string> {
  return {
    magnetLink: encodeMagnet(id),
    ethAddress: id.ethAddress,
    npub: npubOf(id),
    nostrPublicKey: id.xOnly,
    secp256k1PublicKey: id.secp256k1PublicKey,
    ed25519PublicKey: id.ed25519PublicKey,
  };
}

function print(id: PublicIdentity, json: boolean, out: Out): void {
  const d = describe(id);
  if (json) {
    out(`${JSON.stringify(d)}\n`);
    return;
  }
  out(`Magnet link (share this):\n  ${d.magnetLink}\nEthereum address (XMTP): ${d.ethAddress}\nNostr: ${d.npub}\n`);
}

export async function identityNew(o: { out: string; force: boolean; json: boolean }, out: Out): Promise<void> {
  const id = generateIdentity();
  await saveIdentity(o.out, id, o.force);
  if (!o.json) out(`Wrote ${o.out} (mode 0600). Keep it secret; it is your identity.\n`);
  print(id, o.json, out);
}

/** Prints the public parts of a key file; a key file open to other users is warned about on stderr. */
export async function identityShow(file: string, o: { json: boolean; magnet: boolean }, out: Out, err: Out = (s) => process.stderr.write(s)): Promise<void> {
  const id = await loadIdentity(file, { onWarning: (message) => err(`roomcast: warning: ${message}\n`) });
  if (o.magnet) out(`${encodeMagnet(id)}\n`);
  else print(id, o.json, out);
}
