/**
 * NIP-42 on one socket: answers the relay's challenge, and asks again for the
 * subscriptions it closed for want of AUTH once the relay accepted ours. Reset
 * on every new socket.
 */
import type { EventTemplate, NostrEvent } from 'nostr-tools/pure';
import { makeAuthEvent } from 'nostr-tools/nip42';
import type { Logger } from '../../observability/logger.js';
import type { OpenSubscription } from './subscriptions.js';

export interface RelayAuthDeps {
  readonly url: string;
  readonly label: string;
  /** Signs the AUTH event; without it challenges are ignored. */
  readonly sign?: (template: EventTemplate) => NostrEvent;
  readonly send: (frame: unknown[]) => void;
  /** Sends a subscription's REQ again. */
  readonly ask: (sub: OpenSubscription) => void;
  readonly log: Logger;
}

export class RelayAuth {
  private eventId: string | undefined;
  private authed = false;
  private retries = 0;

  constructor(private readonly d: RelayAuthDeps) {}

  /** A new socket: nothing is authenticated on it yet. */
  reset(): void {
    this.eventId = undefined;
    this.authed = false;
    this.retries = 0;
  }

  onChallenge(challenge: string): void {
    if (!this.d.sign) return;
    try {
      const event = this.d.sign(makeAuthEvent(this.d.url, challenge));
      this.eventId = event.id;
      this.d.send(['AUTH', event]);
    } catch (err) {
      this.d.log.warn({ relay: this.d.label, err: String(err) }, 'nostr: could not sign AUTH');
    }
  }

  /** An OK frame: true when it answered our AUTH (then the subscriptions waiting for it are asked again). */
  onOk(id: string, ok: boolean, message: string, open: readonly OpenSubscription[]): boolean {
    if (id !== this.eventId) return false;
    this.eventId = undefined;
    this.authed = ok;
    if (!ok) this.d.log.warn({ relay: this.d.label, message: message.slice(0, 200) }, 'nostr: relay refused our AUTH');
    if (ok) for (const sub of open) if (sub.awaitingAuth) this.d.ask(sub);
    return true;
  }

  /**
   * The relay closed `sub` with `reason`: true when AUTH may cure it (it is
   * asked again now, or once authenticated); false when the socket should be
   * dropped. At most a few tries per subscription on one socket.
   */
  onClosed(sub: OpenSubscription, reason: string, openCount: number): boolean {
    if (!/^(auth-required|restricted)/.test(reason) || !this.d.sign || this.retries >= 3 + openCount) return false;
    this.retries++;
    if (this.authed) this.d.ask(sub);
    else sub.awaitingAuth = true;
    return true;
  }
}
