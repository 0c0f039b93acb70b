/**
 * A wire-level fake of an XMTP node after XMTP's cut-over to its
 * decentralised network: gRPC over HTTP/2 cleartext, as the SDK's native
 * client speaks to `env: 'local'`. Reads are answered with an empty message
 * (a valid protobuf for every response type: "nothing there"); every write
 * gets the status the old servers send after the cut-over, FAILED_PRECONDITION
 * with "publishing to XMTP V3 is no longer available. Please upgrade your
 * client to XMTP D14N.". The unmodified SDK then fails Client.create at its
 * first write (UploadKeyPackage), exactly as against the real network.
 *
 * The SDK always looks inboxes up on the env's fixed address
 * (localhost:5556 for 'local'), so this runs inside a private network
 * namespace (see test/fixtures/xmtp-cut-over.ts), never on the shared host.
 */
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';

export const CUT_OVER_MESSAGE = 'publishing to XMTP V3 is no longer available. Please upgrade your client to XMTP D14N.';
/** gRPC status FAILED_PRECONDITION. */
const FAILED_PRECONDITION = '9';
/** RPC names that write to the network (everything else reads). */
const WRITE = /\/(Publish|Upload|Send|Register|Batch|Revoke)[A-Za-z]*$/;

export interface FakeXmtpNode {
  readonly port: number;
  /** Every RPC path called, in order. */
  readonly calls: string[];
  /** How many calls were writes (and refused). */
  writes(): number;
  stop(): Promise<void>;
}

export async function startFakeXmtpNode(opts: { host?: string; port?: number } = {}): Promise<FakeXmtpNode> {
  const calls: string[] = [];
  const server = http2.createServer();
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  server.on('stream', (stream, headers) => {
    const path = String(headers[':path'] ?? '');
    calls.push(path);
    stream.on('error', () => undefined);
    stream.resume(); // the request body (a protobuf) is not needed
    stream.on('end', () => {
      if (stream.destroyed) return;
      if (WRITE.test(path)) {
        // A "trailers-only" response: the status travels in the headers.
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': FAILED_PRECONDITION, 'grpc-message': encodeURIComponent(CUT_OVER_MESSAGE) },
          { endStream: true },
        );
        return;
      }
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      // One uncompressed gRPC frame holding an empty message.
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    calls,
    writes: () => calls.filter((c) => WRITE.test(c)).length,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const s of sessions) s.destroy();
        server.close(() => resolve());
      }),
  };
}
