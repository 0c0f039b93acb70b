/**
 * Refuses oversized MQTT packets from the broker before they are buffered.
 *
 * mqtt.js buffers a whole packet (up to the protocol's 256 MiB) before
 * anything can look at it, and only enforces `maximumPacketSize` on MQTT 5,
 * after buffering. Over MQTT 3.1.1 nothing tells the broker our limit, so it
 * is enforced on receipt: this filter sits between the socket and mqtt.js's
 * parser, reads each packet's fixed header (type and remaining length), and
 * passes packets within the limit through untouched. An oversized PUBLISH is
 * never buffered: its topic and packet id (at most 64 KiB) are kept, the rest
 * is discarded as it streams in, and mqtt.js gets the same PUBLISH with an
 * empty payload instead, so it acknowledges it as usual and the broker does
 * not send it again (a QoS 0 one is dropped outright). Any other oversized
 * packet (no broker sends one) ends the connection.
 */
import { Duplex } from 'node:stream';

/** MQTT control packet type 3: PUBLISH. */
const PUBLISH = 3;

export interface OversizedPacket {
  /** The whole packet's size as its header announced it (bytes). */
  readonly bytes: number;
  /** MQTT packet id of the stub passed on (QoS 1 and 2); absent for QoS 0, which is dropped. */
  readonly messageId?: number;
}

export class PacketTooLargeError extends Error {
  readonly code = 'ERR_MQTT_PACKET_TOO_LARGE';
  constructor(message: string) {
    super(message);
    this.name = 'PacketTooLargeError';
  }
}

function encodeVarint(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    out.push(byte);
  } while (n > 0);
  return out;
}

/**
 * The byte-level state machine, without I/O: `push` takes what came from the
 * broker and returns what mqtt.js may see. Throws PacketTooLargeError for a
 * malformed header or an oversized packet that is not a PUBLISH.
 */
export class PacketSizeFilter {
  private state: 'type' | 'length' | 'pass' | 'topic' | 'skip' = 'type';
  /** The packet's first byte (type and flags). */
  private first = 0;
  private length = 0;
  private lengthBytes = 0;
  private multiplier = 1;
  /** Body bytes still to pass or to skip. */
  private left = 0;
  /** Oversized PUBLISH: its variable header so far (topic length, topic, packet id). */
  private head: number[] = [];
  private headNeed = 2;

  constructor(
    /** Largest whole packet (fixed header included) let through, in bytes. */
    readonly maxPacketBytes: number,
    private readonly onOversized: (p: OversizedPacket) => void,
  ) {}

  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    let i = 0;
    while (i < chunk.length) {
      switch (this.state) {
        case 'type':
          this.first = chunk[i++]!;
          this.length = 0;
          this.lengthBytes = 0;
          this.multiplier = 1;
          this.state = 'length';
          break;
        case 'length': {
          const byte = chunk[i++]!;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if (byte & 0x80) {
            if (this.lengthBytes >= 4) throw new PacketTooLargeError('malformed MQTT remaining length');
            break;
          }
          this.startBody(out);
          break;
        }
        case 'pass': {
          const n = Math.min(this.left, chunk.length - i);
          out.push(chunk.subarray(i, i + n));
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = 'type';
          break;
        }
        case 'topic': {
          this.head.push(chunk[i++]!);
          this.left--;
          if (this.head.length === 2) {
            const topicLength = this.head[0]! * 256 + this.head[1]!;
            this.headNeed = 2 + topicLength + (this.qos() > 0 ? 2 : 0);
            if (this.headNeed > this.length) throw new PacketTooLargeError('malformed MQTT PUBLISH: topic longer than the packet');
          }
          if (this.head.length === this.headNeed) this.finishStub(out);
          break;
        }
        case 'skip': {
          const n = Math.min(this.left, chunk.length - i);
          i += n;
          this.left -= n;
          if (this.left === 0) this.state = 'type';
          break;
        }
      }
    }
    return out;
  }

  private qos(): number {
    return (this.first >> 1) & 0x03;
  }

  private startBody(out: Buffer[]): void {
    const total = 1 + this.lengthBytes + this.length;
    this.left = this.length;
    if (total <= this.maxPacketBytes) {
      out.push(Buffer.from([this.first, ...encodeVarint(this.length)]));
      this.state = this.left > 0 ? 'pass' : 'type';
      return;
    }
    if (this.first >> 4 !== PUBLISH) {
      throw new PacketTooLargeError(`MQTT packet of type ${this.first >> 4} is ${total} bytes, larger than ${this.maxPacketBytes}`);
    }
    if (this.qos() === 0) {
      this.onOversized({ bytes: total });
      this.state = 'skip';
      return;
    }
    this.head = [];
    this.headNeed = 2;
    this.state = 'topic';
  }

  /** Passes on the oversized PUBLISH's header with an empty payload, then skips its payload. */
  private finishStub(out: Buffer[]): void {
    const messageId = this.head[this.head.length - 2]! * 256 + this.head[this.head.length - 1]!;
    this.onOversized({ bytes: 1 + this.lengthBytes + this.length, messageId });
    out.push(Buffer.from([this.first, ...encodeVarint(this.head.length), ...this.head]));
    this.head = [];
    this.state = this.left > 0 ? 'skip' : 'type';
  }
}

/**
 * The broker connection as mqtt.js sees it: writes go to `inner` as they are,
 * reads come through a PacketSizeFilter. Ends, errors and closes follow
 * `inner`; destroying this destroys `inner`.
 */
export class GuardedStream extends Duplex {
  constructor(
    private readonly inner: Duplex,
    private readonly sizeFilter: PacketSizeFilter,
  ) {
    super({ allowHalfOpen: false });
    inner.on('data', (chunk: Buffer) => {
      let parts: Buffer[];
      try {
        parts = this.sizeFilter.push(chunk);
      } catch (err) {
        this.destroy(err as Error);
        return;
      }
      for (const part of parts) if (!this.push(part)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
    inner.on('close', () => {
      if (!this.destroyed) this.destroy();
    });
  }

  override _read(): void {
    this.inner.resume();
  }

  /**
   * Writes go straight into `inner`'s buffer: waiting for each write's flush
   * would cost an event-loop turn per piece (mqtt.js writes a packet in
   * several), so only a full buffer (`drain`) holds the next write back.
   * Errors surface through `inner`'s 'error', which destroys this stream.
   */
  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    if (this.inner.write(chunk, encoding)) callback();
    else this.inner.once('drain', () => callback());
  }

  /** Pieces written while corked (mqtt.js corks each packet) go to `inner` as one write. */
  override _writev(chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, callback: (err?: Error | null) => void): void {
    this.inner.cork();
    let ok = true;
    for (const { chunk, encoding } of chunks) ok = this.inner.write(chunk, encoding);
    this.inner.uncork();
    if (ok) callback();
    else this.inner.once('drain', () => callback());
  }

  override _final(callback: (err?: Error | null) => void): void {
    this.inner.end(callback);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (!this.inner.destroyed) this.inner.destroy(err ?? undefined);
    callback(err);
  }
}
