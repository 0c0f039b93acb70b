/**
 * The real @xmtp/node-sdk behind the seam, without network: the EOA signer
 * produces wallet-compatible signatures, and a real Client.create against a
 * node that is not there fails fast, so the transport reports XMTP alone as
 * 'unreachable' while start() never waited for it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { ethAddressOf, generateIdentity, publicPart } from '../../src/identity/keys.js';
import { encodeMagnet } from '../../src/identity/magnet.js';
import { newMessage, serializeChatMessage } from '../../src/protocol/chat-message.js';
import {
  classifyXmtpError,
  deriveXmtpDbKey,
  eoaSigner,
  nodeSdkNetwork,
  nsToMs,
  personalMessageHash,
  sentAtOrAfterNs,
  XmtpConfigSchema,
  XmtpTimeoutError,
  XmtpTransport,
} from '../../src/transports/xmtp/index.js';
import { testContext } from '../support/context.js';
import { waitFor } from '../support/wait.js';

describe('xmtp node-sdk seam (offline)', () => {
  it('signs like personal_sign: 65 bytes r‖s‖v that recover to the identity address', async () => {
    const id = generateIdentity();
    const signer = eoaSigner(id.secp256k1PrivateKey, id.ethAddress);
    expect(signer.type).toBe('EOA');
    expect(await signer.getIdentifier()).toEqual({ identifier: id.ethAddress.toLowerCase(), identifierKind: 0 });
    const sig = await signer.signMessage('XMTP : Authenticate to inbox\nhello');
    expect(sig).toHaveLength(65);
    expect([27, 28]).toContain(sig[64]);
    const recovered = secp256k1.Signature.fromBytes(sig.subarray(0, 64), 'compact')
      .addRecoveryBit(sig[64]! - 27)
      .recoverPublicKey(personalMessageHash('XMTP : Authenticate to inbox\nhello'));
    expect(ethAddressOf(bytesToHex(recovered.toBytes(false)))).toBe(id.ethAddress);
  });

  it('hashes per EIP-191 (known vector)', () => {
    // keccak256("\\x19Ethereum Signed Message:\\n11hello world"), as ethers.hashMessage('hello world').
    expect(bytesToHex(personalMessageHash('hello world'))).toBe('d9eba16ed0ecae432b71fe008c98cc872bb4cc214d3220a36f365326cf807d68');
  });

  it('converts the SDK\'s nanosecond timestamps (bigint) exactly', () => {
    const ms = 1_795_958_942_882;
    expect(nsToMs(BigInt(ms) * 1_000_000n + 999_999n)).toBe(ms);
    // sentAfterNs is exclusive: the bound lists a message sent in the very nanosecond `ms` starts.
    const bound = sentAtOrAfterNs(ms);
    expect(BigInt(ms) * 1_000_000n > bound).toBe(true);
    expect(BigInt(ms) * 1_000_000n - 1n).toBe(bound);
    expect(nsToMs(bound)).toBe(ms - 1);
  });

  it('names itself for operators', () => {
    expect(nodeSdkNetwork.client).toBe('@xmtp/node-sdk 5.5.0');
  });

  it('classifies SDK failures', () => {
    const native = (m: string) => Object.assign(new Error(m), { code: 'GenericFailure' });
    expect(classifyXmtpError(native('… self: "tcp connect error"')).reason).toBe('unreachable');
    expect(classifyXmtpError(native('… self: "dns error"')).reason).toBe('unreachable');
    expect(classifyXmtpError(native('something native and opaque')).reason).toBe('unreachable');
    expect(classifyXmtpError(native('status: PermissionDenied, too many installations')).reason).toBe('rejected');
    expect(classifyXmtpError(new XmtpTimeoutError('xmtp send', 10)).reason).toBe('timeout');
    expect(classifyXmtpError(new Error('plain bug')).reason).toBe('error');
  });

  it('a real Client.create against an unreachable node fails fast as unreachable', async () => {
    const id = generateIdentity();
    const t0 = Date.now();
    const err = await nodeSdkNetwork
      .create({
        privateKey: id.secp256k1PrivateKey,
        address: id.ethAddress,
        dbPath: join(mkdtempSync(join(tmpdir(), 'rc-xmtp-sdk-')), 'probe.db3'),
        dbEncryptionKey: deriveXmtpDbKey(id),
        env: 'local', // http://localhost:5556: nothing listens there
      })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(classifyXmtpError(err).reason).toBe('unreachable');
  }, 20_000);

  it('the transport on the real SDK starts at once and reports XMTP unreachable within createTimeoutMs', async () => {
    const alice = generateIdentity();
    const cfg = XmtpConfigSchema.parse({
      env: 'local',
      dbDir: mkdtempSync(join(tmpdir(), 'rc-xmtp-sdk-')),
      createTimeoutMs: 5000,
      sendTimeoutMs: 5000,
      retryMinMs: 200,
      retryMaxMs: 1000,
    });
    const t = new XmtpTransport(cfg, testContext(alice));
    try {
      const t0 = Date.now();
      await t.start(async () => undefined);
      expect(Date.now() - t0).toBeLessThan(100);
      const m = newMessage(encodeMagnet(alice), 'nobody home');
      const report = await t.send({ identity: publicPart(generateIdentity()) }, { uuid: m.uuid, json: serializeChatMessage(m) });
      expect(Date.now() - t0).toBeLessThan(cfg.createTimeoutMs);
      expect(report).toMatchObject({ transport: 'xmtp', ok: false, reason: 'unreachable' });
      expect(report.endpoints).toEqual([expect.objectContaining({ endpoint: 'xmtp:local', ok: false, reason: 'unreachable' })]);
      await waitFor(() => t.status()[0]!.lastError !== undefined, 'status records the failure');
      expect(t.status()[0]).toMatchObject({ endpoint: 'xmtp:local', connected: false });
      expect(t.status()[0]!.lastError).toMatch(/tcp connect error|unavailable/);
    } finally {
      await t.stop();
    }
  }, 20_000);
});
