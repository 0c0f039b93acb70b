import type { PublicIdentity } from '../identity/keys.js';
import type { PlainMessage, ProtocolId } from '../protocol/chat-message.js';

/** The first copy of a new message: stored, acknowledged, to be shown once. */
export interface MessageEvent {
  readonly message: PlainMessage;
  readonly sender: PublicIdentity;
  readonly via: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
  /** False when it came as an unsigned seed MQTT copy (operator-allowed). */
  readonly verified: boolean;
}

/** A later copy of a message already shown: only a receipt was recorded. */
export interface CopyEvent {
  readonly uuid: string;
  readonly via: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
  /** Milliseconds after the first copy arrived. */
  readonly afterFirstMs: number;
}

/** One copy of an acknowledgment of a message we sent. */
export interface AckEvent {
  readonly originalUuid: string;
  readonly sender: PublicIdentity;
  readonly via: ProtocolId;
  readonly endpoint: string;
  readonly receivedAt: number;
  /** Milliseconds from our send to this ack's arrival. */
  readonly latencyMs: number;
  readonly firstAck: boolean;
  readonly firstOnProtocol: boolean;
}

export interface BroadcasterEventMap {
  message: MessageEvent;
  copy: CopyEvent;
  ack: AckEvent;
}
