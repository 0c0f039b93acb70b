/**
 * A request body, read whole, for the wire-level fakes: at most `maxBytes`,
 * refused (with the fake's own error, and the connection cut) as soon as it
 * grows past that, before it is buffered further.
 */
import type { IncomingMessage } from 'node:http';

export function readBody(req: IncomingMessage, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(tooLarge());
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
