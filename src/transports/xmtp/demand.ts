/**
 * Whether an identity needs its XMTP client now (transports.xmtp.rooms:
 * 'reachable'): a client is one installation and one stream per identity, so
 * a room gets one only while one of its contacts has an XMTP inbox.
 */
import type { PublicIdentity } from '../../identity/keys.js';
import type { XmtpReachability } from './reachability.js';

export class XmtpDemand {
  constructor(
    private readonly peers: () => Promise<readonly PublicIdentity[]>,
    private readonly reachability: XmtpReachability,
  ) {}

  /** True when a peer has an inbox, or the network could not say (then the client's own attempts tell). */
  async needed(): Promise<boolean> {
    const peers = await this.peers();
    if (peers.length === 0) return false;
    const found = await this.reachability.check(peers.map((p) => p.ethAddress));
    return found === undefined || found.size > 0;
  }

  /** False only when the network said `address` has no inbox. */
  async reaches(address: string): Promise<boolean> {
    const found = await this.reachability.check([address]);
    return found === undefined || found.size > 0;
  }
}
